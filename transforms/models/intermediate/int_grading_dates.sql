-- The dates to grade (SPEC §4): every snapshot date D and its history date D0 = D - window,
-- so the achievement probability reuses the same grading SQL at D0.
{%- set window = var('revenue_window_months') | int %}
with grading_dates as (
    select as_of_date as grading_date from {{ ref('int_as_of_dates') }}
    union
    select history_date as grading_date from {{ ref('int_as_of_dates') }}
)

select
    grading_date,
    (grading_date - interval {{ window }} month)::date as window_start
from grading_dates
