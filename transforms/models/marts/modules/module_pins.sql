{{ config(tags=['after_assignment']) }}
-- depends_on: {{ ref('int_as_of_dates') }}
-- The pins in force at each snapshot (SPEC §6) and what became of them: applied, or not, because
-- the manager was not active at D or the customer was not graded at D (no revenue yet).
{%- set report = source('assignment', 'pin_report') %}
{%- set exists = execute and adapter.get_relation(
        database=report.database, schema=report.schema, identifier=report.identifier) %}
{%- if exists %}
select p.as_of_date, p.customer_id, p.manager_id, p.reason, p.status
from {{ report }} as p
inner join {{ ref('int_as_of_dates') }} as d on d.as_of_date = p.as_of_date
{%- else %}
select
    null::date as as_of_date, null::string as customer_id, null::string as manager_id,
    null::string as reason, null::string as status
where false
{%- endif %}
