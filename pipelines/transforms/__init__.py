"""The dbt project (transforms/) as Dagster assets: project handling and the dbt asset groups."""

# The two dbt groups (their Dagster ops), split by the Python assignment between them; dagster-dbt
# names each invocation's folder `<group>-<run>-<id>`.
BEFORE_ASSIGNMENT_GROUP = "worth_and_loyalty"
AFTER_ASSIGNMENT_GROUP = "modules_and_risk"
