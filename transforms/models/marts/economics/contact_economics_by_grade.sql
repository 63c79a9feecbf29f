-- Contact economics per snapshot and grade (SPEC §5); every grade appears, even when empty.
with graded as (
    select as_of_date, grade, actual_revenue
    from {{ ref('customer_worth') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
),

grades as (
    select d.as_of_date, g.grade, g.grade_order
    from {{ ref('int_as_of_dates') }} as d
    cross join (
        select * from (values
        {%- for g in var('grades') %}
            ('{{ g }}', {{ loop.index }}){{ ',' if not loop.last }}
        {%- endfor %}
        ) as t(grade, grade_order)
    ) as g
),

per_grade as (
    select
        as_of_date,
        grade,
        count(*) as customers,
        sum(actual_revenue) as total_actual_revenue
    from graded
    group by all
)

select
    g.as_of_date,
    g.grade,
    g.grade_order,
    coalesce(p.customers, 0) as customers,
    {{ planned_contacts('g.grade') }} as planned_contacts_per_customer,
    {{ planned_contacts('g.grade') }} * coalesce(p.customers, 0) as total_planned_contacts,
    {{ cost_per_contact() }} * {{ planned_contacts('g.grade') }} as investment_per_customer,
    {{ cost_per_contact() }} * {{ planned_contacts('g.grade') }} * coalesce(p.customers, 0)
        as total_investment,
    p.total_actual_revenue::double / p.customers as average_actual_revenue,
    coalesce(p.total_actual_revenue, 0)::decimal(18, 2) as total_actual_revenue,
    {{ cost_per_contact() }} * {{ planned_contacts('g.grade') }} * p.customers
        / nullif(p.total_actual_revenue::double, 0) as investment_share_of_revenue
from grades as g
left join per_grade as p using (as_of_date, grade)
