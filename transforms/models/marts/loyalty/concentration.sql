-- Revenue concentration per snapshot (SPEC §9) over the active customers (not Defectors): total
-- revenue, the shares of the top 1, 5, 10 customers and of the top 20% of customers, the
-- Herfindahl-Hirschman index and the effective number of customers, and the customers holding
-- >= 10% of the revenue. A customer's revenue is its revenue_12m floored at 0 (a net credit has
-- no share of the business), so every share lies in [0, 1].
with active as (
    select
        as_of_date,
        customer_id,
        greatest(revenue_12m, 0)::decimal(18, 2) as revenue
    from {{ ref('customer_loyalty') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
      and segment <> 'Defector'
),

ranked as (
    select
        *,
        row_number() over (partition by as_of_date order by revenue desc nulls last, customer_id nulls last)
            as revenue_rank,
        count(*) over (partition by as_of_date) as active_customers,
        sum(revenue) over (partition by as_of_date) as total_revenue
    from active
),

measured as (
    select
        as_of_date,
        any_value(active_customers) as active_customers,
        any_value(total_revenue) as total_revenue,
        ceil(any_value(active_customers) * 0.2)::bigint as top_20pct_customers,
        sum(revenue) filter (where revenue_rank <= 1) as top_1_revenue,
        sum(revenue) filter (where revenue_rank <= 5) as top_5_revenue,
        sum(revenue) filter (where revenue_rank <= 10) as top_10_revenue,
        sum(revenue) filter (where revenue_rank <= ceil(active_customers * 0.2)) as top_20pct_revenue,
        {{ exact_sum("case when total_revenue > 0 then power(100.0 * revenue::double / total_revenue::double, 2) end") }}
            as hhi,
        count(*) filter (where total_revenue > 0 and revenue * 10 >= total_revenue)
            as customers_10pct_plus,
        coalesce(
            {{ ordered_list('customer_id', [('revenue_rank', 'asc')], 'total_revenue > 0 and revenue * 10 >= total_revenue') }},
            {{ empty_list('varchar') }}
        ) as customers_10pct_plus_ids,
        min(customer_id) filter (where revenue_rank = 1) as largest_customer_id
    from ranked
    group by as_of_date
)

select
    d.as_of_date,
    coalesce(m.active_customers, 0) as active_customers,
    coalesce(m.total_revenue, 0)::decimal(18, 2) as total_revenue,
    m.largest_customer_id,
    m.top_1_revenue::double / nullif(m.total_revenue, 0)::double as top_1_share,
    m.top_5_revenue::double / nullif(m.total_revenue, 0)::double as top_5_share,
    m.top_10_revenue::double / nullif(m.total_revenue, 0)::double as top_10_share,
    coalesce(m.top_20pct_customers, 0) as top_20pct_customers,
    m.top_20pct_revenue::double / nullif(m.total_revenue, 0)::double as top_20pct_share,
    case when m.total_revenue > 0 then m.hhi end as hhi,
    case when m.total_revenue > 0 then 10000.0 / m.hhi end as effective_customers,
    coalesce(m.customers_10pct_plus, 0) as customers_10pct_plus,
    coalesce(m.customers_10pct_plus_ids, {{ empty_list('varchar') }}) as customers_10pct_plus_ids
from {{ ref('int_as_of_dates') }} as d
left join measured as m using (as_of_date)
