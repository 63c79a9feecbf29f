{{ config(tags=['after_assignment'], meta={'dagster': {'ref': {'name': 'module_assignments'}}}) }}
-- When any account manager is active at a snapshot of the run, every graded customer has exactly
-- one manager: module_assignments holds as many customers as customer_worth.
with worth as (
    select as_of_date, count(*) as customers from {{ ref('customer_worth') }} group by all
),

assigned as (
    select as_of_date, count(*) as customers from {{ ref('module_assignments') }} group by all
)

select e.as_of_date, w.customers as graded, coalesce(a.customers, 0) as assigned
from {{ ref('contact_economics') }} as e
inner join {{ ref('int_as_of_dates') }} as d using (as_of_date)
inner join worth as w using (as_of_date)
left join assigned as a using (as_of_date)
where e.managers_active > 0 and w.customers <> coalesce(a.customers, 0)
