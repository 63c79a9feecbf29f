-- Contacts of every customer in the universe at every grading date G: contacts, distinct people
-- reached and contacts with a dissatisfier or a satisfier reason code in the trailing window
-- (G - window, G], and dissatisfier contacts in the recent window (G - dissatisfier window, G]
-- that the at-risk rule reads.
{%- set dissatisfier_days = var('at_risk_dissatisfier_window_days') | int %}
with dates as (
    select
        grading_date,
        window_start,
        (grading_date - interval {{ dissatisfier_days }} day)::date as dissatisfier_start
    from {{ ref('int_grading_dates') }}
),

contacts_window as (
    -- straight from the contacts: few share a customer and a day, so grouping them to
    -- customer-days first (over all history) cost more than it saved (23.8M -> 23.1M rows at 1M
    -- customers, 6.8 s)
    select
        d.grading_date,
        c.customer_id,
        count(*) filter (where c.contact_day > d.window_start) as contacts_12m,
        count(*) filter (where c.contact_day > d.dissatisfier_start and {{ is_dissatisfier('c.reason_code') }})
            as dissatisfier_contacts_recent,
        count(*) filter (where c.contact_day > d.window_start and {{ is_dissatisfier('c.reason_code') }})
            as dissatisfier_contacts_12m,
        count(*) filter (where c.contact_day > d.window_start and {{ is_satisfier('c.reason_code') }})
            as satisfier_contacts_12m
    from dates as d
    inner join {{ ref('stg_contacts') }} as c
        on c.contact_day > least(d.window_start, d.dissatisfier_start) and c.contact_day <= d.grading_date
    group by all
),

persons_window as (
    select grading_date, customer_id, count(*) as contact_persons_12m
    from (
        select d.grading_date, c.customer_id, c.contact_person
        from dates as d
        inner join {{ ref('stg_contacts') }} as c
            on c.contact_day > d.window_start and c.contact_day <= d.grading_date
        where c.contact_person is not null
        group by all
    )
    group by all
)

select
    u.grading_date,
    u.customer_id,
    coalesce(cw.contacts_12m, 0)::bigint as contacts_12m,
    coalesce(cw.dissatisfier_contacts_recent, 0)::bigint as dissatisfier_contacts_recent,
    coalesce(cw.dissatisfier_contacts_12m, 0)::bigint as dissatisfier_contacts_12m,
    coalesce(cw.satisfier_contacts_12m, 0)::bigint as satisfier_contacts_12m,
    coalesce(pw.contact_persons_12m, 0) as contact_persons_12m
from {{ ref('int_customer_grading') }} as u
left join contacts_window as cw using (grading_date, customer_id)
left join persons_window as pw using (grading_date, customer_id)
