{{ config(meta={'dagster': {'ref': {'name': 'loyalty_summary'}}}) }}
-- Segments are exhaustive and exclusive (SPEC §7): at every snapshot of the run, the customers per
-- segment add up to the universe, and the summary counts the customers of customer_loyalty.
with loyalty as (
    select as_of_date, count(*) as customers
    from {{ ref('customer_loyalty') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
    group by all
),

summary as (
    select *
    from {{ ref('loyalty_summary') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
)

select s.as_of_date, s.customers, l.customers as loyalty_customers
from summary as s
full join loyalty as l using (as_of_date)
where l.customers is distinct from s.customers
    or s.secure_customers + s.complacent_customers + s.at_risk_customers + s.defector_customers
        <> s.customers
    or s.active_customers <> s.customers - s.defector_customers
