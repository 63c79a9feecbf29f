{{ config(tags=['after_assignment']) }}
-- Revenue at risk per snapshot (SPEC §8), overall and by grade, manager, customer type and region,
-- in one pass (grouping sets). Active = not a Defector. Customers without a manager at D (no
-- assignment, e.g. no active manager) count under manager 'unassigned'; a null region is 'unknown'.
with customers as (
    select
        l.as_of_date,
        l.customer_id,
        l.segment,
        l.revenue_12m,
        l.defection_probability,
        l.grade,
        l.customer_type,
        coalesce(l.region, 'unknown') as region,
        coalesce(a.manager_id, 'unassigned') as manager_id
    from {{ ref('customer_loyalty') }} as l
    left join {{ ref('int_module_assignments') }} as a using (as_of_date, customer_id)
    where l.as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
),

grouped as (
    select
        as_of_date,
        case
            when grouping(grade) = 0 then 'grade'
            when grouping(manager_id) = 0 then 'manager'
            when grouping(customer_type) = 0 then 'customer_type'
            when grouping(region) = 0 then 'region'
            else 'overall'
        end as dimension,
        coalesce(
            case when grouping(grade) = 0 then grade end,
            case when grouping(manager_id) = 0 then manager_id end,
            case when grouping(customer_type) = 0 then customer_type end,
            case when grouping(region) = 0 then region end,
            'all'
        ) as dimension_value,
        count(*) as customers,
        count(*) filter (where segment <> 'Defector') as active_customers,
        count(*) filter (where segment = 'At-risk') as at_risk_customers,
        count(*) filter (where segment = 'Defector') as defectors,
        coalesce(sum(revenue_12m) filter (where segment <> 'Defector'), 0)::decimal(18, 2)
            as active_revenue,
        coalesce(sum(revenue_12m) filter (where segment = 'At-risk'), 0)::decimal(18, 2)
            as at_risk_revenue,
        coalesce({{ exact_sum("case when segment <> 'Defector' then revenue_12m::double * defection_probability end") }}, 0.0)
            as expected_loss
    from customers
    group by grouping sets (
        (as_of_date),
        (as_of_date, grade),
        (as_of_date, manager_id),
        (as_of_date, customer_type),
        (as_of_date, region)
    )
)

select
    as_of_date,
    dimension,
    dimension_value,
    customers,
    active_customers,
    at_risk_customers,
    defectors,
    at_risk_customers::double / nullif(active_customers, 0) as at_risk_share,
    active_revenue,
    at_risk_revenue,
    at_risk_revenue::double / nullif(at_risk_customers, 0) as average_at_risk_revenue,
    expected_loss
from grouped
