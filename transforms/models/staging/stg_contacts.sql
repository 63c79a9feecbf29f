select
    contact_id,
    customer_id,
    contact_date::timestamp as contact_date,
    contact_date::date as contact_day,
    manager_id,
    medium,
    direction,
    reason_code,
    contact_person
from {{ source('raw', 'contacts') }}
