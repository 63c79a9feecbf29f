{{ config(tags=['after_assignment']) }}
-- Every dimension of at_risk_exposure partitions the same customers: per snapshot and dimension,
-- customers, active and at-risk counts and the at-risk revenue add up to the overall row, and the
-- expected loss agrees within rounding.
with per_dimension as (
    select
        as_of_date,
        dimension,
        sum(customers) as customers,
        sum(active_customers) as active_customers,
        sum(at_risk_customers) as at_risk_customers,
        sum(at_risk_revenue) as at_risk_revenue,
        sum(expected_loss) as expected_loss
    from {{ ref('at_risk_exposure') }}
    group by all
),

overall as (
    select * from per_dimension where dimension = 'overall'
)

select d.as_of_date, d.dimension
from per_dimension as d
left join overall as o using (as_of_date)
where o.as_of_date is null
   or d.customers <> o.customers
   or d.active_customers <> o.active_customers
   or d.at_risk_customers <> o.at_risk_customers
   or d.at_risk_revenue <> o.at_risk_revenue
   or abs(d.expected_loss - o.expected_loss) > 1e-6 * greatest(abs(o.expected_loss), 1)
