{#- The run's month range: vars month_from / month_to (YYYY-MM), else the environment variables
    ACCOUNTS_MONTH_FROM / ACCOUNTS_MONTH_TO, which the pipeline sets (unlike vars, a new value does
    not make dbt re-parse the whole project). The pipeline validates the months and decides which
    month is current (pipelines/core/months.py); here they only become dates (the first day of
    the month), used by int_as_of_dates and delete_months_in_range so both agree on the months. -#}

{% macro _run_month(name) -%}
    {%- set value = var(name, none) or env_var('ACCOUNTS_' ~ (name | upper), '') -%}
    {%- if execute and not value -%}
        {{ exceptions.raise_compiler_error(
            "no " ~ name ~ ": the pipeline passes the run's months; to run dbt by hand pass "
            ~ "--vars '{month_from: YYYY-MM, month_to: YYYY-MM}' (or use `accounts dbt`)") }}
    {%- endif -%}
    date '{{ value or "1970-01" }}-01'
{%- endmacro %}

{% macro run_month_from_sql() -%}{{ _run_month('month_from') }}{%- endmacro %}

{% macro run_month_to_sql() -%}{{ _run_month('month_to') }}{%- endmacro %}

{#- Whether `column`'s month lies in the run's range (DuckDB and Spark: Spark's date_trunc gives
    a timestamp). What a run replaces in a mart, and what a test of a mart reads (test_scope.sql). -#}
{% macro as_of_month_in_run_sql(column) -%}
    cast(date_trunc('month', {{ column }}) as date) between {{ run_month_from_sql() }} and {{ run_month_to_sql() }}
{%- endmacro %}

{#- pre-hook of every mart: before appending the run's snapshots, delete the rows whose as_of
    month lies in the run's range, so re-running a month replaces exactly that month. -#}
{% macro delete_months_in_range() -%}
    {{ return(adapter.dispatch('delete_months_in_range')()) }}
{%- endmacro %}

{% macro default__delete_months_in_range() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ as_of_month_in_run_sql('as_of_date') }}
    {%- endif -%}
{%- endmacro %}

{#- Spark's Parquet tables have no DELETE: the marts are partitioned by as_of_date, and the
    partitions whose month lies in the run's range are dropped (data files included). The hook
    runs them itself and leaves no statement for dbt. -#}
{% macro spark__delete_months_in_range() -%}
    {%- if execute and is_incremental() -%}
        {%- set dates = run_query(
            "select distinct cast(as_of_date as string) from " ~ this
            ~ " where " ~ as_of_month_in_run_sql('as_of_date')) -%}
        {%- for row in dates.rows -%}
            {%- do run_query("alter table " ~ this ~ " drop if exists partition (as_of_date = '" ~ row[0] ~ "')") -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
