{{ config(materialized='table', pre_hook=[], partition_by=none, tags=['after_assignment']) }}
-- Backtest of the defection model (SPEC §14), rebuilt from the stored history on every run: for
-- every snapshot D whose outcome snapshot (the same month a horizon later) is published too, the
-- customers active at D (not Defectors), their predicted defection probability and health score
-- at D against whether they are Defectors at the outcome: the Brier score, the AUC of the
-- probability and of the health score (lower health, more defection), the lift of At-risk over
-- the other active customers, and the precision of the early-warning list's top decile.
{%- set horizon = var('backtest_horizon_months') | int %}
with snapshots as (
    select distinct as_of_date from {{ ref('customer_loyalty') }}
),

pairs as (
    select d.as_of_date, o.as_of_date as outcome_date
    from snapshots as d
    inner join snapshots as o
        on date_trunc('month', o.as_of_date) = date_trunc('month', d.as_of_date) + interval {{ horizon }} month
),

population as (
    select
        p.as_of_date,
        p.outcome_date,
        l.customer_id,
        l.segment,
        l.defection_probability as predicted,
        h.health_score,
        (o.segment = 'Defector')::integer as defected
    from pairs as p
    inner join {{ ref('customer_loyalty') }} as l on l.as_of_date = p.as_of_date and l.segment <> 'Defector'
    inner join {{ ref('customer_loyalty') }} as o
        on o.as_of_date = p.outcome_date and o.customer_id = l.customer_id
    left join {{ ref('customer_health') }} as h
        on h.as_of_date = p.as_of_date and h.customer_id = l.customer_id
),

ranked as (
    -- average ranks (ties share their mean rank) for the Mann-Whitney AUC
    select
        *,
        -- as DOUBLE, as DuckDB's bigint / 2.0 (Spark's is a DECIMAL)
        rank() over (partition by as_of_date order by predicted nulls last)
            + (count(*) over (partition by as_of_date, predicted) - 1)::double / 2.0 as predicted_rank
    from population
),

measured as (
    select
        as_of_date,
        any_value(outcome_date) as outcome_date,
        count(*) as customers,
        sum(defected)::bigint as defected_customers,
        {{ exact_sum('predicted') }} / count(*) as mean_predicted,
        {{ exact_sum('(predicted - defected) * (predicted - defected)') }} / count(*) as brier_score,
        {{ exact_sum('predicted_rank * defected') }} as predicted_rank_sum,
        avg(defected) filter (where segment = 'At-risk') as at_risk_defection_rate,
        avg(defected) filter (where segment <> 'At-risk') as other_defection_rate
    from ranked
    group by all
),

health_ranked as (
    -- the same for the health score, over the customers that have one (lower health: more risk)
    select
        as_of_date,
        defected,
        rank() over (partition by as_of_date order by -health_score nulls last)
            + (count(*) over (partition by as_of_date, health_score) - 1)::double / 2.0 as risk_rank
    from population
    where health_score is not null
),

health_measured as (
    select
        as_of_date,
        count(*) as customers,
        sum(defected)::bigint as defected_customers,
        {{ exact_sum('risk_rank * defected') }} as risk_rank_sum
    from health_ranked
    group by all
),

warnings as (
    -- the top decile of the early-warning list at D, and how many of them defected
    select
        w.as_of_date,
        count(*) as top_decile_customers,
        sum(p.defected) as top_decile_defected
    from {{ ref('early_warning') }} as w
    inner join population as p on p.as_of_date = w.as_of_date and p.customer_id = w.customer_id
    where w.warning_rank <= (
        select ceil(count(*) / 10.0) from {{ ref('early_warning') }} as x where x.as_of_date = w.as_of_date
    )
    group by all
)

select
    m.as_of_date,
    m.outcome_date,
    {{ horizon }} as horizon_months,
    m.customers,
    m.defected_customers,
    m.defected_customers::double / m.customers as realised_defection_rate,
    m.mean_predicted,
    m.brier_score,
    (m.predicted_rank_sum - m.defected_customers * (m.defected_customers + 1) / 2.0)
        / nullif(m.defected_customers * (m.customers - m.defected_customers), 0) as auc_probability,
    (h.risk_rank_sum - h.defected_customers * (h.defected_customers + 1) / 2.0)
        / nullif(h.defected_customers * (h.customers - h.defected_customers), 0) as auc_health,
    m.at_risk_defection_rate / nullif(m.other_defection_rate, 0) as at_risk_lift,
    coalesce(w.top_decile_customers, 0) as early_warning_top_decile,
    w.top_decile_defected::double / nullif(w.top_decile_customers, 0) as early_warning_top_decile_precision
from measured as m
left join health_measured as h using (as_of_date)
left join warnings as w using (as_of_date)
