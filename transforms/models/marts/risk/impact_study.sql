-- The before/after impact study (SPEC §8), rebuilt from the stored snapshots on every run: with a
-- programme start date P, the baseline B is the last month end before P; every monthly snapshot
-- from B on is compared with B, for all customers and for the cohort active at B (which removes
-- the effect of customers acquired after B). Empty until P is configured.
{{ config(materialized='table', pre_hook=[], partition_by=none) }}
{%- set programme_start = var('programme_start_date') %}
with snapshots as (
    select as_of_date, customer_id, segment, revenue_12m, expected_loss
    from {{ ref('customer_loyalty') }}
    {%- if programme_start is none %}
    where false
    {%- endif %}
),

baseline as (
    select
        {%- if programme_start is none %}
        null::date as baseline_date
        {%- else %}
        (date_trunc('month', date '{{ programme_start }}') - interval 1 day)::date as baseline_date
        {%- endif %}
),

cohort as (
    select s.customer_id
    from snapshots as s
    inner join baseline as b on s.as_of_date = b.baseline_date
    where s.segment <> 'Defector'
),

populations as (
    -- columns listed: Spark would put the USING key first in s.*
    select 'all' as population, s.as_of_date, s.customer_id, s.segment, s.revenue_12m, s.expected_loss
    from snapshots as s
    union all
    select 'cohort' as population, s.as_of_date, s.customer_id, s.segment, s.revenue_12m, s.expected_loss
    from snapshots as s
    inner join cohort as c on c.customer_id = s.customer_id
),

measured as (
    select
        p.as_of_date,
        p.population,
        count(*) as customers,
        count(*) filter (where p.segment <> 'Defector') as active_customers,
        count(*) filter (where p.segment = 'At-risk') as at_risk_customers,
        count(*) filter (where p.segment = 'Defector') as defectors,
        coalesce(sum(p.revenue_12m) filter (where p.segment = 'At-risk'), 0)::decimal(18, 2)
            as at_risk_revenue,
        coalesce({{ exact_sum("p.expected_loss") }}, 0) as expected_loss  -- null for Defectors
    from populations as p
    inner join baseline as b on p.as_of_date >= b.baseline_date
    group by all
),

with_share as (
    select
        *,
        at_risk_customers / nullif(active_customers, 0) as at_risk_share
    from measured
)

select
    m.as_of_date,
    m.population,
    b.baseline_date,
    m.customers,
    m.active_customers,
    m.at_risk_customers,
    m.defectors,
    m.at_risk_share,
    m.at_risk_revenue,
    m.expected_loss,
    m.at_risk_share - base.at_risk_share as at_risk_share_change,
    (m.at_risk_share - base.at_risk_share) / nullif(base.at_risk_share, 0) as at_risk_share_change_pct,
    m.at_risk_revenue - base.at_risk_revenue as at_risk_revenue_change,
    -- as DOUBLE, as DuckDB's decimal / decimal (Spark's is a DECIMAL)
    (m.at_risk_revenue - base.at_risk_revenue)::double / nullif(base.at_risk_revenue, 0)::double
        as at_risk_revenue_change_pct,
    m.expected_loss - base.expected_loss as expected_loss_change,
    (m.expected_loss - base.expected_loss) / nullif(base.expected_loss, 0) as expected_loss_change_pct
from with_share as m
cross join baseline as b
-- a study needs its baseline snapshot: backfill from B's month first
inner join with_share as base
    on base.as_of_date = b.baseline_date and base.population = m.population
