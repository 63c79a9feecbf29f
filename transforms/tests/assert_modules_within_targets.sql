{{ config(tags=['after_assignment'], meta={'dagster': {'ref': {'name': 'modules'}}}) }}
-- depends_on: {{ ref('int_as_of_dates') }}
-- Every module meets the balance the assignment step guaranteed (the one definition of a
-- balanced module lives in pipelines/assignment/balance.py, which writes its bounds per manager
-- and grade, 'all' for the total, to assignment.module_targets): per snapshot of the run, each
-- manager's accounts of each grade and in all lie within those bounds. (No targets yet, e.g.
-- dbt run alone before any assignment: nothing to check.)
{%- set targets = source('assignment', 'module_targets') %}
{%- set exists = execute and adapter.get_relation(
        database=targets.database, schema=targets.schema, identifier=targets.identifier) %}
with held as (
    {%- for grade in var('grades') + ['all'] %}
    select as_of_date, manager_id, '{{ grade }}' as grade,
        {{ 'accounts' if grade == 'all' else 'accounts_' ~ (grade | lower) }} as accounts
    from {{ ref('modules') }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
)

{%- if exists %}
select t.as_of_date, t.manager_id, t.grade, t.fewest_accounts, t.most_accounts, h.accounts
from {{ targets }} as t
inner join {{ ref('int_as_of_dates') }} as d on d.as_of_date = t.as_of_date
left join held as h
    on h.as_of_date = t.as_of_date and h.manager_id = t.manager_id and h.grade = t.grade
where coalesce(h.accounts, 0) not between t.fewest_accounts and t.most_accounts
{%- else %}
select null::date as as_of_date from held where false
{%- endif %}
