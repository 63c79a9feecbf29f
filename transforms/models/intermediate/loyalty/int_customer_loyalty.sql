-- The loyalty segment of every customer in the universe at every grading date G (the snapshots D
-- and their history dates D0 = D - window, so the defection probability reuses these rules at
-- D0), with the measures it reads: purchases, product lines, contacts and referrals.
-- Segment, first rule that matches: Defector (no purchase in the trailing window); At-risk (any
-- at-risk rule holds, each listed in risk_reasons); Secure (>= 2 product lines and >= 2 occasions
-- in the window, and revenue not below the prior window or a referral); Complacent (the rest).
{%- set recency_days = var('at_risk_recency_days') | int %}
{%- set decline_ratio = var('at_risk_decline_ratio') | float %}
{%- set dissatisfier_contacts = var('at_risk_dissatisfier_contacts') | int %}
{%- set gap_multiple = var('at_risk_gap_multiple') | float %}
{%- set gap_min_days = var('at_risk_gap_min_days') | int %}
with measures as (
    select
        u.grading_date, u.customer_id, u.customer_name, u.customer_type, u.region, u.grade,
        u.potential_revenue,
        p.revenue_12m, p.revenue_prev_12m, p.margin_12m, p.margin_prev_12m,
        p.purchase_occasions_12m, p.purchase_occasions_24m, p.median_gap_days,
        p.last_purchase_date, p.days_since_last_purchase,
        l.product_lines_12m, l.product_lines_total, l.second_product_date, l.third_product_date,
        c.contacts_12m, c.dissatisfier_contacts_recent, c.dissatisfier_contacts_12m,
        c.satisfier_contacts_12m, c.contact_persons_12m,
        r.referrals_12m, r.referrals_converted_12m
    from {{ ref('int_customer_grading') }} as u
    inner join {{ ref('int_customer_purchases') }} as p using (grading_date, customer_id)
    inner join {{ ref('int_customer_product_lines') }} as l using (grading_date, customer_id)
    inner join {{ ref('int_customer_contacts') }} as c using (grading_date, customer_id)
    inner join {{ ref('int_customer_referrals') }} as r using (grading_date, customer_id)
),

rules as (
    select
        *,
        purchase_occasions_12m = 0 as rule_defector,
        coalesce(days_since_last_purchase > {{ recency_days }}, false) as rule_recency,
        revenue_prev_12m > 0
            and revenue_12m < {{ decline_ratio }}::decimal(18, 9) * revenue_prev_12m as rule_decline,
        dissatisfier_contacts_recent >= {{ dissatisfier_contacts }} as rule_dissatisfier,
        coalesce(
            median_gap_days is not null
            and days_since_last_purchase > {{ gap_multiple }}::double * median_gap_days
            and days_since_last_purchase > {{ gap_min_days }},
            false
        ) as rule_gap
    from measures
),

segmented as (
    select
        *,
        case
            when rule_defector then 'Defector'
            when rule_recency or rule_decline or rule_dissatisfier or rule_gap then 'At-risk'
            when product_lines_12m >= 2 and purchase_occasions_12m >= 2
                and (revenue_12m >= revenue_prev_12m or referrals_12m >= 1) then 'Secure'
            else 'Complacent'
        end as segment
    from rules
)

select
    grading_date,
    customer_id,
    customer_name,
    customer_type,
    region,
    grade,
    segment,
    -- the rules that hold, in the vocabulary's order (empty unless At-risk)
    {%- set reason_lists = [] %}
    {%- for reason in var('risk_reasons') %}
        {%- do reason_lists.append('case when rule_' ~ reason ~ ' then ' ~ string_list(reason) ~ ' else ' ~ empty_list('varchar') ~ ' end') %}
    {%- endfor %}
    case when segment = 'At-risk' then
        {{ list_concat_sql(reason_lists) }}
    else {{ empty_list('varchar') }} end as risk_reasons,
    revenue_12m,
    revenue_prev_12m,
    revenue_12m - revenue_prev_12m as dollar_volume_change,
    case when revenue_prev_12m > 0 then
        (revenue_12m - revenue_prev_12m)::double / revenue_prev_12m::double
    end as dollar_volume_change_pct,
    purchase_occasions_12m,
    purchase_occasions_24m,
    purchase_occasions_12m >= 2 as repurchased,
    revenue_12m > 0 and revenue_prev_12m > 0 as retained,
    product_lines_12m,
    product_lines_total,
    second_product_date,
    third_product_date,
    referrals_12m,
    referrals_converted_12m,
    last_purchase_date,
    days_since_last_purchase,
    contacts_12m,
    dissatisfier_contacts_recent,
    contact_persons_12m,
    median_gap_days,
    margin_12m,
    margin_prev_12m,
    revenue_12m::double / nullif(potential_revenue, 0) as share_of_potential,
    potential_revenue
from segmented
