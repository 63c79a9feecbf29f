{{ config(tags=['after_assignment']) }}
-- One row per snapshot and account manager (SPEC §6): the module's accounts per grade, planned
-- contacts, utilisation and revenue. Managers active at D with no account appear with zeros;
-- snapshots without an assignment (e.g. no active manager) have no rows.
with assignments as (
    select * from {{ ref('int_module_assignments') }}
),

assigned_dates as (
    select distinct as_of_date from assignments
),

managers as (
    select d.as_of_date, m.manager_id
    from assigned_dates as d
    inner join {{ ref('stg_account_managers') }} as m on {{ manager_active_at('d.as_of_date') }}
    union
    select as_of_date, manager_id from assignments
),

per_manager as (
    select
        as_of_date,
        manager_id,
        count(*) as accounts,
        {%- for g in var('grades') %}
        count(*) filter (where grade = '{{ g }}') as accounts_{{ g | lower }},
        {%- endfor %}
        sum(planned_contacts) as planned_contacts,
        sum(actual_revenue) as module_revenue
    from assignments
    group by all
)

select
    m.as_of_date,
    m.manager_id,
    am.manager_name,
    coalesce(p.accounts, 0) as accounts,
    {%- for g in var('grades') %}
    coalesce(p.accounts_{{ g | lower }}, 0) as accounts_{{ g | lower }},
    {%- endfor %}
    coalesce(p.planned_contacts, 0.0) as planned_contacts,
    coalesce(p.planned_contacts, 0.0) / {{ contacts_per_manager_year() }} as utilisation,
    coalesce(p.module_revenue, 0)::decimal(18, 2) as module_revenue
from managers as m
left join per_manager as p using (as_of_date, manager_id)
left join {{ ref('stg_account_managers') }} as am on am.manager_id = m.manager_id
