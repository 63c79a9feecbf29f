-- Best in class per grading date and peer group (customer_type, size band) (SPEC §4.3). Peers are
-- customers with actual revenue > 0 and known employees; the statistic runs over actual /
-- employees. Fewer than bic_min_peers peers: fall back to the customer_type, then to all.
{%- set min_peers = var('bic_min_peers') | int %}
with base as (
    select * from {{ ref('int_customer_base') }} where employees is not null
),

peers as (
    select *, actual_revenue::double / employees as revenue_per_employee
    from base
    where actual_revenue > 0
),

groups as (
    select grading_date, customer_type, size_band_lower, count(*) as customers
    from base
    group by all
),

by_group as (
    select
        grading_date, customer_type, size_band_lower,
        count(*) as peers,
        {{ best_in_class_statistic('revenue_per_employee') }} as statistic
    from peers
    group by all
),

by_type as (
    select
        grading_date, customer_type,
        count(*) as peers,
        {{ best_in_class_statistic('revenue_per_employee') }} as statistic
    from peers
    group by all
),

by_all as (
    select
        grading_date,
        count(*) as peers,
        {{ best_in_class_statistic('revenue_per_employee') }} as statistic
    from peers
    group by all
),

levels as (
    select
        g.grading_date,
        g.customer_type,
        g.size_band_lower,
        g.customers,
        coalesce(bg.peers, 0) as group_peers,
        bg.statistic as group_statistic,
        coalesce(bt.peers, 0) as type_peers,
        bt.statistic as type_statistic,
        coalesce(ba.peers, 0) as all_peers,
        ba.statistic as all_statistic
    from groups as g
    left join by_group as bg using (grading_date, customer_type, size_band_lower)
    left join by_type as bt using (grading_date, customer_type)
    left join by_all as ba using (grading_date)
)

select
    grading_date,
    customer_type,
    size_band_lower,
    {{ size_band_label('size_band_lower') }} as size_band,
    customers,
    group_peers,
    group_statistic,
    case
        when group_peers >= {{ min_peers }} then 'peer_group'
        when type_peers >= {{ min_peers }} then 'customer_type'
        else 'all'
    end as peer_group_level,
    case
        when group_peers >= {{ min_peers }} then group_peers
        when type_peers >= {{ min_peers }} then type_peers
        else all_peers
    end as peer_count,
    case
        when group_peers >= {{ min_peers }} then group_statistic
        when type_peers >= {{ min_peers }} then type_statistic
        else all_statistic
    end as best_in_class_revenue_per_employee
from levels
