{#- SQL that differs between DuckDB (the home engine) and Spark. Each DuckDB form is the one the
    models used before the port, so DuckDB's results and speed are unchanged; the Spark form gives
    the same values (docs in each macro). -#}

{#- `as materialized` for a CTE read twice: DuckDB computes it once; Spark has no such hint. -#}
{% macro cte_materialized() -%}
    {{ return(adapter.dispatch('cte_materialized')()) }}
{%- endmacro %}
{% macro default__cte_materialized() -%}{%- endmacro %}
{% macro duckdb__cte_materialized() -%}materialized{%- endmacro %}

{#- One row per month from `first_month` to `last_month` (dates, both included), in a select list. -#}
{% macro month_series(first_month, last_month) -%}
    {{ return(adapter.dispatch('month_series')(first_month, last_month)) }}
{%- endmacro %}
{% macro duckdb__month_series(first_month, last_month) -%}
    unnest(generate_series({{ first_month }}, {{ last_month }}, interval 1 month))::date
{%- endmacro %}
{% macro spark__month_series(first_month, last_month) -%}
    explode(sequence({{ first_month }}, {{ last_month }}, interval 1 month))
{%- endmacro %}

{#- The integers from..to as a one-column relation (portable: VALUES, INTEGER on both engines). -#}
{% macro integer_values(column, first, last) -%}
    (select * from (values
    {%- for i in range(first, last + 1) %} ({{ i }}){{ ',' if not loop.last }}{% endfor %}) as t({{ column }}))
{%- endmacro %}

{#- Days from `earlier` to `later` (dates) as INTEGER: DuckDB's date - date; Spark's date - date
    is an interval, datediff is the integer. -#}
{% macro days_between(later, earlier) -%}
    {{ return(adapter.dispatch('days_between')(later, earlier)) }}
{%- endmacro %}
{% macro duckdb__days_between(later, earlier) -%}({{ later }} - {{ earlier }}){%- endmacro %}
{% macro spark__days_between(later, earlier) -%}datediff({{ later }}, {{ earlier }}){%- endmacro %}

{#- `left_rel as left_alias` joined to the row of `right_rel as right_alias` with the same `key`
    and the latest `right_date` <= `left_date` (a join clause, after `from left_rel as left_alias`).
    DuckDB: its ASOF join. Elsewhere: the latest matching date per (key, left_date), then an
    equi-join on it; like the ASOF join, a left row without a match keeps nulls. (right_rel must
    hold one row per key and date, else the equi-join repeats rows where ASOF picks one.) -#}
{% macro asof_left_join(left_rel, left_alias, right_rel, right_alias, key, left_date, right_date) -%}
    {{ return(adapter.dispatch('asof_left_join')(left_rel, left_alias, right_rel, right_alias, key, left_date, right_date)) }}
{%- endmacro %}
{% macro duckdb__asof_left_join(left_rel, left_alias, right_rel, right_alias, key, left_date, right_date) -%}
    asof left join {{ right_rel }} as {{ right_alias }}
        on {{ right_alias }}.{{ key }} = {{ left_alias }}.{{ key }} and {{ left_alias }}.{{ left_date }} >= {{ right_alias }}.{{ right_date }}
{%- endmacro %}
{% macro default__asof_left_join(left_rel, left_alias, right_rel, right_alias, key, left_date, right_date) -%}
    left join (
        select l.{{ key }}, l.{{ left_date }} as asof_left_date, max(r.{{ right_date }}) as asof_right_date
        from (select distinct {{ key }}, {{ left_date }} from {{ left_rel }}) as l
        inner join {{ right_rel }} as r on r.{{ key }} = l.{{ key }} and r.{{ right_date }} <= l.{{ left_date }}
        group by l.{{ key }}, l.{{ left_date }}
    ) as {{ right_alias }}_asof
        on {{ right_alias }}_asof.{{ key }} = {{ left_alias }}.{{ key }}
        and {{ right_alias }}_asof.asof_left_date = {{ left_alias }}.{{ left_date }}
    left join {{ right_rel }} as {{ right_alias }}
        on {{ right_alias }}.{{ key }} = {{ right_alias }}_asof.{{ key }}
        and {{ right_alias }}.{{ right_date }} = {{ right_alias }}_asof.asof_right_date
{%- endmacro %}

{#- An empty list of `element_type`, a DuckDB type: varchar or struct(name date|varchar, ...). -#}
{% macro empty_list(element_type) -%}
    {{ return(adapter.dispatch('empty_list')(element_type)) }}
{%- endmacro %}
{% macro duckdb__empty_list(element_type) -%}[]::{{ element_type }}[]{%- endmacro %}
{% macro spark__empty_list(element_type) -%}
    cast(array() as array<{{ element_type | replace('varchar', 'string') | replace('struct(', 'struct<') | replace(' date', ':date') | replace(' string', ':string') | replace(')', '>') }}>)
{%- endmacro %}

{#- A one-element list ['value'] of a string literal. -#}
{% macro string_list(value) -%}
    {{ return(adapter.dispatch('string_list')(value)) }}
{%- endmacro %}
{% macro duckdb__string_list(value) -%}['{{ value }}']{%- endmacro %}
{% macro spark__string_list(value) -%}array('{{ value }}'){%- endmacro %}

{#- A list literal of expressions: [a, b, c]. -#}
{% macro list_of(items) -%}
    {{ return(adapter.dispatch('list_of')(items)) }}
{%- endmacro %}
{% macro duckdb__list_of(items) -%}[{{ items | join(', ') }}]{%- endmacro %}
{% macro spark__list_of(items) -%}array({{ items | join(', ') }}){%- endmacro %}

{#- The list sorted ascending (structs: field by field, in their order). -#}
{% macro list_sort_sql(list) -%}
    {{ return(adapter.dispatch('list_sort_sql')(list)) }}
{%- endmacro %}
{% macro duckdb__list_sort_sql(list) -%}list_sort({{ list }}){%- endmacro %}
{% macro spark__list_sort_sql(list) -%}array_sort({{ list }}){%- endmacro %}

{#- `expression` of each element x of the list. -#}
{% macro list_map_sql(list, expression) -%}
    {{ return(adapter.dispatch('list_map_sql')(list, expression)) }}
{%- endmacro %}
{% macro duckdb__list_map_sql(list, expression) -%}list_transform({{ list }}, lambda x: {{ expression }}){%- endmacro %}
{% macro spark__list_map_sql(list, expression) -%}transform({{ list }}, x -> {{ expression }}){%- endmacro %}

{#- The i-th element (from 1) of the list; NULL beyond its end. -#}
{% macro list_element(list, i) -%}
    {{ return(adapter.dispatch('list_element')(list, i)) }}
{%- endmacro %}
{% macro duckdb__list_element(list, i) -%}{{ list }}[{{ i }}]{%- endmacro %}
{% macro spark__list_element(list, i) -%}try_element_at({{ list }}, {{ i }}){%- endmacro %}

{#- The concatenation of list expressions. -#}
{% macro list_concat_sql(lists) -%}
    {{ return(adapter.dispatch('list_concat_sql')(lists)) }}
{%- endmacro %}
{% macro duckdb__list_concat_sql(lists) -%}
        list_concat(
        {%- for l in lists %}
            {{ l }}{{ ',' if not loop.last }}
        {%- endfor %}
        )
{%- endmacro %}
{% macro spark__list_concat_sql(lists) -%}
        concat(
        {%- for l in lists %}
            {{ l }}{{ ',' if not loop.last }}
        {%- endfor %}
        )
{%- endmacro %}

{#- A struct {name: expression, ...} from a list of (name, expression) pairs. -#}
{% macro struct_pack(fields) -%}
    {{ return(adapter.dispatch('struct_pack')(fields)) }}
{%- endmacro %}
{% macro duckdb__struct_pack(fields) -%}
    { {%- for name, expression in fields %}'{{ name }}': {{ expression }}{{ ', ' if not loop.last }}{% endfor -%} }
{%- endmacro %}
{% macro spark__struct_pack(fields) -%}
    named_struct({%- for name, expression in fields %}'{{ name }}', {{ expression }}{{ ', ' if not loop.last }}{% endfor -%})
{%- endmacro %}

{#- Aggregate: the list of `value` ordered by `order_by` (list of (expression, 'asc'|'desc')),
    over the rows passing `filter`; NULL when no row passes (as DuckDB's list()). Spark: ordered
    explicitly (collect_list has no order), nulls last as DuckDB's default. -#}
{% macro ordered_list(value, order_by, filter=none) -%}
    {{ return(adapter.dispatch('ordered_list')(value, order_by, filter)) }}
{%- endmacro %}
{% macro duckdb__ordered_list(value, order_by, filter) -%}
    list({{ value }} order by {% for e, d in order_by %}{{ e }}{{ ' desc' if d == 'desc' }} nulls last{{ ', ' if not loop.last }}{% endfor %})
    {%- if filter is not none %}
            filter (where {{ filter }})
    {%- endif %}
{%- endmacro %}
{% macro spark__ordered_list(value, order_by, filter) -%}
    {%- set collected -%}
        array_sort(
            collect_list(named_struct(
                {%- for e, d in order_by %}'k{{ loop.index }}', {{ e }}, {% endfor %}'v', {{ value }}))
            {%- if filter is not none %} filter (where {{ filter }}){% endif %},
            (a, b) -> case
            {%- for e, d in order_by %}
                {%- set k = 'k' ~ loop.index %}
                when a.{{ k }} is null and b.{{ k }} is not null then 1
                when a.{{ k }} is not null and b.{{ k }} is null then -1
                when a.{{ k }} {{ '>' if d == 'desc' else '<' }} b.{{ k }} then -1
                when a.{{ k }} {{ '<' if d == 'desc' else '>' }} b.{{ k }} then 1
            {%- endfor %}
                else 0 end)
    {%- endset -%}
    case when count(*) {%- if filter is not none %} filter (where {{ filter }}){% endif %} > 0 then
        transform({{ collected }}, x -> x.v)
    end
{%- endmacro %}

{#- Elements first..last (1-based, both included) of a list. -#}
{% macro list_slice_sql(list, first, last) -%}
    {{ return(adapter.dispatch('list_slice_sql')(list, first, last)) }}
{%- endmacro %}
{% macro duckdb__list_slice_sql(list, first, last) -%}{{ list }}[{{ first }}:{{ last }}]{%- endmacro %}
{% macro spark__list_slice_sql(list, first, last) -%}slice({{ list }}, {{ first }}, {{ last - first + 1 }}){%- endmacro %}

{#- The elements of a string list joined by `separator`. -#}
{% macro list_join_sql(list, separator) -%}
    {{ return(adapter.dispatch('list_join_sql')(list, separator)) }}
{%- endmacro %}
{% macro duckdb__list_join_sql(list, separator) -%}array_to_string({{ list }}, '{{ separator }}'){%- endmacro %}
{% macro spark__list_join_sql(list, separator) -%}array_join({{ list }}, '{{ separator }}'){%- endmacro %}

{#- Continuous quantile (linear interpolation between the closest ranks, nulls ignored). Spark's
    percentile interpolates with other float steps than DuckDB (last-bit differences), so the
    same steps here: RN = (n - 1) x q, d = RN - floor(RN), lo x (1 - d) + hi x d with DuckDB's
    build's fused multiply-add (Java's Math.fma, by reflection: its result comes back as the
    exact shortest string). -#}
{% macro quantile_cont_sql(expression, q) -%}
    {{ return(adapter.dispatch('quantile_cont_sql')(expression, q)) }}
{%- endmacro %}
{% macro duckdb__quantile_cont_sql(expression, q) -%}quantile_cont({{ expression }}, {{ q }}){%- endmacro %}
{% macro spark__quantile_cont_sql(expression, q) -%}
    aggregate(
        array(array_sort(collect_list(cast({{ expression }} as double)))),
        cast(null as double),
        (result, v) -> case
            when size(v) = 0 then null
            when floor((size(v) - 1) * {{ q }}D) = ceil((size(v) - 1) * {{ q }}D)
                then v[cast(floor((size(v) - 1) * {{ q }}D) as int)]
            else cast(reflect('java.lang.Math', 'fma',
                v[cast(floor((size(v) - 1) * {{ q }}D) as int)],
                1.0D - ((size(v) - 1) * {{ q }}D - floor((size(v) - 1) * {{ q }}D)),
                v[cast(ceil((size(v) - 1) * {{ q }}D) as int)]
                    * ((size(v) - 1) * {{ q }}D - floor((size(v) - 1) * {{ q }}D))) as double)
        end
    )
{%- endmacro %}

{#- C-style printf of `format` (an SQL string literal) with `args` (SQL expressions). DuckDB:
    printf. Spark: built piece by piece, since its format_string (Java) rounds ties half up and on
    the shortest decimal form of a double, where DuckDB rounds the exact binary value half to
    even (12.5 -> '12', 1.15 -> '1.1'). Supports %d, %s, %%, %.Nf and %+.Nf (N <= 1). -#}
{% macro printf_sql(format, args) -%}
    {{ return(adapter.dispatch('printf_sql')(format, args)) }}
{%- endmacro %}
{% macro duckdb__printf_sql(format, args) -%}
    printf({{ format }}, {{ args | join(', ') }})
{%- endmacro %}
{% macro spark__printf_sql(format, args) -%}
    {%- set text = format[1:-1] -%}
    {%- set tokens = modules.re.split('(%%|%[+]?(?:[.][0-9]+)?[dsf])', text) -%}
    {%- set pieces = [] -%}
    {%- set ns = namespace(i=0) -%}
    {%- for token in tokens if token != '' -%}
        {%- if token == '%%' -%}
            {%- do pieces.append("'%'") -%}
        {%- elif token.startswith('%') -%}
            {%- set arg = args[ns.i] -%}
            {%- set ns.i = ns.i + 1 -%}
            {%- if token.endswith('d') -%}
                {%- do pieces.append('cast(' ~ arg ~ ' as string)') -%}
            {%- elif token.endswith('s') -%}
                {%- do pieces.append(arg) -%}
            {%- else -%}
                {%- do pieces.append(spark_fixed(arg, token.split('.')[1][:-1] | int, '+' in token)) -%}
            {%- endif -%}
        {%- else -%}
            {%- do pieces.append("'" ~ token ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    concat({{ pieces | join(', ') }})
{%- endmacro %}

{#- A double as C's %.Nf (N = 0 or 1): the exact binary value rounded half to even. N = 1: x * 10
    is split exactly into hi + lo (8x + 2x, TwoSum), so a value just below a tie (1.15 is
    1.1499999...) rounds down as in C. -#}
{% macro spark_fixed(x, digits, plus) -%}
    {%- if digits not in [0, 1] -%}
        {{ exceptions.raise_compiler_error('printf_sql on Spark supports %.0f and %.1f only') }}
    {%- endif -%}
    {%- set a = 'abs(cast(' ~ x ~ ' as double))' -%}
    {%- if digits == 0 -%}
        {%- set rounded = 'rint(' ~ a ~ ')' -%}
    {%- else -%}
        {%- set hi = '(' ~ a ~ ' * 8.0D + ' ~ a ~ ' * 2.0D)' -%}
        {%- set b = '(' ~ hi ~ ' - ' ~ a ~ ' * 8.0D)' -%}
        {%- set lo = '((' ~ a ~ ' * 8.0D - (' ~ hi ~ ' - ' ~ b ~ ')) + (' ~ a ~ ' * 2.0D - ' ~ b ~ '))' -%}
        {%- set rounded -%}
            (case
                when {{ hi }} - floor({{ hi }}) = 0.5D and {{ lo }} > 0 then floor({{ hi }}) + 1
                when {{ hi }} - floor({{ hi }}) = 0.5D and {{ lo }} < 0 then floor({{ hi }})
                else rint({{ hi }})
            end)
        {%- endset -%}
    {%- endif -%}
    {%- set n = 'cast(' ~ rounded ~ ' as bigint)' -%}
    concat(
        case when cast(cast({{ x }} as double) as string) like '-%' then '-' else '{{ '+' if plus }}' end,
        {%- if digits == 0 %}
        cast({{ n }} as string)
        {%- else %}
        cast({{ n }} div 10 as string), '.', cast({{ n }} % 10 as string)
        {%- endif %}
    )
{%- endmacro %}

{#- A scalar: true when the relation has a row (EXISTS is not allowed in a Spark select list). -#}
{% macro relation_has_rows(relation) -%}
    coalesce((select true from {{ relation }} limit 1), false)
{%- endmacro %}

{#- Number of elements of a list. -#}
{% macro list_length(list) -%}
    {{ return(adapter.dispatch('list_length')(list)) }}
{%- endmacro %}
{% macro duckdb__list_length(list) -%}len({{ list }}){%- endmacro %}
{% macro spark__list_length(list) -%}size({{ list }}){%- endmacro %}

{#- Aggregate: the sorted list of the distinct dates `day` of the group. -#}
{% macro sorted_distinct_days(day) -%}
    {{ return(adapter.dispatch('sorted_distinct_days')(day)) }}
{%- endmacro %}
{% macro duckdb__sorted_distinct_days(day) -%}list_sort(list_distinct(list({{ day }}))){%- endmacro %}
{% macro spark__sorted_distinct_days(day) -%}array_sort(collect_set({{ day }})){%- endmacro %}

{#- The elements `x` of a list for which `condition` (an expression of x and of the row's columns)
    holds, in their order. -#}
{% macro list_where(list, condition) -%}
    {{ return(adapter.dispatch('list_where')(list, condition)) }}
{%- endmacro %}
{% macro duckdb__list_where(list, condition) -%}list_filter({{ list }}, lambda x: {{ condition }}){%- endmacro %}
{% macro spark__list_where(list, condition) -%}filter({{ list }}, x -> {{ condition }}){%- endmacro %}

{#- The largest element of a list; NULL for an empty list. -#}
{% macro list_max_sql(list) -%}
    {{ return(adapter.dispatch('list_max_sql')(list)) }}
{%- endmacro %}
{% macro duckdb__list_max_sql(list) -%}list_max({{ list }}){%- endmacro %}
{% macro spark__list_max_sql(list) -%}array_max({{ list }}){%- endmacro %}

{#- Median of the day gaps between consecutive dates of a sorted list of >= 2 dates, as DOUBLE
    (the mean of the two middle gaps when their number is even: whole or half days, exact). -#}
{% macro median_gap_days(days) -%}
    {{ return(adapter.dispatch('median_gap_days')(days)) }}
{%- endmacro %}
{% macro duckdb__median_gap_days(days) -%}
        list_median(list_transform(
            range(1, len({{ days }})),
            lambda i: ({{ days }}[i + 1] - {{ days }}[i])::double
        ))
{%- endmacro %}
{% macro spark__median_gap_days(days) -%}
        aggregate(
            array(array_sort(transform(
                sequence(1, size({{ days }}) - 1),
                i -> cast(datediff({{ days }}[i], {{ days }}[i - 1]) as double)
            ))),
            cast(null as double),
            (median, g) -> case
                when size(g) % 2 = 1 then g[size(g) div 2]
                else (g[size(g) div 2 - 1] + g[size(g) div 2]) / 2
            end
        )
{%- endmacro %}
