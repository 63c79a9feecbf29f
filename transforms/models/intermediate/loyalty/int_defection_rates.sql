-- Defection probability per snapshot D and loyalty segment (SPEC §7), learned like the achievement
-- probability (§4.5) from the history date D0 = D - window: of the customers in segment s at D0
-- (not already Defectors), the share that are Defectors at D, shrunk to the segment's prior:
-- p_s = (defected_s + weight x prior_s) / (n_s + weight). Defectors have probability 1.
{%- set weight = (var('defection_weight') | float | string) ~ '::double' %}
with outcomes as (
    select
        d.as_of_date,
        h.segment,
        c.segment = 'Defector' as defected
    from {{ ref('int_as_of_dates') }} as d
    inner join {{ ref('int_customer_loyalty') }} as h on h.grading_date = d.history_date
    inner join {{ ref('int_customer_loyalty') }} as c
        on c.grading_date = d.as_of_date and c.customer_id = h.customer_id
    where h.segment <> 'Defector'
),

segments as (
    select d.as_of_date, d.history_date, s.segment
    from {{ ref('int_as_of_dates') }} as d
    cross join (
        select * from (values
        {%- for s in var('segments') %}
            ('{{ s }}'){{ ',' if not loop.last }}
        {%- endfor %}
        ) as t(segment)
    ) as s
),

per_segment as (
    select
        as_of_date,
        segment,
        count(*) as customers,
        count(*) filter (where defected) as defected
    from outcomes
    group by all
)

select
    s.as_of_date,
    s.history_date,
    s.segment,
    coalesce(p.customers, 0) as history_customers,
    coalesce(p.defected, 0) as defected_customers,
    {{ defection_prior('s.segment') }} as defection_prior,
    case
        when s.segment = 'Defector' then 1.0::double
        else {{ shrunk_rate('p.defected', 'p.customers', weight, defection_prior('s.segment')) }}
    end as defection_probability
from segments as s
left join per_segment as p using (as_of_date, segment)
