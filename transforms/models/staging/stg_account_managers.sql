-- A manager without a capacity works full time (1.0).
select
    manager_id,
    manager_name,
    active_from::date as active_from,
    active_to::date as active_to,
    coalesce(capacity, 1.0)::double as capacity
from {{ source('raw', 'account_managers') }}
