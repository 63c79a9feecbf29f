"""The dbt project (transforms/) as Dagster assets: project handling and the dbt asset groups."""
