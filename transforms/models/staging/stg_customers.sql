-- A customer without a type or a region still counts: it is grouped under 'unknown' (the gap is
-- listed in audit.data_issues).
select
    customer_id,
    customer_name,
    coalesce(customer_type, '{{ var("unknown") }}') as customer_type,
    coalesce(region, '{{ var("unknown") }}') as region
from {{ source('raw', 'customers') }}
