select
    customer_id,
    as_of_date::date as as_of_date,
    employees::bigint as employees
from {{ source('raw', 'employee_counts') }}
