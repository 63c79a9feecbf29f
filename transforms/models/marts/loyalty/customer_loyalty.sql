-- Loyalty per snapshot and customer (SPEC §7): behaviour measures, the loyalty segment with the
-- at-risk rules that fired, and the defection probability of the segment learned from D0.
select
    d.as_of_date,
    l.customer_id,
    l.customer_name,
    l.customer_type,
    l.region,
    l.grade,
    l.segment,
    l.risk_reasons,
    r.defection_probability,
    case when l.segment <> 'Defector' then l.revenue_12m::double * r.defection_probability end
        as expected_loss,
    l.revenue_12m,
    l.revenue_prev_12m,
    l.dollar_volume_change,
    l.dollar_volume_change_pct,
    l.purchase_occasions_12m,
    l.repurchased,
    l.retained,
    l.product_lines_12m,
    l.product_lines_total,
    l.second_product_date,
    l.third_product_date,
    l.referrals_12m,
    l.referrals_converted_12m,
    l.last_purchase_date,
    l.days_since_last_purchase,
    l.contacts_12m,
    l.dissatisfier_contacts_recent,
    l.contact_persons_12m,
    l.purchase_occasions_24m,
    l.median_gap_days,
    l.margin_12m,
    l.margin_prev_12m,
    l.potential_revenue,
    l.share_of_potential
from {{ ref('int_as_of_dates') }} as d
inner join {{ ref('int_customer_loyalty') }} as l on l.grading_date = d.as_of_date
inner join {{ ref('int_defection_rates') }} as r
    on r.as_of_date = d.as_of_date and r.segment = l.segment
