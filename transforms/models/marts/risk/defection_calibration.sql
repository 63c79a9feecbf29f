{{ config(materialized='table', pre_hook=[], partition_by=none) }}
-- Calibration of the defection probability (SPEC §14), rebuilt from the stored history on every
-- run: for every snapshot D whose outcome snapshot (the same month a horizon later) is published,
-- the customers active at D grouped by loyalty segment and by decile of predicted probability:
-- customers, mean predicted probability, and the share that are Defectors at the outcome.
{%- set horizon = var('backtest_horizon_months') | int %}
with snapshots as (
    select distinct as_of_date from {{ ref('customer_loyalty') }}
),

population as (
    select
        d.as_of_date,
        o.as_of_date as outcome_date,
        l.customer_id,
        l.segment,
        l.defection_probability as predicted,
        (o.segment = 'Defector')::integer as defected,
        ntile(10) over (
            partition by d.as_of_date order by l.defection_probability nulls last, l.customer_id nulls last
        ) as decile
    from snapshots as d
    inner join snapshots as s
        on date_trunc('month', s.as_of_date) = date_trunc('month', d.as_of_date) + interval {{ horizon }} month
    inner join {{ ref('customer_loyalty') }} as l on l.as_of_date = d.as_of_date and l.segment <> 'Defector'
    inner join {{ ref('customer_loyalty') }} as o on o.as_of_date = s.as_of_date and o.customer_id = l.customer_id
),

grouped as (
    select as_of_date, outcome_date, 'segment' as breakdown, segment as bucket, predicted, defected
    from population
    union all
    select as_of_date, outcome_date, 'decile' as breakdown, lpad(decile::string, 2, '0'), predicted, defected
    from population
)

select
    as_of_date,
    any_value(outcome_date) as outcome_date,
    breakdown,
    bucket,
    count(*) as customers,
    {{ exact_sum('predicted') }} / count(*) as mean_predicted,
    sum(defected)::bigint as defected_customers,
    sum(defected)::double / count(*) as realised_defection_rate
from grouped
group by as_of_date, breakdown, bucket
