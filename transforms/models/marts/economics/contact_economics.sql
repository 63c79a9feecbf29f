-- Contact economics and module size per snapshot (SPEC §5).
with graded as (
    select as_of_date, actual_revenue, {{ planned_contacts('grade') }} as planned_contacts
    from {{ ref('customer_worth') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
),

per_as_of as (
    select
        as_of_date,
        count(*) as graded_customers,
        avg(planned_contacts) as average_planned_contacts,
        sum(planned_contacts) as total_planned_contacts,
        sum(actual_revenue) as total_actual_revenue
    from graded
    group by all
),

managers as (
    select d.as_of_date, count(m.manager_id) as managers_active
    from {{ ref('int_as_of_dates') }} as d
    left join {{ ref('stg_account_managers') }} as m on {{ manager_active_at('d.as_of_date') }}
    group by all
)

select
    d.as_of_date,
    {{ contacts_per_manager_year() }} as contacts_per_manager_year,
    {{ cost_per_contact() }} as cost_per_contact,
    coalesce(p.graded_customers, 0) as graded_customers,
    p.average_planned_contacts,
    floor({{ contacts_per_manager_year() }} / p.average_planned_contacts)::bigint
        as accounts_per_manager,
    {{ cost_per_contact() }} * p.average_planned_contacts as investment_per_customer,
    {{ cost_per_contact() }} * coalesce(p.total_planned_contacts, 0) as total_investment,
    coalesce(p.total_actual_revenue, 0)::decimal(18, 2) as total_actual_revenue,
    {{ cost_per_contact() }} * p.total_planned_contacts
        / nullif(p.total_actual_revenue::double, 0) as investment_share_of_revenue,
    coalesce(p.total_planned_contacts, 0) as total_planned_contacts,
    ceil(coalesce(p.total_planned_contacts, 0) / {{ contacts_per_manager_year() }})::bigint
        as managers_required,
    m.managers_active
from {{ ref('int_as_of_dates') }} as d
left join per_as_of as p using (as_of_date)
left join managers as m using (as_of_date)
