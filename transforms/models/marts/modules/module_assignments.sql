{{ config(tags=['after_assignment']) }}
-- Each graded customer's account manager per snapshot (SPEC §6), from the assignment history.
select
    as_of_date,
    customer_id,
    manager_id,
    manager_name,
    grade,
    actual_revenue,
    previous_manager_id,
    pinned,
    moved,
    move_reason,
    planned_contacts
from {{ ref('int_module_assignments') }}
