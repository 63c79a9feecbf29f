-- Achievement probability per snapshot D and incremental class c (SPEC §4.5), learned from the
-- history date D0 = D - window: over customers graded at both dates with incremental(D0) > 0,
-- r = clamp((actual(D) - actual(D0)) / incremental(D0), 0, 1);
-- p_c = (sum r + weight * prior) / (n_c + weight), with c the class at D0.
{%- set prior = (var('achievement_prior') | float | string) ~ '::double' %}
{%- set weight = (var('achievement_weight') | float | string) ~ '::double' %}
with outcomes as (
    select
        d.as_of_date,
        h.incremental_class,
        least(greatest(
            (g.actual_revenue - h.actual_revenue)::double / h.incremental_revenue, 0), 1
        ) as achieved_share
    from {{ ref('int_as_of_dates') }} as d
    inner join {{ ref('int_customer_grading') }} as h on h.grading_date = d.history_date
    inner join {{ ref('int_customer_grading') }} as g
        on g.grading_date = d.as_of_date and g.customer_id = h.customer_id
    where h.incremental_revenue > 0
),

classes as (
    select d.as_of_date, d.history_date, c.incremental_class
    from {{ ref('int_as_of_dates') }} as d
    cross join {{ integer_values('incremental_class', 1, 5) }} as c
),

per_class as (
    select as_of_date, incremental_class, count(*) as customers, {{ exact_sum("achieved_share") }} as achieved
    from outcomes
    group by all
)

select
    c.as_of_date,
    c.history_date,
    c.incremental_class,
    coalesce(p.customers, 0) as history_customers,
    coalesce(p.achieved, 0) as achieved_share_sum,
    {{ shrunk_rate('p.achieved', 'p.customers', weight, prior) }} as achievement_probability
from classes as c
left join per_class as p using (as_of_date, incremental_class)
