-- Realised class shares are the cume_dist bands: the customers of classes 5..k (cumulated) never
-- exceed the cumulative cut-off, except through ties, which all share the class of their top
-- share; so the ranked customers' top share must agree with their class.
{%- set cutoffs = var('incremental_class_cutoffs') %}
select as_of_date, customer_id, incremental_class, incremental_top_share
from {{ ref('customer_worth') }}
where employees is not null
  and (
    (incremental_class = 5 and incremental_top_share > {{ cutoffs['5'] }} + 1e-9)
    {%- for cls in [4, 3, 2] %}
    or (incremental_class = {{ cls }} and (incremental_top_share > {{ cutoffs[cls | string] }} + 1e-9
        or incremental_top_share <= {{ cutoffs[(cls + 1) | string] }} + 1e-9))
    {%- endfor %}
    or (incremental_class = 1 and incremental_top_share <= {{ cutoffs['2'] }} + 1e-9)
  )
