{{ config(tags=['after_assignment']) }}
-- The distribution of account health per snapshot (SPEC §14), overall and per grade, manager and
-- loyalty segment: customers, mean and quartiles of the score, and customers per band.
with customers as (
    select h.*, coalesce(a.manager_id, 'unassigned') as manager_id
    from {{ ref('customer_health') }} as h
    -- ON, not USING: h.* keeps its own column order on every engine
    left join {{ ref('int_module_assignments') }} as a
        on a.as_of_date = h.as_of_date and a.customer_id = h.customer_id
    where h.as_of_date in (select as_of_date from {{ ref('int_as_of_dates') }})
)

select
    as_of_date,
    case
        when grouping(grade) = 0 then 'grade'
        when grouping(manager_id) = 0 then 'manager'
        when grouping(segment) = 0 then 'segment'
        else 'overall'
    end as dimension,
    coalesce(
        case when grouping(grade) = 0 then grade end,
        case when grouping(manager_id) = 0 then manager_id end,
        case when grouping(segment) = 0 then segment end,
        'all'
    ) as dimension_value,
    count(*) as customers,
    {{ exact_sum('health_score') }} / count(health_score) as mean_health_score,
    {{ quantile_cont_sql('health_score', 0.25) }} as health_score_p25,
    {{ quantile_cont_sql('health_score', 0.5) }} as health_score_median,
    {{ quantile_cont_sql('health_score', 0.75) }} as health_score_p75,
    {%- for band in var('health_bands') %}
    count(*) filter (where health_band = '{{ band }}') as {{ band }}_band_customers{{ ',' if not loop.last }}
    {%- endfor %}
from customers
group by grouping sets ((as_of_date), (as_of_date, grade), (as_of_date, manager_id), (as_of_date, segment))
