-- Referrals made by every customer in the universe at every grading date G, in the trailing window
-- (G - window, G]; a referral is converted when the referred customer is in the universe at G
-- (has a revenue row dated <= G).
with referrals_window as (
    select
        d.grading_date,
        r.referrer_customer_id as customer_id,
        count(*) as referrals_12m,
        count(u.customer_id) as referrals_converted_12m
    from {{ ref('int_grading_dates') }} as d
    inner join {{ ref('stg_referrals') }} as r
        on r.referral_date > d.window_start and r.referral_date <= d.grading_date
    left join {{ ref('int_customer_grading') }} as u
        on u.grading_date = d.grading_date and u.customer_id = r.referred_customer_id
    group by all
)

select
    u.grading_date,
    u.customer_id,
    coalesce(rw.referrals_12m, 0) as referrals_12m,
    coalesce(rw.referrals_converted_12m, 0) as referrals_converted_12m
from {{ ref('int_customer_grading') }} as u
left join referrals_window as rw using (grading_date, customer_id)
