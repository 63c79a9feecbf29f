"""Deterministic sample landing data (SPEC §1) of a B2B seller: customers, revenue, contacts.

`generate(out_dir, customers, seed)` writes one sub-folder per dataset, the way a real extract
arrives: CSV for the small datasets, Parquet for `revenue` and `contacts` split into one file per
calendar year. The same arguments give byte-identical files.

The simulated business, so that later analyses have something real to find:
- 8 customer types with different revenue per employee; heavy-tailed company sizes (lognormal
  employees, 1..20,000) whose counts change over the years (about 5% of customers have none);
- half the customers exist at the start, the rest are acquired over the period; each customer has
  a loyalty trait that lowers its defection hazard, speeds up adoption of the 6 product lines,
  raises its share of wallet and its referrals and its share of satisfier contacts;
- some customers defect (stop buying) or decline (buy less and less often): their order rate and
  order values sag in the months before, and DISSATISFIER contact reasons are far more frequent in
  the ~6 months before the event (the planted early-warning signal);
- purchase cadence is a gamma renewal process with its own rate and regularity per customer;
  about 2% of rows are credit notes (negative amounts); margins are sometimes missing;
- account managers (one seat per ~250 customers) join and leave; each customer has one owner at a
  time (reassigned when the owner leaves) who makes most outbound contacts;
- referrals, about a third converted into customers acquired later.

Memory stays bounded: customers are simulated in fixed chunks of `CHUNK_CUSTOMERS`, each fully
vectorised with numpy, and appended to the output files (Parquet row groups / CSV appends).

Modules: `business` (the constants above), `generator` (`generate` and the account managers),
`customers` (a chunk's customers, their traits and owners), `activity` (their revenue, contacts
and referrals), `writer` (the CSV/Parquet files) and `vectorised` (numpy helpers).
"""

from __future__ import annotations

from sample_data.business import DISSATISFIERS, SATISFIERS
from sample_data.generator import generate

__all__ = ["DISSATISFIERS", "SATISFIERS", "generate"]
