-- Account health at every snapshot D, one row per customer: each component's measure (a column
-- named after the component) and its 0-100 score by the configured bands (`<component>_score`),
-- with the figures customer_health's sentences quote. A component without data is null (left out
-- of the score): no purchase rhythm yet (fewer than 3 purchase occasions), no revenue in the
-- prior window, an unknown size (no potential), no contact with a (dis)satisfier reason, and no
-- contacts or no referrals delivered at all. One row per customer, not per component: seven
-- times fewer rows to write and to read back (24 months at 100k customers: 2.4M rows, not 17M).
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

select
    as_of_date,
    customer_id,
    grade,
    days_since_last_purchase,
    median_gap_days,
    product_lines_12m,
    dissatisfier_contacts_12m,
    satisfier_contacts_12m,
    contacts_12m,
    planned_contacts,
    referrals_12m,
    {%- for component in var('health_component_names') %}
    {{ component }},
    cast({{ health_band_score(component, component) }} as {{ health_score_type() }}) as {{ component }}_score
        {{- ',' if not loop.last }}
    {%- endfor %}
from measured
