{#- The run's month range (SPEC §3): vars month_from / month_to as YYYY-MM, else the environment
    variables ACCOUNTS_MONTH_FROM / ACCOUNTS_MONTH_TO (what the pipeline sets: unlike vars, a new
    value does not make dbt re-parse the whole project); a missing bound
    falls back to the month of the latest loaded transaction (month_from falls back to month_to
    first, so `--vars '{month_to: 2024-05}'` alone runs that single month).
    Returns SQL expressions of type DATE (first day of the month), used by int_as_of_dates and by
    delete_months_in_range so both agree on the months of a run. -#}

{% macro _month_var(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none -%}
        {%- set value = env_var('ACCOUNTS_' ~ (name | upper), '') -%}
    {%- endif -%}
    {%- if value is none or (value is string and value | trim == '') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set value = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])$', value) -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be a month YYYY-MM, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro latest_transaction_month_sql() -%}
    (select date_trunc('month', max(transaction_date))::date from {{ source('raw', 'revenue') }})
{%- endmacro %}

{% macro run_month_from_sql() -%}
    {%- set value = _month_var('month_from') or _month_var('month_to') -%}
    {%- if value is none -%}{{ latest_transaction_month_sql() }}
    {%- else -%}date '{{ value }}-01'{%- endif -%}
{%- endmacro %}

{% macro run_month_to_sql() -%}
    {%- set value = _month_var('month_to') -%}
    {%- if value is none -%}{{ latest_transaction_month_sql() }}
    {%- else -%}date '{{ value }}-01'{%- endif -%}
{%- endmacro %}

{#- pre-hook of every mart: before appending the run's snapshots, delete the rows whose as_of
    month lies in the run's range, so re-running a month replaces exactly that month. -#}
{% macro delete_months_in_range() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where date_trunc('month', as_of_date)::date
              between {{ run_month_from_sql() }} and {{ run_month_to_sql() }}
    {%- endif -%}
{%- endmacro %}
