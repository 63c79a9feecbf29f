{{ config(tags=['after_assignment']) }}
-- Account-manager scorecard per snapshot D (SPEC §11), over the module assigned at D: accounts by
-- grade, revenue and margin in the window against the prior window (for the same customers),
-- product lines per customer, the contacts the manager made to the module's customers in the
-- window against the planned contacts (coverage), retention, revenue at risk and referrals.
-- Managers active at D without any account appear with zeros (as in `modules`).
{%- set window = var('revenue_window_months') | int %}
with modules as (
    select *
    from {{ ref('modules') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
),

module_customers as (
    select a.manager_id, l.*
    from {{ ref('int_module_assignments') }} as a
    -- ON, not USING: l.* keeps its own column order on every engine
    inner join {{ ref('customer_loyalty') }} as l
        on l.as_of_date = a.as_of_date and l.customer_id = a.customer_id
),

contacts_made as (
    select a.as_of_date, a.manager_id, count(*) as contacts_made_12m
    from {{ ref('int_module_assignments') }} as a
    -- not USING: Spark cannot resolve d.as_of_date after it
    inner join {{ ref('int_as_of_dates') }} as d on d.as_of_date = a.as_of_date
    inner join {{ ref('stg_contacts') }} as c
        on c.customer_id = a.customer_id and c.manager_id = a.manager_id
        and c.contact_day > d.window_start and c.contact_day <= d.as_of_date
    group by all
),

per_manager as (
    select
        as_of_date,
        manager_id,
        sum(revenue_12m) as revenue_12m,
        sum(revenue_prev_12m) as revenue_prev_12m,
        sum(margin_12m) as margin_12m,
        sum(margin_prev_12m) as margin_prev_12m,
        avg(product_lines_12m) as product_lines_per_customer,
        sum(contacts_12m)::bigint as module_contacts_12m,
        count(*) filter (where revenue_prev_12m > 0) as prior_window_customers,
        count(*) filter (where retained) as retained_customers,
        count(*) filter (where segment <> 'Defector') as active_customers,
        count(*) filter (where segment = 'At-risk') as at_risk_customers,
        count(*) filter (where segment = 'Defector') as defectors,
        sum(revenue_12m) filter (where segment = 'At-risk') as at_risk_revenue,
        {{ exact_sum("case when segment <> 'Defector' then revenue_12m::double * defection_probability end") }}
            as expected_loss,
        sum(referrals_12m)::bigint as referrals_12m,
        sum(referrals_converted_12m)::bigint as referrals_converted_12m
    from module_customers
    group by all
)

select
    m.as_of_date,
    m.manager_id,
    m.manager_name,
    m.accounts,
    {%- for g in var('grades') %}
    m.accounts_{{ g | lower }},
    {%- endfor %}
    coalesce(p.revenue_12m, 0)::decimal(18, 2) as revenue_12m,
    coalesce(p.revenue_prev_12m, 0)::decimal(18, 2) as revenue_prev_12m,
    (coalesce(p.revenue_12m, 0) - coalesce(p.revenue_prev_12m, 0))::decimal(18, 2) as revenue_change,
    case when p.revenue_prev_12m > 0 then
        (p.revenue_12m - p.revenue_prev_12m)::double / p.revenue_prev_12m::double
    end as revenue_change_pct,
    p.margin_12m::decimal(18, 2) as margin_12m,
    p.margin_prev_12m::decimal(18, 2) as margin_prev_12m,
    (p.margin_12m - p.margin_prev_12m)::decimal(18, 2) as margin_change,
    case when p.margin_prev_12m > 0 then
        (p.margin_12m - p.margin_prev_12m)::double / p.margin_prev_12m::double
    end as margin_change_pct,
    p.product_lines_per_customer,
    coalesce(c.contacts_made_12m, 0) as contacts_made_12m,
    coalesce(p.module_contacts_12m, 0) as module_contacts_12m,
    m.planned_contacts * {{ window }} / 12.0 as planned_contacts,
    coalesce(c.contacts_made_12m, 0) / nullif(m.planned_contacts * {{ window }} / 12.0, 0)
        as contact_coverage,
    coalesce(p.prior_window_customers, 0) as prior_window_customers,
    coalesce(p.retained_customers, 0) as retained_customers,
    p.retained_customers::double / nullif(p.prior_window_customers, 0) as retention_rate,
    coalesce(p.active_customers, 0) as active_customers,
    coalesce(p.at_risk_customers, 0) as at_risk_customers,
    coalesce(p.defectors, 0) as defectors,
    p.at_risk_customers::double / nullif(p.active_customers, 0) as at_risk_share,
    coalesce(p.at_risk_revenue, 0)::decimal(18, 2) as at_risk_revenue,
    coalesce(p.expected_loss, 0.0) as expected_loss,
    coalesce(p.referrals_12m, 0) as referrals_12m,
    coalesce(p.referrals_converted_12m, 0) as referrals_converted_12m
from modules as m
left join per_manager as p using (as_of_date, manager_id)
left join contacts_made as c using (as_of_date, manager_id)
