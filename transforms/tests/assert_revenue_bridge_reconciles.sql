{{ config(tags=['after_assignment'], meta={'dagster': {'ref': {'name': 'revenue_bridge'}}}) }}
-- The revenue bridge reconciles (SPEC §14): for every snapshot of the run and every group, the
-- opening revenue plus every movement's flow equals the closing revenue, exactly (DECIMAL), and
-- the overall row equals the sum over the customers.
with customers as (
    select as_of_date, sum(opening_revenue) as opening_revenue, sum(closing_revenue) as closing_revenue
    from {{ ref('customer_revenue_bridge') }}
    where as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
    group by all
)

select b.as_of_date, b.dimension, b.dimension_value
from {{ ref('revenue_bridge') }} as b
left join customers as c
    on c.as_of_date = b.as_of_date and b.dimension = 'overall'
where b.as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
  and (
    b.opening_revenue
    {%- for movement in var('bridge_movements') %} + b.{{ movement }}_revenue{% endfor %}
        <> b.closing_revenue
    or (b.dimension = 'overall'
        and (c.as_of_date is null or c.opening_revenue <> b.opening_revenue
             or c.closing_revenue <> b.closing_revenue))
  )
