{#- The account health score's parameters turned into SQL. -#}

{#- A component's 0-100 score from its measure (null stays null: the component is left out): the
    i-th configured score, i = the number of configured thresholds the measure exceeds. -#}
{% macro health_band_score(measure, component) -%}
    {%- set band = var('health_components')[component] -%}
    case
        when {{ measure }} is null then null
    {%- for threshold in band['thresholds'] %}
        when {{ measure }} <= {{ threshold | float }} then {{ band['scores'][loop.index0] | float }}
    {%- endfor %}
        else {{ band['scores'][-1] | float }}
    end
{%- endmacro %}

{#- The type of every component score: the DECIMAL that holds each configured band score exactly
    (100.0 -> decimal(4, 1)), the same for all components. -#}
{% macro health_score_type() -%}
    {%- set widths = namespace(whole=1, fraction=1) -%}
    {%- for component in var('health_component_names') -%}
        {%- for score in var('health_components')[component]['scores'] -%}
            {%- set whole, fraction = (score | float | string).split('.') -%}
            {%- set widths.whole = [widths.whole, whole | replace('-', '') | length] | max -%}
            {%- set widths.fraction = [widths.fraction, fraction | length] | max -%}
        {%- endfor -%}
    {%- endfor -%}
    decimal({{ widths.whole + widths.fraction }}, {{ widths.fraction }})
{%- endmacro %}

{#- The configured weight of a component. -#}
{% macro health_weight(component) -%}
    {{ var('health_components')[component]['weight'] | float }}
{%- endmacro %}

{#- healthy / watch / at_risk from a score, by the configured bands. -#}
{% macro health_band(score) -%}
    case
        when {{ score }} is null then null
        when {{ score }} >= {{ var('health_healthy_score') | float }} then 'healthy'
        when {{ score }} >= {{ var('health_watch_score') | float }} then 'watch'
        else 'at_risk'
    end
{%- endmacro %}
