"""The method's fixed vocabularies, defined once. The dbt project receives them as vars
(`transforms_vars` in `pipelines.core.config`), so SQL, its tests and Python read the same lists.

Configurable lists (reason codes, the grade map) live in the config; these are the names the
method itself gives things, in their display order.
"""

from __future__ import annotations

# Worth grades, best first (Peck's AA..D).
GRADES = ("AA", "A", "B", "C", "D")

# Loyalty segments in the order the rules read them after Defector: Secure, Complacent, At-risk,
# then the customers who stopped buying.
SEGMENTS = ("Secure", "Complacent", "At-risk", "Defector")

# The at-risk rules, in the order `risk_reasons` lists them.
RISK_REASONS = ("recency", "decline", "dissatisfier", "gap")

# Actual- and incremental-revenue classes of the 5 x 5 worth matrix.
CLASSES = (1, 2, 3, 4, 5)

# Contact media and directions a contact row may carry.
MEDIA = ("phone", "email", "fax", "visit", "video", "web", "mail", "other")
DIRECTIONS = ("outbound", "inbound")

# Why a customer has the manager it has after an assignment.
MOVE_REASONS = ("new", "manager_left", "rebalanced", "pinned", "kept")

# What became of a pin in force at a snapshot.
PIN_STATUSES = ("applied", "manager_inactive", "customer_not_graded")

# The level whose peers gave a customer's best-in-class benchmark.
PEER_LEVELS = ("peer_group", "customer_type", "all")

# Dimensions of the revenue-at-risk table.
EXPOSURE_DIMENSIONS = ("overall", "grade", "manager", "customer_type", "region")

# Contact drivers: what a driver is, and the labels a measured lift gets.
DRIVER_TYPES = ("reason_code", "medium")
DRIVER_LABELS = ("dissatisfier", "satisfier", "neutral", "insufficient_support")

# Populations of the impact study: everybody, and the customers active at the baseline.
IMPACT_POPULATIONS = ("all", "cohort")

# The components of the account health score, each a measure scored 0-100 by configured bands.
HEALTH_COMPONENTS = (
    "recency",  # days since the last purchase / the customer's usual gap between purchases
    "revenue_trend",  # revenue in the window / revenue in the prior window
    "product_penetration",  # product lines bought in the window
    "share_of_potential",  # revenue in the window / potential revenue
    "contact_sentiment",  # dissatisfier share of the contacts with a satisfier or dissatisfier reason
    "contact_coverage",  # contacts in the window / contacts planned for the grade
    "referrals",  # referrals given in the window
)
HEALTH_BANDS = ("healthy", "watch", "at_risk")

# How revenue in the trailing window moved from one month end to the next.
BRIDGE_MOVEMENTS = ("new", "reactivated", "expansion", "contraction", "churned", "unchanged")

# The value a missing customer type or region is counted under.
UNKNOWN = "unknown"


def vocabulary_vars() -> dict[str, list]:
    """The vocabularies as the dbt project reads them (`var('grades')`, ...)."""
    return {
        "grades": list(GRADES),
        "segments": list(SEGMENTS),
        "risk_reasons": list(RISK_REASONS),
        "classes": list(CLASSES),
        "media": list(MEDIA),
        "move_reasons": list(MOVE_REASONS),
        "pin_statuses": list(PIN_STATUSES),
        "peer_levels": list(PEER_LEVELS),
        "exposure_dimensions": list(EXPOSURE_DIMENSIONS),
        "driver_types": list(DRIVER_TYPES),
        "driver_labels": list(DRIVER_LABELS),
        "impact_populations": list(IMPACT_POPULATIONS),
        "health_component_names": list(HEALTH_COMPONENTS),
        "health_bands": list(HEALTH_BANDS),
        "bridge_movements": list(BRIDGE_MOVEMENTS),
        "unknown": UNKNOWN,
    }
