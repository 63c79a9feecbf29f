{{ config(tags=['after_assignment']) }}
-- One row per snapshot and account manager (SPEC §6): the module's accounts per grade, the
-- manager's capacity and proportional target, pinned accounts, planned contacts, utilisation
-- (against the capacity) and revenue. Managers active at D with no account appear with zeros;
-- snapshots without an assignment (e.g. no active manager) have no rows.
{%- set targets = source('assignment', 'module_targets') %}
{%- set has_targets = execute and adapter.get_relation(
        database=targets.database, schema=targets.schema, identifier=targets.identifier) %}
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
        count(*) filter (where pinned) as pinned_accounts,
        sum(planned_contacts) as planned_contacts,
        sum(actual_revenue) as module_revenue
    from assignments
    group by all
),

totals as (
    -- what the assignment step aimed at per manager in all (written beside the history)
    {%- if has_targets %}
    select as_of_date, manager_id, capacity, target_accounts, balance_relaxed
    from {{ targets }}
    where grade = 'all'
    {%- else %}
    select null::date as as_of_date, null::string as manager_id, null::double as capacity,
        null::double as target_accounts, null::boolean as balance_relaxed
    where false
    {%- endif %}
)

select
    m.as_of_date,
    m.manager_id,
    am.manager_name,
    coalesce(p.accounts, 0) as accounts,
    {%- for g in var('grades') %}
    coalesce(p.accounts_{{ g | lower }}, 0) as accounts_{{ g | lower }},
    {%- endfor %}
    -- the capacity the assignment used at D (a later change does not restate it)
    coalesce(t.capacity, am.capacity) as capacity,
    t.target_accounts,
    coalesce(p.pinned_accounts, 0) as pinned_accounts,
    coalesce(t.balance_relaxed, false) as balance_relaxed,
    coalesce(p.planned_contacts, 0.0) as planned_contacts,
    coalesce(p.planned_contacts, 0.0) / ({{ contacts_per_manager_year() }} * coalesce(t.capacity, am.capacity))
        as utilisation,
    coalesce(p.module_revenue, 0)::decimal(18, 2) as module_revenue
from managers as m
left join per_manager as p using (as_of_date, manager_id)
left join totals as t using (as_of_date, manager_id)
left join {{ ref('stg_account_managers') }} as am on am.manager_id = m.manager_id
