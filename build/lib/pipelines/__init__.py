"""Account-management pipeline: Dagster code location and the orchestrator-free logic it runs."""

import os
import warnings

# No internet here: usage tracking only costs time (~2.5 s per dbt call, ~7 s for GX).
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

# Single-run backfill policies are what we want; Dagster still labels them beta.
warnings.filterwarnings("ignore", message=".*backfill_policy.*is currently in beta")
