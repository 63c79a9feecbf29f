{{ config(meta={'dagster': {'ref': {'name': 'worth_matrix'}}}) }}
-- The worth matrix holds every graded customer exactly once per snapshot.
with matrix as (
    select as_of_date, sum(customers) as customers from {{ ref('worth_matrix') }} group by all
),

worth as (
    select as_of_date, count(*) as customers from {{ ref('customer_worth') }} group by all
)

select as_of_date, matrix.customers as matrix_customers, worth.customers as graded_customers
from matrix
full join worth using (as_of_date)
where coalesce(matrix.customers, -1) <> coalesce(worth.customers, -1)
