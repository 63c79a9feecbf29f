-- Worth and grade of every customer at every grading date (SPEC §4.3-§4.8), before the
-- achievement probability (which needs two grading dates, see int_achievement_rates).
with graded as (
    select
        b.*,
        {{ size_band_label('b.size_band_lower') }} as size_band,
        p.peer_group_level,
        p.peer_count,
        p.best_in_class_revenue_per_employee,
        b.employees * p.best_in_class_revenue_per_employee as potential_revenue
    from {{ ref('int_customer_base') }} as b
    left join {{ ref('int_peer_groups') }} as p
        on p.grading_date = b.grading_date
        and p.customer_type = b.customer_type
        and p.size_band_lower = b.size_band_lower
),

with_incremental as (
    select
        *,
        case
            when employees is null then 0.0
            else coalesce(greatest(potential_revenue - greatest(actual_revenue::double, 0), 0), 0)
        end as incremental_revenue
    from graded
),

ranked as (
    -- top share among customers with known employees; ties share the same value
    select
        grading_date,
        customer_id,
        cume_dist() over (
            partition by grading_date order by incremental_revenue desc nulls last
        ) as incremental_top_share
    from with_incremental
    where employees is not null
),

classed as (
    select
        w.*,
        r.incremental_top_share,
        {{ actual_class('w.actual_revenue') }} as actual_class,
        case
            when w.employees is null then 1
            else {{ incremental_class('r.incremental_top_share') }}
        end as incremental_class
    from with_incremental as w
    -- not USING: Spark would move the keys to the front of w.*
    left join ranked as r on r.grading_date = w.grading_date and r.customer_id = w.customer_id
)

select
    *,
    actual_class * 10 + incremental_class as worth_cell,
    {{ grade_of_cell('actual_class * 10 + incremental_class') }} as grade
from classed
