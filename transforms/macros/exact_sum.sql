{#- Sum of a DOUBLE expression that does not depend on the order DuckDB's threads add rows in:
    summing floats in another order changes the last bits, and reruns must give identical tables
    (SPEC §13). Summed as DECIMAL(38, 9) (exact), returned as DOUBLE. -#}
{% macro exact_sum(expression) -%}
    sum(({{ expression }})::decimal(38, 9))::double
{%- endmacro %}
