"""The simulated business: customer types, regions, product lines, reason codes, contact media,
seasonality and the name tables. Changing any of these changes the generated files."""

from __future__ import annotations

import numpy as np

from pipelines.core.vocabulary import MEDIA

CHUNK_CUSTOMERS = 20_000  # fixed: part of the definition of the output, not a tuning knob

# customer type -> (share of customers, annual potential revenue per employee)
CUSTOMER_TYPES: dict[str, tuple[float, float]] = {
    "manufacturing": (0.20, 260.0),
    "wholesale": (0.12, 320.0),
    "construction": (0.14, 210.0),
    "healthcare": (0.11, 170.0),
    "professional_services": (0.15, 130.0),
    "retail": (0.12, 190.0),
    "hospitality": (0.09, 110.0),
    "education": (0.07, 80.0),
}
REGIONS = {"North": 0.22, "South": 0.24, "East": 0.18, "West": 0.21, "Central": 0.15}

PRODUCT_LINES = ("consumables", "spare_parts", "equipment", "maintenance", "software", "training")
LINE_VALUE = np.array([1.0, 0.8, 2.4, 1.4, 1.8, 0.7])  # relative value of an order line
LINE_MARGIN = np.array([0.28, 0.36, 0.18, 0.45, 0.55, 0.40])  # typical margin rate
LINE_PRIMARY = np.array([0.60, 0.25, 0.15, 0.0, 0.0, 0.0])  # the line a customer starts with
LINE_ADOPT_DAYS = np.array([500.0, 450.0, 900.0, 700.0, 1300.0, 1600.0])  # mean days to adopt

# The SPEC §2 default lists (the planted signal uses them) and neutral reasons.
DISSATISFIERS = {
    "delayed_shipment": 0.22, "damaged_product": 0.12, "lack_of_follow_up": 0.10,
    "pricing_complaint": 0.18, "product_unavailable": 0.12, "billing_error": 0.10,
    "service_complaint": 0.10, "no_rep_contact": 0.06,
}  # fmt: skip
SATISFIERS = {
    "technical_support": 0.25, "delivery_notification": 0.20, "product_knowledge": 0.20,
    "personal_relationship": 0.15, "customer_service": 0.20,
}  # fmt: skip
NEUTRAL = {
    "order_inquiry": 0.34, "account_review": 0.20, "quote_request": 0.18,
    "product_information": 0.14, "contract_renewal": 0.08, "invoice_copy": 0.06,
}  # fmt: skip
# medium -> (share among outbound, share among inbound contacts)
MEDIUM_SHARES = {
    "phone": (0.34, 0.36), "email": (0.30, 0.34), "fax": (0.02, 0.03), "visit": (0.12, 0.0),
    "video": (0.10, 0.02), "web": (0.0, 0.16), "mail": (0.07, 0.04), "other": (0.05, 0.05),
}  # fmt: skip
assert tuple(MEDIUM_SHARES) == MEDIA

# Month multipliers of order values (B2B: quiet August and December, busy autumn).
SEASON = np.array([0.95, 1.0, 1.08, 1.02, 1.03, 1.0, 0.93, 0.85, 1.06, 1.08, 1.04, 0.90])

FIRST_NAMES = (
    "Anna", "Ben", "Carla", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Karin",
    "Lukas", "Maria", "Nils", "Olga", "Paul", "Rosa", "Sven", "Tanja", "Uwe", "Vera", "Wim",
    "Xenia", "Yusuf", "Zoe", "Amir", "Beatriz", "Chen", "Dmitri", "Emma", "Farid", "Hannah",
    "Jürgen", "Léa", "Mateo", "Noor", "Priya", "Søren", "Tomás", "Aiko",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann",
    "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Smith", "Johnson", "Brown", "Garcia",
    "Martin", "Dubois", "Rossi", "Nowak", "Jansen", "Larsen", "Novák", "Silva", "Kowalski",
    "O'Brien", "Nguyen", "Tanaka", "Ivanova", "Andersson", "Costa", "Peeters", "Horváth",
)  # fmt: skip
NAME_HEADS = (
    "Alpine", "Atlas", "Apex", "Baltic", "Beacon", "Cedar", "Coastal", "Crown", "Delta", "Eagle",
    "Elm", "Falcon", "Granite", "Harbor", "Highland", "Iron", "Juniper", "Keystone", "Lakeside",
    "Linden", "Meridian", "Nordic", "Oak", "Orion", "Pioneer", "Polar", "Quarry", "Redwood",
    "Riverside", "Sierra", "Summit", "Tidewater", "Union", "Valley", "Vista", "Westbrook",
    "Zenith", "Rhein", "Zürich", "Møller",
)  # fmt: skip
NAME_CORES = {
    "manufacturing": ("Tooling", "Metalworks", "Fabrication", "Plastics", "Machining",
                      "Components"),
    "wholesale": ("Trading", "Distribution", "Supply", "Wholesale", "Import", "Merchants"),
    "construction": ("Builders", "Construction", "Roofing", "Civil Works", "Contractors", "Homes"),
    "healthcare": ("Clinic", "Care", "Medical", "Dental", "Health", "Pharmacy"),
    "professional_services": ("Consulting", "Partners", "Advisors", "Legal", "Engineering",
                              "Accounting"),
    "retail": ("Stores", "Market", "Outfitters", "Home & Garden", "Fashion", "Shops"),
    "hospitality": ("Hotels", "Catering", "Restaurants", "Inns", "Events", "Resorts"),
    "education": ("Academy", "College", "School", "Learning", "Institute", "Training Centre"),
}  # fmt: skip
NAME_SUFFIXES = ("Ltd", "Inc", "GmbH", "LLC", "AG", "S.A.", "& Co", "Group", "BV", "Oy", "")
