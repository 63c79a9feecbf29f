{{ config(tags=['after_assignment']) }}
-- The module assignment history (written by the Python assignment step) for the run's snapshots,
-- with the manager's name and the planned contacts of the grade. When the history table does not
-- exist yet (dbt run alone, before any assignment), this is empty.
{%- set history = source('assignment', 'module_assignment_history') %}
{%- set exists = execute and adapter.get_relation(
        database=history.database, schema=history.schema, identifier=history.identifier) %}
with history as (
{%- if exists %}
    select
        as_of_date::date as as_of_date, customer_id, grade, actual_revenue::decimal(18, 2) as actual_revenue,
        manager_id, previous_manager_id, coalesce(pinned, false) as pinned, moved::boolean as moved,
        move_reason
    from {{ history }}
{%- else %}
    select
        null::date as as_of_date, null::string as customer_id, null::string as grade,
        null::decimal(18, 2) as actual_revenue, null::string as manager_id,
        null::string as previous_manager_id, null::boolean as pinned, null::boolean as moved,
        null::string as move_reason
    where false
{%- endif %}
)

select
    h.as_of_date,
    h.customer_id,
    h.manager_id,
    m.manager_name,
    h.grade,
    h.actual_revenue,
    h.previous_manager_id,
    h.pinned,
    h.moved,
    h.move_reason,
    {{ planned_contacts('h.grade') }} as planned_contacts
from history as h
inner join {{ ref('int_as_of_dates') }} as d on d.as_of_date = h.as_of_date
left join {{ ref('stg_account_managers') }} as m on m.manager_id = h.manager_id
