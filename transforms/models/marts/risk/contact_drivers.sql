-- Contact drivers per snapshot D (SPEC §10): which contact reason codes and media precede
-- defection. Population: the customers active (not Defector) at D0 = D - window. A customer "had
-- such a contact" when a contact with that reason code / medium is dated in D0's trailing window
-- (D0 - window, D0] (= D's prior window), i.e. before the state it predicts; the outcome is being
-- At-risk or a Defector at D. lift = the outcome share among the customers with the contact / the
-- outcome share over the whole population.
with dates as (
    select d.as_of_date, d.history_date, g.window_start as driver_window_start
    from {{ ref('int_as_of_dates') }} as d
    inner join {{ ref('int_grading_dates') }} as g on g.grading_date = d.history_date
),

population as (
    select
        d.as_of_date,
        h.customer_id,
        c.segment in ('At-risk', 'Defector') as at_risk_at_d
    from dates as d
    inner join {{ ref('int_customer_loyalty') }} as h
        on h.grading_date = d.history_date and h.segment <> 'Defector'
    inner join {{ ref('int_customer_loyalty') }} as c
        on c.grading_date = d.as_of_date and c.customer_id = h.customer_id
),

baseline as (
    select
        as_of_date,
        count(*) as population_customers,
        count(*) filter (where at_risk_at_d) as population_at_risk
    from population
    group by all
),

window_contacts as {{ cte_materialized() }} (
    select d.as_of_date, c.customer_id, c.reason_code, c.medium
    from dates as d
    inner join {{ ref('stg_contacts') }} as c
        on c.contact_day > d.driver_window_start and c.contact_day <= d.history_date
    group by all
),

drivers as (
    -- one row per snapshot, driver and customer (deduplicated by the group-bys)
    select as_of_date, 'reason_code' as driver_type, reason_code as driver_value, customer_id
    from window_contacts
    where reason_code is not null
    group by all
    union all
    select as_of_date, 'medium' as driver_type, medium as driver_value, customer_id
    from window_contacts
    where medium is not null
    group by all
),

per_driver as (
    select
        x.as_of_date,
        x.driver_type,
        x.driver_value,
        count(*) as customers_with_contact,
        count(*) filter (where p.at_risk_at_d) as at_risk_with_contact
    from drivers as x
    inner join population as p using (as_of_date, customer_id)
    group by all
),

measured as (
    select
        p.*,
        d.history_date,
        d.driver_window_start,
        b.population_customers,
        b.population_at_risk,
        p.at_risk_with_contact::double / p.customers_with_contact as at_risk_share_with_contact,
        b.population_at_risk::double / b.population_customers as at_risk_share_overall
    from per_driver as p
    -- ON, not USING: p.* keeps its own column order on every engine
    inner join dates as d on d.as_of_date = p.as_of_date
    inner join baseline as b on b.as_of_date = p.as_of_date
),

lifted as (
    select
        *,
        at_risk_share_with_contact / nullif(at_risk_share_overall, 0) as lift
    from measured
)

select
    as_of_date,
    driver_type,
    driver_value,
    history_date,
    driver_window_start,
    customers_with_contact,
    at_risk_with_contact,
    at_risk_share_with_contact,
    population_customers,
    population_at_risk,
    at_risk_share_overall,
    lift,
    customers_with_contact >= {{ var('driver_min_support') | int }} as meets_min_support,
    {{ driver_label('lift', 'customers_with_contact') }} as measured_label,
    case
        when driver_type <> 'reason_code' then null
        when {{ is_dissatisfier('driver_value') }} then 'dissatisfier'
        when {{ is_satisfier('driver_value') }} then 'satisfier'
        else 'neutral'
    end as configured_label
from lifted
