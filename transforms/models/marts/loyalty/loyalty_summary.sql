-- Loyalty aggregates per snapshot (SPEC §7): retention, repurchase, net and gross revenue
-- retention, product penetration, referrals and customers per segment. One row per snapshot.
with loyalty as (
    select l.*, d.window_start
    from {{ ref('customer_loyalty') }} as l
    inner join {{ ref('int_as_of_dates') }} as d on d.as_of_date = l.as_of_date  -- ON: see l.*
),

per_as_of as (
    select
        as_of_date,
        count(*) as customers,
        count(*) filter (where segment <> 'Defector') as active_customers,
        {%- for s in var('segments') %}
        count(*) filter (where segment = '{{ s }}') as {{ s | lower | replace('-', '_') }}_customers,
        {%- endfor %}
        count(*) filter (where revenue_prev_12m > 0) as prior_window_customers,
        count(*) filter (where retained) as retained_customers,
        count(*) filter (where repurchased) as repurchased_customers,
        sum(revenue_12m) as revenue_12m,
        sum(revenue_prev_12m) as revenue_prev_12m,
        sum(revenue_12m) filter (where revenue_prev_12m > 0) as retained_cohort_revenue_12m,
        sum(revenue_prev_12m) filter (where revenue_prev_12m > 0) as retained_cohort_revenue_prev_12m,
        sum(greatest(least(revenue_12m, revenue_prev_12m), 0)) filter (where revenue_prev_12m > 0)
            as retained_cohort_capped_revenue_12m,
        count(*) filter (where segment <> 'Defector' and product_lines_12m >= 2)
            as active_customers_2plus_lines,
        count(*) filter (where segment <> 'Defector' and product_lines_12m >= 3)
            as active_customers_3plus_lines,
        count(*) filter (where second_product_date > window_start)
            as second_product_purchases_12m,
        count(*) filter (where third_product_date > window_start)
            as third_product_purchases_12m,
        coalesce(sum(referrals_12m), 0)::bigint as referrals_12m,
        coalesce(sum(referrals_converted_12m), 0)::bigint as referrals_converted_12m,
        count(*) filter (where referrals_12m > 0) as referring_customers_12m
    from loyalty
    group by all
)

select
    d.as_of_date,
    coalesce(p.customers, 0) as customers,
    coalesce(p.active_customers, 0) as active_customers,
    {%- for s in var('segments') %}
    {%- set column = (s | lower | replace('-', '_')) ~ '_customers' %}
    coalesce(p.{{ column }}, 0) as {{ column }},
    {%- endfor %}
    coalesce(p.prior_window_customers, 0) as prior_window_customers,
    coalesce(p.retained_customers, 0) as retained_customers,
    p.retained_customers::double / nullif(p.prior_window_customers, 0) as retention_rate,
    coalesce(p.repurchased_customers, 0) as repurchased_customers,
    p.repurchased_customers::double / nullif(p.active_customers, 0) as repurchase_rate,
    coalesce(p.revenue_12m, 0)::decimal(18, 2) as revenue_12m,
    coalesce(p.revenue_prev_12m, 0)::decimal(18, 2) as revenue_prev_12m,
    coalesce(p.retained_cohort_revenue_12m, 0)::decimal(18, 2) as retained_cohort_revenue_12m,
    coalesce(p.retained_cohort_revenue_prev_12m, 0)::decimal(18, 2) as retained_cohort_revenue_prev_12m,
    p.retained_cohort_revenue_12m::double / nullif(p.retained_cohort_revenue_prev_12m, 0)::double
        as net_revenue_retention,
    p.retained_cohort_capped_revenue_12m::double / nullif(p.retained_cohort_revenue_prev_12m, 0)::double
        as gross_revenue_retention,
    coalesce(p.active_customers_2plus_lines, 0) as active_customers_2plus_lines,
    coalesce(p.active_customers_3plus_lines, 0) as active_customers_3plus_lines,
    p.active_customers_2plus_lines::double / nullif(p.active_customers, 0) as share_2plus_product_lines,
    p.active_customers_3plus_lines::double / nullif(p.active_customers, 0) as share_3plus_product_lines,
    coalesce(p.second_product_purchases_12m, 0) as second_product_purchases_12m,
    coalesce(p.third_product_purchases_12m, 0) as third_product_purchases_12m,
    coalesce(p.referrals_12m, 0) as referrals_12m,
    coalesce(p.referrals_converted_12m, 0) as referrals_converted_12m,
    coalesce(p.referring_customers_12m, 0) as referring_customers_12m
from {{ ref('int_as_of_dates') }} as d
left join per_as_of as p using (as_of_date)
