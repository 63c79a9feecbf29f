-- Account health at every snapshot D, one row per customer and component: the component's
-- measure, its 0-100 score by the configured bands, its weight, and in words what it says. A
-- component without data is null (left out of the score): no purchase rhythm yet (fewer than 3
-- purchase occasions), no revenue in the prior window, an unknown size (no potential), no
-- contact with a (dis)satisfier reason, and no contacts or no referrals delivered at all.
{%- set window = var('revenue_window_months') | int %}
with delivered as (
    select
        {{ relation_has_rows(ref('stg_contacts')) }} as contacts,
        {{ relation_has_rows(ref('stg_referrals')) }} as referrals
),

customers as (
    select
        d.as_of_date,
        l.customer_id,
        l.grade,
        l.days_since_last_purchase,
        l.median_gap_days,
        l.revenue_12m,
        l.revenue_prev_12m,
        l.product_lines_12m,
        l.potential_revenue,
        l.contacts_12m,
        l.referrals_12m,
        c.dissatisfier_contacts_12m,
        c.satisfier_contacts_12m,
        {{ planned_contacts('l.grade') }} * {{ window }} / 12.0 as planned_contacts,
        x.contacts as contacts_delivered,
        x.referrals as referrals_delivered
    from {{ ref('int_as_of_dates') }} as d
    inner join {{ ref('int_customer_loyalty') }} as l on l.grading_date = d.as_of_date
    inner join {{ ref('int_customer_contacts') }} as c
        on c.grading_date = d.as_of_date and c.customer_id = l.customer_id
    cross join delivered as x
),

measured as (
    select
        *,
        case when median_gap_days > 0 then days_since_last_purchase / median_gap_days end as recency,
        case when revenue_prev_12m > 0 then revenue_12m::double / revenue_prev_12m::double end
            as revenue_trend,
        product_lines_12m::double as product_penetration,
        case when potential_revenue > 0 then revenue_12m::double / potential_revenue end
            as share_of_potential,
        case when contacts_delivered and dissatisfier_contacts_12m + satisfier_contacts_12m > 0 then
            dissatisfier_contacts_12m::double / (dissatisfier_contacts_12m + satisfier_contacts_12m)
        end as contact_sentiment,
        case when contacts_delivered and planned_contacts > 0 then contacts_12m / planned_contacts end
            as contact_coverage,
        case when referrals_delivered then referrals_12m::double end as referrals
    from customers
)

{%- set texts = {
    'recency': printf_sql("'%d days since the last purchase, %.1f times the usual gap of %.0f days'", ['days_since_last_purchase', 'recency', 'median_gap_days']),
    'revenue_trend': printf_sql("'revenue %+.0f%% against the prior window'", ['100 * (revenue_trend - 1)']),
    'product_penetration': printf_sql("'%d product line(s) bought in the window'", ['product_lines_12m']),
    'share_of_potential': printf_sql("'%.0f%% of the potential revenue'", ['100 * share_of_potential']),
    'contact_sentiment': printf_sql("'%d of %d contacts with a satisfier or dissatisfier reason were dissatisfiers'", ['dissatisfier_contacts_12m', 'dissatisfier_contacts_12m + satisfier_contacts_12m']),
    'contact_coverage': printf_sql("'%d contacts against %.0f planned for grade %s'", ['contacts_12m', 'planned_contacts', 'grade']),
    'referrals': "case when referrals_12m = 0 then 'no referral in the window' else " ~ printf_sql("'%d referral(s) in the window'", ['referrals_12m']) ~ " end",
} %}
{%- for component in var('health_component_names') %}
select
    as_of_date,
    customer_id,
    '{{ component }}' as component,
    {{ loop.index }} as component_order,
    {{ component }} as measure,
    {{ health_band_score(component, component) }} as score,
    {{ health_weight(component) }}::double as weight,
    case when {{ component }} is not null then {{ texts[component] }} end as detail
from measured
{{ 'union all' if not loop.last }}
{%- endfor %}
