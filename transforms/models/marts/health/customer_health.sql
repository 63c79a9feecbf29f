-- Account health per snapshot and customer (SPEC §14): a 0-100 score, the weighted mean of the
-- components with data (the weights of the others count in their place), its band, the change
-- since the previous month's snapshot, each component's score, and the three components pulling
-- the score down most (largest weight x shortfall from 100), in words.
{%- set components = var('health_component_names') %}
with components as (
    select * from {{ ref('int_customer_health') }}
),

scored as (
    select
        as_of_date,
        customer_id,
        -- weights of zero only: no score rather than 0 / 0
        {{ exact_sum('weight * score') }} / nullif(sum(weight) filter (where score is not null), 0)
            as health_score,
        count(score) as components_used,
        {%- for component in components %}
        max(score) filter (where component = '{{ component }}') as {{ component }}_score,
        {%- endfor %}
        {{ ordered_list('detail', [('weight * (100 - score)', 'desc'), ('component_order', 'asc')],
            'score < 100 and weight > 0') }} as pulling_down
    from components
    group by all
),

history as (
    -- the scores of the month before the run, for the first month's change
    {%- if is_incremental() %}
    select as_of_date, customer_id, health_score
    from {{ this }}
    where date_trunc('month', as_of_date)::date = ({{ run_month_from_sql() }} - interval 1 month)::date
    {%- else %}
    select null::date as as_of_date, null::string as customer_id, null::double as health_score
    where false
    {%- endif %}
),

previous as (
    select
        as_of_date,
        customer_id,
        lag(health_score) over (partition by customer_id order by as_of_date nulls last) as previous_score,
        lag(as_of_date) over (partition by customer_id order by as_of_date nulls last) as previous_date
    from (
        select as_of_date, customer_id, health_score from scored
        union all
        select as_of_date, customer_id, health_score from history
    )
)

select
    s.as_of_date,
    s.customer_id,
    l.grade,
    l.segment,
    s.health_score,
    {{ health_band('s.health_score') }} as health_band,
    p.previous_score as previous_health_score,
    s.health_score - p.previous_score as health_score_change,
    s.components_used,
    {%- for component in components %}
    s.{{ component }}_score,
    {%- endfor %}
    coalesce({{ list_slice_sql('s.pulling_down', 1, 3) }}, {{ empty_list('varchar') }}) as pulling_down,
    {{ list_join_sql('coalesce(' ~ list_slice_sql('s.pulling_down', 1, 3) ~ ', ' ~ empty_list('varchar') ~ ')', '; ') }}
        as pulling_down_text
from scored as s
inner join {{ ref('int_customer_loyalty') }} as l
    on l.grading_date = s.as_of_date and l.customer_id = s.customer_id
left join previous as p
    on p.as_of_date = s.as_of_date and p.customer_id = s.customer_id
    -- only the snapshot of the month just before counts as "last month"
    and date_trunc('month', p.previous_date) = date_trunc('month', s.as_of_date) - interval 1 month
