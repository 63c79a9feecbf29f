{{ config(tags=['after_assignment']) }}
-- The revenue bridge per snapshot (SPEC §14), overall and per grade, manager and customer type:
-- the opening trailing-window revenue, the flows of each movement (contraction and churn
-- negative), and the closing revenue; opening + the flows = closing, exactly.
with customers as (
    select *
    from {{ ref('customer_revenue_bridge') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
)

select
    as_of_date,
    case
        when grouping(grade) = 0 then 'grade'
        when grouping(manager_id) = 0 then 'manager'
        when grouping(customer_type) = 0 then 'customer_type'
        else 'overall'
    end as dimension,
    coalesce(
        case when grouping(grade) = 0 then grade end,
        case when grouping(manager_id) = 0 then manager_id end,
        case when grouping(customer_type) = 0 then customer_type end,
        'all'
    ) as dimension_value,
    sum(opening_revenue)::decimal(18, 2) as opening_revenue,
    {%- for movement in var('bridge_movements') %}
    coalesce(sum(revenue_change) filter (where movement = '{{ movement }}'), 0)::decimal(18, 2)
        as {{ movement }}_revenue,
    count(*) filter (where movement = '{{ movement }}') as {{ movement }}_customers,
    {%- endfor %}
    sum(closing_revenue)::decimal(18, 2) as closing_revenue
from customers
group by grouping sets ((as_of_date), (as_of_date, grade), (as_of_date, manager_id), (as_of_date, customer_type))
