{#- The configured parameters turned into SQL. Each formula that depends on a parameter lives here once. -#}

{#- Lower edge of the employee size band holding `employees` (null when employees is null). -#}
{% macro size_band_lower(employees) -%}
    {%- set edges = var('employee_size_bands') | map('int') | list -%}
    case
    {%- for edge in edges | reverse %}
        when {{ employees }} >= {{ edge }} then {{ edge }}
    {%- endfor %}
    end
{%- endmacro %}

{#- Label of the size band whose lower edge is `lower`: '1-9', '10-49', ..., '5000+'. -#}
{% macro size_band_label(lower) -%}
    {%- set edges = var('employee_size_bands') | map('int') | list -%}
    case {{ lower }}
    {%- for edge in edges %}
        {%- if not loop.last %}
        when {{ edge }} then '{{ edge }}-{{ edges[loop.index] - 1 }}'
        {%- else %}
        when {{ edge }} then '{{ edge }}+'
        {%- endif %}
    {%- endfor %}
    end
{%- endmacro %}

{#- The best-in-class statistic over revenue per employee (aggregate). -#}
{% macro best_in_class_statistic(revenue_per_employee) -%}
    {%- set statistic = var('bic_statistic') -%}
    {%- if statistic == 'quantile' -%}
        {{ quantile_cont_sql(revenue_per_employee, var('bic_quantile') | float) }}
    {%- elif statistic == 'max' -%}
        max({{ revenue_per_employee }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("var bic_statistic must be quantile or max, got " ~ statistic) }}
    {%- endif -%}
{%- endmacro %}

{#- actual_class = 1 + the number of thresholds <= actual revenue. -#}
{% macro actual_class(actual_revenue) -%}
    (1
    {%- for threshold in var('actual_class_thresholds') %}
        + case when {{ actual_revenue }} >= {{ threshold | float }} then 1 else 0 end
    {%- endfor %})
{%- endmacro %}

{#- incremental_class from the top share (cume_dist, descending): class 5 if <= cutoff 5, ... ,
    else 1; compared with a 1e-9 tolerance. -#}
{% macro incremental_class(top_share) -%}
    {%- set cutoffs = var('incremental_class_cutoffs') -%}
    case
    {%- for cls in [5, 4, 3, 2] %}
        when {{ top_share }} <= {{ cutoffs[cls | string] | float }}::double + 1e-9 then {{ cls }}
    {%- endfor %}
        else 1
    end
{%- endmacro %}

{#- Target share of incremental class `cls` (an SQL integer expression). -#}
{% macro incremental_class_target_share(cls) -%}
    {%- set shares = var('incremental_class_shares') -%}
    case {{ cls }}
    {%- for key in ['5', '4', '3', '2', '1'] %}
        when {{ key }} then {{ shares[key] | float }}::double
    {%- endfor %}
    end
{%- endmacro %}

{#- worth cell (actual class x 10 + incremental class) -> grade. -#}
{% macro grade_of_cell(worth_cell) -%}
    {%- set grades = var('grade_of_cell') -%}
    case {{ worth_cell }}
    {%- for cell in grades | list | sort %}
        when {{ cell | int }} then '{{ grades[cell] }}'
    {%- endfor %}
    end
{%- endmacro %}

{#- Planned contacts per customer per year for `grade`. -#}
{% macro planned_contacts(grade) -%}
    {%- set planned = var('planned_contacts_per_year') -%}
    case {{ grade }}
    {%- for g in var('grades') %}
        when '{{ g }}' then {{ planned[g] | float }}::double
    {%- endfor %}
    end
{%- endmacro %}

{#- Contacts one account manager makes in a year = contacts per day x working days. -#}
{% macro contacts_per_manager_year() -%}
    ({{ var('contacts_per_working_day') | float }}::double * {{ var('working_days_per_year') | float }}::double)
{%- endmacro %}

{#- Cost of one contact = annual manager cost / contacts per manager-year. -#}
{% macro cost_per_contact() -%}
    ({{ var('manager_annual_cost') | float }}::double / {{ contacts_per_manager_year() }})
{%- endmacro %}

{#- Managers active at `as_of_date`: active_from <= D < active_to (open-ended when null). -#}
{% macro manager_active_at(as_of_date, alias='m') -%}
    ({{ alias }}.active_from <= {{ as_of_date }}
     and ({{ alias }}.active_to is null or {{ as_of_date }} < {{ alias }}.active_to))
{%- endmacro %}

{#- A rate learned from history, shrunk to its prior (SPEC §4.5, §7):
    (successes + weight x prior) / (n + weight); the prior alone when n + weight = 0. -#}
{% macro shrunk_rate(successes, n, weight, prior) -%}
    case
        when coalesce({{ n }}, 0) + {{ weight }} = 0 then {{ prior }}
        else (coalesce({{ successes }}, 0) + {{ weight }} * {{ prior }}) / (coalesce({{ n }}, 0) + {{ weight }})
    end
{%- endmacro %}
