-- Customer worth and grade per snapshot (SPEC §4).
select
    g.grading_date as as_of_date,
    g.customer_id,
    g.customer_name,
    g.customer_type,
    g.region,
    g.employees,
    g.size_band,
    g.peer_group_level,
    g.peer_count,
    g.best_in_class_revenue_per_employee,
    g.actual_revenue,
    g.potential_revenue,
    g.incremental_revenue,
    a.achievement_probability,
    g.incremental_revenue * a.achievement_probability as expected_incremental_revenue,
    g.actual_class,
    g.incremental_class,
    g.incremental_top_share,
    g.worth_cell,
    g.grade
from {{ ref('int_as_of_dates') }} as d
inner join {{ ref('int_customer_grading') }} as g on g.grading_date = d.as_of_date
inner join {{ ref('int_achievement_rates') }} as a
    on a.as_of_date = d.as_of_date and a.incremental_class = g.incremental_class
