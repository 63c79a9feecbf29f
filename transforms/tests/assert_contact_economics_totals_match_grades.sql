{{ config(meta={'dagster': {'ref': {'name': 'contact_economics'}}}) }}
-- contact_economics and contact_economics_by_grade agree on customers and planned contacts.
with by_grade as (
    select as_of_date, sum(customers) as customers, sum(total_planned_contacts) as planned
    from {{ ref('contact_economics_by_grade') }}
    group by all
)

select e.as_of_date
from {{ ref('contact_economics') }} as e
left join by_grade as g using (as_of_date)
where e.graded_customers <> coalesce(g.customers, 0)
   or abs(e.total_planned_contacts - coalesce(g.planned, 0)) > 1e-6
