{#- Generic data tests (no dbt_utils on this machine). -#}

{#- No two rows share the same values of `columns` (e.g. as_of_date + customer_id). -#}
{% test unique_combination(model, columns) %}
{{ adapter.dispatch('unique_combination_test')(model, columns) }}
{% endtest %}

{% macro default__unique_combination_test(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endmacro %}

{#- DuckDB: as `unique` below, the rows' hashes first (one integer per row instead of the columns:
    7M health rows at 1M customers: 1.5 s -> 0.6 s); the exact grouping, which names each repeated
    key, runs only when two rows share a hash. -#}
{% macro duckdb__unique_combination_test(model, columns) %}
with hashed as (
    select exists (
        select 1 from {{ model }} group by hash({{ columns | join(', ') }}) having count(*) > 1
    ) as may_repeat
)
select {{ columns | join(', ') }}, count(*) as rows_with_key
from {{ model }}
where (select may_repeat from hashed)
group by {{ columns | join(', ') }}
having count(*) > 1
{% endmacro %}

{#- Each as_of_date of the model has exactly `expected` rows (e.g. the 25 worth-matrix cells). -#}
{% test rows_per_as_of(model, expected) %}
select as_of_date, count(*) as n
from {{ model }}
group by as_of_date
having count(*) <> {{ expected }}
{% endtest %}

{#- dbt's built-in `unique` on DuckDB: when no two non-null values share a hash, no value repeats,
    and the grouping by the values themselves (strings: ~2x the cost at 48M revenue rows, 6.8 s ->
    3.7 s) is skipped. The hashes are grouped, not counted distinct: one aggregate state for 48M
    hashes is a single thread's work (8.0 s -> 3.3 s). Otherwise the exact pass runs and names each
    repeated value, as the built-in does; a hash collision merely costs that pass. -#}
{% macro duckdb__test_unique(model, column_name) %}
with hashed as (
    select exists (
        select 1
        from {{ model }}
        where {{ column_name }} is not null
        group by hash({{ column_name }})
        having count(*) > 1
    ) as may_repeat
)
select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
  and (select may_repeat from hashed)
group by {{ column_name }}
having count(*) > 1
{% endmacro %}

{#- The value rules of a model's columns, declared on each column in its yml (`config: meta:`):
    `not_null: true`, `min_value`, `max_value` (either bound optional; nulls pass the bounds).
    One test per model, one scan, instead of a test per column and rule: every dbt test is a node
    (parsed, compiled, queried, two Dagster events: ~40 ms before it reads a row) and these rules
    were 274 of the project's 361 tests. A failing row names the column, the rule it breaks and
    how many rows break it. -#}
{% test column_rules(model) %}
{%- set rules = column_rules_of(model) -%}
with broken as (
    select
    {%- for rule in rules %}
        sum(case when {{ rule.broken }} then 1 else 0 end) as rule_{{ loop.index }}{{ "," if not loop.last }}
    {%- else %}
        0 as rule_0
    {%- endfor %}
    from {{ model }}
)
{%- for rule in rules %}
select '{{ rule.column }}' as column_name, '{{ rule.text }}' as rule, rule_{{ loop.index }} as failing_rows
from broken where rule_{{ loop.index }} > 0
{{ "union all" if not loop.last }}
{%- else %}
select 'none' as column_name, 'no rule' as rule, 0 as failing_rows from broken where false
{%- endfor %}
{% endtest %}

{#- [{column, broken (SQL true for a row that breaks the rule), text}] of the model `relation`
    from its columns' meta; at parse time (no graph yet) none. `relation` is the model's relation,
    or the subquery test_scope.sql reads it through (`(select * from <relation> where ...)`). -#}
{% macro column_rules_of(relation) %}
{%- if not execute -%}{{ return([]) }}{%- endif -%}
{%- set rules = [] -%}
{%- set models = [] -%}
{%- for node in graph.nodes.values() if node.resource_type == "model" -%}
    {%- if relation.identifier is defined and node.alias == relation.identifier
        or relation.identifier is not defined and ("from " ~ node.relation_name ~ " where") in relation -%}
        {%- do models.append(node) -%}
    {%- endif -%}
{%- endfor -%}
{%- for node in models -%}
    {%- for name, column in node.columns.items() -%}
        {%- set meta = (column.config or {}).get("meta") or column.meta or {} -%}
        {%- if meta.get("not_null") -%}
            {%- do rules.append({"column": name, "broken": name ~ " is null", "text": "not null"}) -%}
        {%- endif -%}
        {%- if meta.get("min_value") is not none -%}
            {%- do rules.append({"column": name, "broken": name ~ " < " ~ meta.min_value,
                                 "text": "at least " ~ meta.min_value}) -%}
        {%- endif -%}
        {%- if meta.get("max_value") is not none -%}
            {%- do rules.append({"column": name, "broken": name ~ " > " ~ meta.max_value,
                                 "text": "at most " ~ meta.max_value}) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endfor -%}
{%- if not rules -%}
    {{ exceptions.raise_compiler_error("column_rules on " ~ (relation.identifier if relation.identifier is defined else relation) ~ ": none of its columns declares a rule (config: meta: not_null / min_value / max_value)") }}
{%- endif -%}
{{ return(rules) }}
{% endmacro %}
