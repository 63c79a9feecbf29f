select
    transaction_id,
    customer_id,
    transaction_date::date as transaction_date,
    product_line,
    amount::decimal(18, 2) as amount,
    margin::decimal(18, 2) as margin
from {{ source('raw', 'revenue') }}
