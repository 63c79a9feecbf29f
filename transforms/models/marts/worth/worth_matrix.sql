-- The 5 x 5 worth matrix per snapshot (SPEC §4.9): every cell, even when empty.
with cells as (
    select
        d.as_of_date,
        a.actual_class,
        i.incremental_class,
        a.actual_class * 10 + i.incremental_class as worth_cell
    from {{ ref('int_as_of_dates') }} as d
    cross join {{ integer_values('actual_class', 1, 5) }} as a
    cross join {{ integer_values('incremental_class', 1, 5) }} as i
),

filled as (
    select
        as_of_date,
        worth_cell,
        count(*) as customers,
        sum(actual_revenue) as actual_revenue,
        {{ exact_sum("incremental_revenue") }} as incremental_revenue
    from {{ ref('customer_worth') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
    group by all
)

select
    c.as_of_date,
    c.actual_class,
    c.incremental_class,
    c.worth_cell,
    {{ grade_of_cell('c.worth_cell') }} as grade,
    coalesce(f.customers, 0) as customers,
    coalesce(f.actual_revenue, 0)::decimal(18, 2) as actual_revenue,
    coalesce(f.incremental_revenue, 0.0) as incremental_revenue
from cells as c
left join filled as f using (as_of_date, worth_cell)
