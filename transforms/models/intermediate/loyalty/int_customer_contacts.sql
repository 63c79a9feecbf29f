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

contact_days as (
    select
        customer_id,
        contact_day as day,
        count(*) as contacts,
        count(*) filter (where {{ is_dissatisfier('reason_code') }}) as dissatisfier_contacts,
        count(*) filter (where {{ is_satisfier('reason_code') }}) as satisfier_contacts
    from {{ ref('stg_contacts') }}
    group by all
),

contacts_window as (
    select
        d.grading_date,
        c.customer_id,
        coalesce(sum(c.contacts) filter (where c.day > d.window_start), 0) as contacts_12m,
        coalesce(sum(c.dissatisfier_contacts) filter (where c.day > d.dissatisfier_start), 0)
            as dissatisfier_contacts_recent,
        coalesce(sum(c.dissatisfier_contacts) filter (where c.day > d.window_start), 0)
            as dissatisfier_contacts_12m,
        coalesce(sum(c.satisfier_contacts) filter (where c.day > d.window_start), 0)
            as satisfier_contacts_12m
    from dates as d
    inner join contact_days as c
        on c.day > least(d.window_start, d.dissatisfier_start) and c.day <= d.grading_date
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
