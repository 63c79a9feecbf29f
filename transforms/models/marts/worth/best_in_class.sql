-- Best in class per snapshot and peer group (SPEC §4.3).
select
    p.grading_date as as_of_date,
    p.customer_type,
    p.size_band,
    p.size_band_lower,
    p.customers,
    p.group_peers,
    p.group_statistic,
    p.peer_group_level,
    p.peer_count,
    p.best_in_class_revenue_per_employee
from {{ ref('int_as_of_dates') }} as d
inner join {{ ref('int_peer_groups') }} as p on p.grading_date = d.as_of_date
