{{ config(tags=['after_assignment'], meta={'dagster': {'ref': {'name': 'modules'}}}) }}
-- Every assigned customer is counted in exactly one module, and per-grade counts add up.
with modules as (
    select as_of_date, sum(accounts) as accounts,
        sum(accounts_aa + accounts_a + accounts_b + accounts_c + accounts_d) as by_grade
    from {{ ref('modules') }}
    group by all
),

assignments as (
    select as_of_date, count(*) as accounts from {{ ref('module_assignments') }} group by all
)

select as_of_date, modules.accounts as module_accounts, modules.by_grade,
    assignments.accounts as assigned_accounts
from modules
full join assignments using (as_of_date)
where coalesce(modules.accounts, 0) <> coalesce(assignments.accounts, 0)
   or coalesce(modules.by_grade, 0) <> coalesce(modules.accounts, 0)
