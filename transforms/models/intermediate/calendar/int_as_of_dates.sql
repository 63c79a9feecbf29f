-- One row per snapshot month of the run (SPEC §3). D is the month's last day, except in the month
-- holding the latest loaded transaction, where D is that transaction's date. No month after the
-- latest transaction's month and none before the first transaction's month (no universe yet).
{%- set window = var('revenue_window_months') | int %}
with transactions as (
    -- of known customers: a transaction held for its customer dates nothing yet
    select
        min(r.transaction_date) as first_transaction_date,
        max(r.transaction_date) as latest_transaction_date
    from {{ source('raw', 'revenue') }} as r
    where exists (select 1 from {{ source('raw', 'customers') }} as c where c.customer_id = r.customer_id)
),

bounds as (
    select
        {{ run_month_from_sql() }} as first_month,
        {{ run_month_to_sql() }} as last_month,
        date_trunc('month', first_transaction_date)::date as first_transaction_month,
        date_trunc('month', latest_transaction_date)::date as latest_transaction_month,
        latest_transaction_date
    from transactions
),

months as (
    select
        {{ month_series('first_month', 'last_month') }} as as_of_month,
        first_transaction_month,
        latest_transaction_month,
        latest_transaction_date
    from bounds
    where first_month <= last_month
),

dates as (
    select
        as_of_month,
        case
            when as_of_month = latest_transaction_month then latest_transaction_date
            else last_day(as_of_month)
        end as as_of_date
    from months
    where as_of_month between first_transaction_month and latest_transaction_month
)

select
    as_of_month,
    as_of_date,
    (as_of_date - interval {{ window }} month)::date as window_start,
    (as_of_date - interval {{ 2 * window }} month)::date as prior_window_start,
    (as_of_date - interval {{ window }} month)::date as history_date
from dates
