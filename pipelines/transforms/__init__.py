"""The dbt project (transforms/) as Dagster assets: project handling and the dbt asset groups."""

# The two dbt groups (their Dagster ops), split by the Python assignment between them; each dbt
# invocation's folder is `<group>-<run>-<id>` (dagster-dbt's naming, kept for dbt in process).
BEFORE_ASSIGNMENT_GROUP = "worth_and_loyalty"
AFTER_ASSIGNMENT_GROUP = "modules_and_risk"
