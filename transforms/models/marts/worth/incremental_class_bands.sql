-- Incremental-revenue class bands per snapshot (SPEC §4.9): target share, realised share and the
-- incremental revenue range of each class. Shares are over customers with known employees (the
-- customers ranked); customers with unknown employees sit in class 1 and are counted apart.
with ranked as (
    select *
    from {{ ref('customer_worth') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
),

per_class as (
    select
        as_of_date,
        incremental_class,
        count(*) filter (where employees is not null) as customers,
        count(*) filter (where employees is null) as customers_unknown_employees,
        min(incremental_revenue) filter (where employees is not null) as min_incremental_revenue,
        max(incremental_revenue) filter (where employees is not null) as max_incremental_revenue,
        {{ exact_sum("incremental_revenue") }} as incremental_revenue
    from ranked
    group by all
),

totals as (
    select as_of_date, count(*) filter (where employees is not null) as ranked_customers
    from ranked
    group by all
),

classes as (
    select d.as_of_date, c.incremental_class
    from {{ ref('int_as_of_dates') }} as d
    cross join {{ integer_values('incremental_class', 1, 5) }} as c
)

select
    c.as_of_date,
    c.incremental_class,
    {{ incremental_class_target_share('c.incremental_class') }} as target_share,
    coalesce(p.customers, 0)::double / nullif(t.ranked_customers, 0) as realised_share,
    coalesce(p.customers, 0) as customers,
    coalesce(p.customers_unknown_employees, 0) as customers_unknown_employees,
    p.min_incremental_revenue,
    p.max_incremental_revenue,
    coalesce(p.incremental_revenue, 0.0) as incremental_revenue
from classes as c
left join per_class as p using (as_of_date, incremental_class)
left join totals as t using (as_of_date)
