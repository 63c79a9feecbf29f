{#- Sum of a DOUBLE expression that does not depend on the order DuckDB's threads add rows in:
    summing floats in another order changes the last bits, and reruns must give identical tables
    (SPEC §13). Summed as DECIMAL(38, 9) (exact), returned as DOUBLE. -#}
{% macro exact_sum(expression) -%}
    {{ return(adapter.dispatch('exact_sum')(expression)) }}
{%- endmacro %}

{% macro default__exact_sum(expression) -%}
    sum(({{ expression }})::decimal(38, 9))::double
{%- endmacro %}

{#- Spark's double -> decimal cast rounds the shortest decimal form of the double, DuckDB's rounds
    x * 1e9 (a double) half away from zero: the same steps here, summed as whole billionths
    (exact). Then DuckDB's decimal -> double: the billionths as a double / 1e9 while they fit a
    double exactly (|n| <= 2^53), else whole part + (remainder as a double) / 1e9. The billionths
    of one value must fit a BIGINT (|value| < 9.2e9): beyond, the cast would saturate silently
    (dbt-spark runs without ANSI mode), so the query fails instead. -#}
{% macro spark__exact_sum(expression) -%}
    {%- set v = 'cast((' ~ expression ~ ') as double)' -%}
    {%- set billionths -%}
        case when {{ v }} is null or abs({{ v }}) < 9.2e9D then cast(round({{ v }} * 1e9D, 0) as bigint)
        else cast(raise_error('exact_sum: a value beyond +-9.2e9 cannot be summed exactly on Spark') as bigint) end
    {%- endset -%}
    {%- set n = 'sum(cast(' ~ billionths ~ ' as decimal(38, 0)))' -%}
    (case
        when abs({{ n }}) <= 9007199254740992 then cast({{ n }} as double) / 1e9D
        else cast({{ n }} div 1000000000 as double) + cast({{ n }} % 1000000000 as double) / 1e9D
    end)
{%- endmacro %}
