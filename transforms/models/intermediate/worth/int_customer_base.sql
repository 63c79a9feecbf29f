-- The universe at each grading date G (SPEC §3): customers with at least one revenue row dated
-- <= G; their actual revenue in the trailing window (G - window, G] and their employees at G
-- (the latest count dated <= G).
with first_transactions as (
    select customer_id, min(transaction_date) as first_transaction_date
    from {{ ref('stg_revenue') }}
    group by customer_id
),

universe as (
    select g.grading_date, g.window_start, c.*
    from {{ ref('int_grading_dates') }} as g
    inner join first_transactions as f on f.first_transaction_date <= g.grading_date
    inner join {{ ref('stg_customers') }} as c on c.customer_id = f.customer_id
),

window_revenue as (
    select g.grading_date, r.customer_id, sum(r.amount) as actual_revenue
    from {{ ref('int_grading_dates') }} as g
    inner join {{ ref('stg_revenue') }} as r
        on r.transaction_date > g.window_start and r.transaction_date <= g.grading_date
    group by g.grading_date, r.customer_id
),

with_employees as (
    select u.*, e.employees
    from universe as u
    {{ asof_left_join('universe', 'u', ref('stg_employee_counts'), 'e', 'customer_id', 'grading_date', 'as_of_date') }}
)

select
    w.grading_date,
    w.customer_id,
    w.customer_name,
    w.customer_type,
    w.region,
    coalesce(v.actual_revenue, 0)::decimal(18, 2) as actual_revenue,
    w.employees,
    {{ size_band_lower('w.employees') }} as size_band_lower
from with_employees as w
left join window_revenue as v
    on v.grading_date = w.grading_date and v.customer_id = w.customer_id
