select
    customer_id,
    manager_id
from {{ source('raw', 'assignments') }}
