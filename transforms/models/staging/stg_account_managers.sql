select
    manager_id,
    manager_name,
    active_from::date as active_from,
    active_to::date as active_to
from {{ source('raw', 'account_managers') }}
