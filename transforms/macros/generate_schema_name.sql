{#- Custom schema names are used as-is (staging, intermediate, marts), not prefixed with the
    target schema. On the `published` target (`accounts docs`) the marts are read where the
    published file holds them: its main schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.name == 'published' and custom_schema_name | trim == 'marts' -%}
        main
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
