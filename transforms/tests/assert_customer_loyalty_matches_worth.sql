{{ config(meta={'dagster': {'ref': {'name': 'customer_loyalty'}}}) }}
-- At every snapshot of the run, customer_loyalty holds exactly the graded customers of
-- customer_worth (the same universe), with revenue_12m equal to the worth's actual revenue.
with loyalty as (
    select as_of_date, customer_id, revenue_12m
    from {{ ref('customer_loyalty') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
),

worth as (
    select as_of_date, customer_id, actual_revenue
    from {{ ref('customer_worth') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
)

select coalesce(l.as_of_date, w.as_of_date) as as_of_date,
    coalesce(l.customer_id, w.customer_id) as customer_id
from loyalty as l
full join worth as w on w.as_of_date = l.as_of_date and w.customer_id = l.customer_id
where l.customer_id is null or w.customer_id is null or l.revenue_12m <> w.actual_revenue
