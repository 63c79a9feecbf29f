{{ config(tags=['after_assignment']) }}
-- Early warning per snapshot D (SPEC §10): the At-risk customers ranked by expected loss
-- (revenue_12m x defection_probability; ties: higher revenue first, then customer_id), with their
-- manager at D, grade, the at-risk rules that fired and their last three dissatisfier contacts,
-- so a manager knows whom to call first.
with at_risk as (
    select *
    from {{ ref('customer_loyalty') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
      and segment = 'At-risk'
),

dissatisfiers as (
    select
        a.as_of_date,
        a.customer_id,
        {{ list_slice_sql(ordered_list(
            struct_pack([('contact_date', 'c.contact_day'), ('reason_code', 'c.reason_code')]),
            [('c.contact_date', 'desc'), ('c.contact_id', 'desc')]
        ), 1, 3) }} as last_dissatisfier_contacts,
        max(c.contact_day) as last_dissatisfier_date
    from at_risk as a
    inner join {{ ref('stg_contacts') }} as c
        on c.customer_id = a.customer_id and c.contact_day <= a.as_of_date
    where {{ is_dissatisfier('c.reason_code') }}
    group by all
)

select
    a.as_of_date,
    -- BIGINT: Spark's row_number is INT
    (row_number() over (
        partition by a.as_of_date
        order by a.expected_loss desc nulls last, a.revenue_12m desc nulls last, a.customer_id nulls last
    ))::bigint as warning_rank,
    a.customer_id,
    a.customer_name,
    m.manager_id,
    m.manager_name,
    a.grade,
    a.customer_type,
    a.region,
    a.expected_loss,
    a.revenue_12m,
    a.revenue_prev_12m,
    a.defection_probability,
    a.risk_reasons,
    a.days_since_last_purchase,
    a.median_gap_days,
    a.dissatisfier_contacts_recent,
    d.last_dissatisfier_date,
    coalesce(
        d.last_dissatisfier_contacts,
        {{ empty_list('struct(contact_date date, reason_code varchar)') }}
    ) as last_dissatisfier_contacts
from at_risk as a
left join dissatisfiers as d using (as_of_date, customer_id)
left join {{ ref('int_module_assignments') }} as m using (as_of_date, customer_id)
