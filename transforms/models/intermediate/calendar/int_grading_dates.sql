-- The dates to grade: every snapshot date D and its history date D0 = D - window, so the
-- achievement and defection probabilities reuse the same SQL at D0. Each with the start of its
-- trailing window (G - window, G] and of its prior window (G - 2 x window, G - window].
{%- set window = var('revenue_window_months') | int %}
with grading_dates as (
    select as_of_date as grading_date from {{ ref('int_as_of_dates') }}
    union
    select history_date as grading_date from {{ ref('int_as_of_dates') }}
)

select
    grading_date,
    (grading_date - interval {{ window }} month)::date as window_start,
    (grading_date - interval {{ 2 * window }} month)::date as prior_window_start
from grading_dates
