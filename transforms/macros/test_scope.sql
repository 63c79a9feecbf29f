{#- What a generic test reads. A mart is a history of snapshots that a run changes only in its
    months (delete_months_in_range, then append): the other months were tested by the run that
    wrote them and have not changed since. So a test of a mart reads the run's months only, and a
    nightly run's tests cost what the run wrote, not the length of the history. Every other
    relation (staging views, intermediate tables of the run's dates) is read whole; a test's own
    `where` config still applies on top. Overrides dbt's get_where_subquery, which wraps the model
    of every generic test. column_rules_of (generic_tests.sql) finds the model in the subquery by
    its `from <relation> where`: keep that shape. -#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- if config.get('where') -%}
        {%- do filters.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- if execute and model.get('attached_node') -%}
        {%- set tested = graph.nodes.get(model.attached_node) -%}
        {%- if tested and tested.config.materialized == 'incremental' -%}
            {%- do filters.append(as_of_month_in_run_sql('as_of_date')) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
