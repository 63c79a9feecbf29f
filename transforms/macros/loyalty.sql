{#- The loyalty parameters turned into SQL (reason-code lists, defection priors, driver labels). -#}

{#- `expression` IN the list of quoted strings `values`; false for an empty list. -#}
{% macro in_string_list(expression, values) -%}
    {%- if values | length == 0 -%}
        false
    {%- else -%}
        {{ expression }} in (
        {%- for value in values %}'{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor -%}
        )
    {%- endif -%}
{%- endmacro %}

{#- True when `reason_code` is one of the configured dissatisfier reason codes. -#}
{% macro is_dissatisfier(reason_code) -%}
    {{ in_string_list(reason_code, var('dissatisfier_reason_codes')) }}
{%- endmacro %}

{#- True when `reason_code` is one of the configured satisfier reason codes. -#}
{% macro is_satisfier(reason_code) -%}
    {{ in_string_list(reason_code, var('satisfier_reason_codes')) }}
{%- endmacro %}

{#- The configured prior defection rate of `segment` (an SQL string expression), as DOUBLE. -#}
{% macro defection_prior(segment) -%}
    {%- set priors = var('defection_priors') -%}
    case {{ segment }}
    {%- for s in var('segments') %}
        when '{{ s }}' then {{ priors[s] | float }}::double
    {%- endfor %}
    end
{%- endmacro %}

{#- Label of a contact driver from its measured lift against the configured bands. -#}
{% macro driver_label(lift, support) -%}
    case
        when {{ support }} < {{ var('driver_min_support') | int }} then 'insufficient_support'
        when {{ lift }} is null then 'neutral'
        when {{ lift }} >= {{ var('driver_dissatisfier_lift') | float }}::double - 1e-9 then 'dissatisfier'
        when {{ lift }} <= {{ var('driver_satisfier_lift') | float }}::double + 1e-9 then 'satisfier'
        else 'neutral'
    end
{%- endmacro %}
