-- Account health per snapshot and customer (SPEC §14): a 0-100 score, the weighted mean of the
-- components with data (the weights of the others count in their place), its band, the change
-- since the previous month's snapshot, each component's score, and the three components pulling
-- the score down most (largest weight x shortfall from 100, the earlier component first on a
-- tie), in words. All within each customer's row: the sentences are written for those three only.
{%- set components = var('health_component_names') %}
{%- set texts = {
    'recency': printf_sql("'%d days since the last purchase, %.1f times the usual gap of %.0f days'", ['days_since_last_purchase', 'recency', 'median_gap_days']),
    'revenue_trend': printf_sql("'revenue %+.0f%% against the prior window'", ['100 * (revenue_trend - 1)']),
    'product_penetration': printf_sql("'%d product line(s) bought in the window'", ['product_lines_12m']),
    'share_of_potential': printf_sql("'%.0f%% of the potential revenue'", ['100 * share_of_potential']),
    'contact_sentiment': printf_sql("'%d of %d contacts with a satisfier or dissatisfier reason were dissatisfiers'", ['dissatisfier_contacts_12m', 'dissatisfier_contacts_12m + satisfier_contacts_12m']),
    'contact_coverage': printf_sql("'%d contacts against %.0f planned for grade %s'", ['contacts_12m', 'planned_contacts', 'grade']),
    'referrals': "case when referrals_12m = 0 then 'no referral in the window' else " ~ printf_sql("'%d referral(s) in the window'", ['referrals_12m']) ~ " end",
} %}
{#- per component, (minus its pull: weight x shortfall from 100, its position): sorted ascending,
    the strongest pull comes first and, on a tie, the earlier component; a component without a
    score, at 100 or of weight 0 pulls nothing (its key is null or not below 0) -#}
{%- set pulls = [] %}
{%- for component in components %}
    {%- do pulls.append(struct_pack([
        ('pull', '-(' ~ health_weight(component) ~ '::double * (100 - ' ~ component ~ '_score))'),
        ('component_order', loop.index)])) %}
{%- endfor %}
with ranked as (
    select
        *,
        {{ list_map_sql(list_slice_sql(list_sort_sql(list_where(list_of(pulls), 'x.pull < 0')), 1, 3), 'x.component_order') }}
            as pulling_orders
    from {{ ref('int_customer_health') }}
),

scored as (
    select
        as_of_date,
        customer_id,
        -- weights of zero only: no score rather than 0 / 0
        (
            {%- for component in components %}
            {{ health_weight(component) }}::double * coalesce({{ component }}_score, 0){{ ' +' if not loop.last }}
            {%- endfor %}
        ) / nullif(
            {%- for component in components %}
            case when {{ component }}_score is not null then {{ health_weight(component) }}::double else 0 end
            {{- ' +' if not loop.last }}
            {%- endfor %}, 0) as health_score,
        cast(
            {%- for component in components %}
            case when {{ component }}_score is not null then 1 else 0 end{{ ' +' if not loop.last }}
            {%- endfor %} as bigint) as components_used,
        {%- for component in components %}
        {{ component }}_score,
        {%- endfor %}
        {%- set sentences = [] %}
        {%- for i in range(1, 4) %}
            {%- set sentence -%}
                case {{ list_element('pulling_orders', i) }}
                {%- for component in components %}
                    when {{ loop.index }} then {{ texts[component] }}
                {%- endfor %}
                end
            {%- endset %}
            {%- do sentences.append(sentence) %}
        {%- endfor %}
        {{ list_where(list_of(sentences), 'x is not null') }} as pulling_down
    from ranked
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
    s.pulling_down,
    {{ list_join_sql('s.pulling_down', '; ') }} as pulling_down_text
from scored as s
inner join {{ ref('int_customer_loyalty') }} as l
    on l.grading_date = s.as_of_date and l.customer_id = s.customer_id
left join previous as p
    on p.as_of_date = s.as_of_date and p.customer_id = s.customer_id
    -- only the snapshot of the month just before counts as "last month"
    and date_trunc('month', p.previous_date) = date_trunc('month', s.as_of_date) - interval 1 month
