select
    customer_id,
    customer_name,
    coalesce(customer_type, 'unknown') as customer_type,
    region
from {{ source('raw', 'customers') }}
