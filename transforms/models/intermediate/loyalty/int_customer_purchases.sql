-- Purchases of every customer in the universe at every grading date G: revenue and margin in the
-- trailing window (G - window, G] and the prior one, purchase occasions, the median gap between
-- them and the last purchase. A purchase is a revenue row with amount > 0: occasions and the last
-- purchase count purchases only; revenue and margin sums include credit notes.
with revenue_days as {{ cte_materialized() }} (
    -- one row per customer and day: net amount and margin, whether the day holds a purchase;
    -- read by the windows and by the last purchase, so computed once
    select
        customer_id,
        transaction_date as day,
        sum(amount) as amount,
        sum(margin) as margin,
        bool_or(amount > 0) as purchased
    from {{ ref('stg_revenue') }}
    group by all
),

windowed as (
    -- both windows in one pass: (G - 2 x window, G]
    select
        d.grading_date,
        r.customer_id,
        sum(r.amount) filter (where r.day > d.window_start) as revenue_12m,
        sum(r.amount) filter (where r.day <= d.window_start) as revenue_prev_12m,
        sum(r.margin) filter (where r.day > d.window_start) as margin_12m,
        sum(r.margin) filter (where r.day <= d.window_start) as margin_prev_12m,
        count(*) filter (where r.purchased and r.day > d.window_start) as purchase_occasions_12m,
        count(*) filter (where r.purchased) as purchase_occasions_24m,
        -- the purchase days of both windows in order, for the gaps between them
        {{ sorted_day_list('r.day', 'r.purchased') }} as purchase_days_24m,
        max(r.day) filter (where r.purchased) as last_purchase_24m
    from {{ ref('int_grading_dates') }} as d
    inner join revenue_days as r
        on r.day > d.prior_window_start and r.day <= d.grading_date
    group by all
),

median_gaps as (
    -- the median gap between consecutive purchase days of both windows (the mean of the two
    -- middle gaps when their number is even), from each customer's sorted list of days: lists of
    -- a few dozen days per customer instead of windows sorting every purchase day and every gap
    select
        grading_date,
        customer_id,
        {{ median_gap_days('purchase_days_24m') }} as median_gap
    from windowed
    where {{ list_length('purchase_days_24m') }} >= 2
),

lapsed as (
    -- customers without a purchase in both windows: their last purchase, if any, is older
    select u.grading_date, u.customer_id
    from {{ ref('int_customer_grading') }} as u
    left join windowed as w using (grading_date, customer_id)
    where w.last_purchase_24m is null
),

lapsed_purchases as (
    -- an as-of join sorts its right side: only the purchase days of those customers (at 1M
    -- customers it sorted all 24M purchase days for every customer, 15-21 s)
    select customer_id, day
    from revenue_days
    where purchased and customer_id in (select customer_id from lapsed)
),

last_purchases as (
    -- the last purchase on or before G of a lapsed customer; the others' is in `windowed`
    select l.grading_date, l.customer_id, p.day as last_purchase_date
    from lapsed as l
    {{ asof_left_join('lapsed', 'l', 'lapsed_purchases', 'p', 'customer_id', 'grading_date', 'day') }}
)

select
    u.grading_date,
    u.customer_id,
    coalesce(w.revenue_12m, 0)::decimal(18, 2) as revenue_12m,
    coalesce(w.revenue_prev_12m, 0)::decimal(18, 2) as revenue_prev_12m,
    w.margin_12m::decimal(18, 2) as margin_12m,
    w.margin_prev_12m::decimal(18, 2) as margin_prev_12m,
    coalesce(w.purchase_occasions_12m, 0) as purchase_occasions_12m,
    coalesce(w.purchase_occasions_24m, 0) as purchase_occasions_24m,
    -- a rhythm needs at least three purchase occasions
    case when coalesce(w.purchase_occasions_24m, 0) >= 3 then mg.median_gap end as median_gap_days,
    coalesce(w.last_purchase_24m, lp.last_purchase_date) as last_purchase_date,
    {{ days_between('u.grading_date', 'coalesce(w.last_purchase_24m, lp.last_purchase_date)') }}::integer
        as days_since_last_purchase
from {{ ref('int_customer_grading') }} as u
left join windowed as w using (grading_date, customer_id)
left join median_gaps as mg using (grading_date, customer_id)
left join last_purchases as lp using (grading_date, customer_id)
