{{ config(tags=['after_assignment']) }}
-- The revenue bridge per snapshot and customer (SPEC §14): trailing-window revenue at the previous
-- month end (opening) and at the snapshot (closing), and how it moved: new (no revenue in the
-- opening window and none ever before), reactivated (none in the opening window, some before),
-- expansion, contraction, churned (revenue in the opening window, none now) or unchanged.
-- Customers with no revenue in either window are left out (they move nothing).
{%- set window = var('revenue_window_months') | int %}
with dates as (
    select
        as_of_date,
        (date_trunc('month', as_of_date) - interval 1 day)::date as opening_date,
        ((date_trunc('month', as_of_date) - interval 1 day) - interval {{ window }} month)::date
            as opening_window_start
    from {{ ref('int_as_of_dates') }}
),

opening as (
    select d.as_of_date, r.customer_id, sum(r.amount) as opening_revenue
    from dates as d
    inner join {{ ref('stg_revenue') }} as r
        on r.transaction_date > d.opening_window_start and r.transaction_date <= d.opening_date
    group by all
),

first_transactions as (
    select customer_id, min(transaction_date) as first_transaction_date
    from {{ ref('stg_revenue') }}
    group by all
),

customers as (
    select
        l.grading_date as as_of_date,
        l.customer_id,
        l.customer_type,
        l.grade,
        coalesce(a.manager_id, 'unassigned') as manager_id,
        d.opening_date,
        coalesce(o.opening_revenue, 0)::decimal(18, 2) as opening_revenue,
        l.revenue_12m as closing_revenue,
        f.first_transaction_date <= d.opening_date as had_revenue_before
    from dates as d
    inner join {{ ref('int_customer_loyalty') }} as l on l.grading_date = d.as_of_date
    inner join first_transactions as f on f.customer_id = l.customer_id
    left join opening as o on o.as_of_date = d.as_of_date and o.customer_id = l.customer_id
    left join {{ ref('int_module_assignments') }} as a
        on a.as_of_date = d.as_of_date and a.customer_id = l.customer_id
)

select
    as_of_date,
    customer_id,
    customer_type,
    grade,
    manager_id,
    opening_date,
    opening_revenue,
    closing_revenue,
    (closing_revenue - opening_revenue)::decimal(18, 2) as revenue_change,
    case
        when opening_revenue = 0 and not had_revenue_before then 'new'
        when opening_revenue = 0 then 'reactivated'
        when closing_revenue = 0 then 'churned'
        when closing_revenue > opening_revenue then 'expansion'
        when closing_revenue < opening_revenue then 'contraction'
        else 'unchanged'
    end as movement
from customers
where opening_revenue <> 0 or closing_revenue <> 0
