"""The naive pandas peer: customer worth, grades and loyalty segments as an analyst would compute
them from docs/SPEC.md §4 and §7 with pandas alone, without the pipeline.

    python benchmarks/pandas_peer.py --landing DIR --out DIR [--config FILE]

It reads every CSV and Parquet file of the datasets it needs (customers, revenue, employee counts,
contacts, referrals), keeps the last version of each key, and computes at the latest transaction
date D and at D0 = D - window: actual revenue, best in class per peer group (customer type x size
band, widened to the type or to everyone below the minimum peers), potential and incremental
revenue, the actual and incremental classes, the grade; the achievement probability (§4.5); the
loyalty measures the segments need, the segments with their at-risk reasons and the defection
probability (§7). Parameters come from the YAML config (default: $ACCOUNTS_CONFIG, else
pipelines/core/default_config.yaml). Each output is written to one Parquet file.

Single-threaded pandas (pyarrow only parses the files); no row rules, no quarantine, no history,
no modules. It need not match the pipeline to the cent: it is the yardstick a user would compare
the pipeline with.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "pipelines" / "core" / "default_config.yaml"
DAY = pd.Timedelta(days=1)


def read_dataset(
    landing: Path, name: str, columns: list[str], key: list[str], dates: list[str]
) -> pd.DataFrame:
    """Every file of the dataset (name order: later files win on a repeated key), lower-case columns."""
    frames = []
    for path in sorted((landing / name).glob("*"), key=lambda p: p.name):
        if path.name.startswith("."):
            continue
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        elif path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, engine="pyarrow")
        else:
            continue
        frame.columns = [c.lower() for c in frame.columns]
        frames.append(frame.reindex(columns=columns))
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    for column in dates:  # dates only: a contact's time of day does not matter to any window
        data[column] = pd.to_datetime(data[column]).dt.normalize()
    return data.dropna(subset=key + dates).drop_duplicates(subset=key, keep="last")


# dataset -> (columns it needs, key, date columns)
DATASETS = {
    "customers": (["customer_id", "customer_type"], ["customer_id"], []),
    "revenue": (
        ["transaction_id", "customer_id", "transaction_date", "product_line", "amount", "margin"],
        ["transaction_id"],
        ["transaction_date"],
    ),
    "employee_counts": (
        ["customer_id", "as_of_date", "employees"],
        ["customer_id", "as_of_date"],
        ["as_of_date"],
    ),
    "contacts": (
        ["contact_id", "customer_id", "contact_date", "reason_code"],
        ["contact_id"],
        ["contact_date"],
    ),
    "referrals": (
        ["referral_id", "referrer_customer_id", "referral_date"],
        ["referral_id"],
        ["referral_date"],
    ),
}


def load(landing: Path) -> dict[str, pd.DataFrame]:
    data = {name: read_dataset(landing, name, *spec) for name, spec in DATASETS.items()}
    data["customers"]["customer_type"] = data["customers"]["customer_type"].fillna("unknown")
    for name, column in (("revenue", "amount"), ("revenue", "margin"), ("employee_counts", "employees")):
        data[name][column] = pd.to_numeric(data[name][column], errors="coerce")
    data["revenue"] = data["revenue"].dropna(subset=["amount"])
    data["employees"] = data.pop("employee_counts").query("employees > 0")
    return data


def worth(d: pd.Timestamp, data: dict[str, pd.DataFrame], cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """§4 at `d`: one row per customer with revenue on or before d; and the best-in-class table."""
    start = d - pd.DateOffset(months=cfg["revenue_window_months"])
    revenue = data["revenue"][data["revenue"]["transaction_date"] <= d]
    actual = revenue[revenue["transaction_date"] > start].groupby("customer_id")["amount"].sum()
    w = data["customers"][data["customers"]["customer_id"].isin(revenue["customer_id"].unique())]
    w = w.merge(actual.rename("actual_revenue"), left_on="customer_id", right_index=True, how="left")
    w["actual_revenue"] = w["actual_revenue"].fillna(0.0)
    employees = data["employees"][data["employees"]["as_of_date"] <= d].sort_values("as_of_date")
    latest = employees.drop_duplicates("customer_id", keep="last")[["customer_id", "employees"]]
    w = w.merge(latest, on="customer_id", how="left")
    edges = np.asarray(cfg["employee_size_bands"])
    band = edges[(np.searchsorted(edges, w["employees"].fillna(edges[0]), side="right") - 1).clip(0)]
    w["size_band"] = pd.Series(band, index=w.index).where(w["employees"].notna())

    bic_cfg = cfg["best_in_class"]
    peers = w[(w["actual_revenue"] > 0) & w["employees"].notna()]
    peers = peers.assign(rpe=peers["actual_revenue"] / peers["employees"])
    use_max = bic_cfg["statistic"] == "max"
    for level, keys in (("peer_group", ["customer_type", "size_band"]), ("customer_type", ["customer_type"])):
        grouped = peers.groupby(keys)["rpe"]
        stats = pd.DataFrame(
            {
                f"bic_{level}": grouped.max() if use_max else grouped.quantile(bic_cfg["quantile"]),
                f"n_{level}": grouped.size(),
            }
        )
        w = w.merge(stats.reset_index(), on=keys, how="left")
    everyone = peers["rpe"].max() if use_max else peers["rpe"].quantile(bic_cfg["quantile"])
    levels = [w["n_peer_group"] >= bic_cfg["min_peers"], w["n_customer_type"] >= bic_cfg["min_peers"]]
    w["bic_level"] = np.select(levels, ["peer_group", "customer_type"], "all")
    w["best_in_class"] = np.select(levels, [w["bic_peer_group"], w["bic_customer_type"]], everyone)
    w["best_in_class"] = w["best_in_class"].where(w["employees"].notna())  # no size band: no peers
    w["peers"] = np.select(levels, [w["n_peer_group"], w["n_customer_type"]], len(peers))
    w = w.drop(columns=["bic_peer_group", "n_peer_group", "bic_customer_type", "n_customer_type"])

    w["potential_revenue"] = w["employees"] * w["best_in_class"]
    w["incremental_revenue"] = (w["potential_revenue"] - w["actual_revenue"].clip(lower=0)).clip(lower=0)
    w["incremental_revenue"] = w["incremental_revenue"].fillna(0.0)  # unknown employees: 0, class 1
    w["actual_class"] = (
        np.searchsorted(np.asarray(cfg["actual_class_thresholds"]), w["actual_revenue"], side="right") + 1
    )
    known = w["employees"].notna()
    top_share = w.loc[known, "incremental_revenue"].rank(ascending=False, method="max", pct=True)
    top_share = top_share.reindex(w.index)
    w["incremental_class"] = 1
    bound, cuts = 0.0, []
    for cls in (5, 4, 3, 2):
        bound += cfg["incremental_class_shares"][cls]
        cuts.append((cls, bound))
    for cls, bound in reversed(cuts):  # class 2 first, the higher classes overwrite
        w.loc[known & (top_share <= bound + 1e-9), "incremental_class"] = cls
    w["worth_cell"] = w["actual_class"] * 10 + w["incremental_class"]
    grades = {cell: grade for grade, cells in cfg["grade_map"].items() for cell in cells}
    w["grade"] = w["worth_cell"].map(grades)
    w.insert(0, "as_of_date", d)
    bic = w.drop_duplicates(["customer_type", "size_band"])[
        ["as_of_date", "customer_type", "size_band", "bic_level", "peers", "best_in_class"]
    ]
    return w, bic


def achievement(w: pd.DataFrame, w0: pd.DataFrame, cfg: dict) -> pd.Series:
    """§4.5: per incremental class at D0, the realised share of the increment, shrunk to the prior."""
    prior, weight = cfg["achievement"]["prior"], cfg["achievement"]["shrinkage_weight"]
    both = w0[w0["incremental_revenue"] > 0].merge(
        w[["customer_id", "actual_revenue"]], on="customer_id", suffixes=("_d0", "")
    )
    both["r"] = ((both["actual_revenue"] - both["actual_revenue_d0"]) / both["incremental_revenue"]).clip(
        0, 1
    )
    per_class = both.groupby("incremental_class")["r"].agg(["sum", "size"])
    p = (per_class["sum"] + weight * prior) / (per_class["size"] + weight)
    return w["incremental_class"].map(p).fillna(prior)


def loyalty(d: pd.Timestamp, data: dict[str, pd.DataFrame], customers: pd.Series, cfg: dict) -> pd.DataFrame:
    """§7 at `d`: the measures the segments need, the segment and its at-risk reasons."""
    months, rules = cfg["revenue_window_months"], cfg["at_risk"]
    start, prior = d - pd.DateOffset(months=months), d - pd.DateOffset(months=2 * months)
    revenue = data["revenue"][data["revenue"]["transaction_date"] <= d]
    window = revenue[revenue["transaction_date"] > start]
    previous = revenue[(revenue["transaction_date"] > prior) & (revenue["transaction_date"] <= start)]
    buys = revenue[revenue["amount"] > 0]
    buys_12m = buys[buys["transaction_date"] > start]
    days = buys.loc[buys["transaction_date"] > prior, ["customer_id", "transaction_date"]].drop_duplicates()
    days = days.sort_values(["customer_id", "transaction_date"])
    days["gap"] = days.groupby("customer_id")["transaction_date"].diff().dt.days
    gaps = days.groupby("customer_id")["gap"].agg(["median", "size"])
    contacts = data["contacts"][data["contacts"]["contact_date"] <= d]
    unhappy = contacts[
        (contacts["contact_date"] > d - rules["dissatisfier_window_days"] * DAY)
        & contacts["reason_code"].isin(cfg["dissatisfier_reason_codes"])
    ]
    referrals = data["referrals"]
    referrals = referrals[(referrals["referral_date"] <= d) & (referrals["referral_date"] > start)]
    measures = pd.DataFrame(
        {
            "revenue_12m": window.groupby("customer_id")["amount"].sum(),
            "revenue_prev_12m": previous.groupby("customer_id")["amount"].sum(),
            "margin_12m": window.groupby("customer_id")["margin"].sum(),
            "purchase_occasions_12m": buys_12m.groupby("customer_id")["transaction_date"].nunique(),
            "product_lines_12m": buys_12m.groupby("customer_id")["product_line"].nunique(),
            "product_lines_total": buys.groupby("customer_id")["product_line"].nunique(),
            "contacts_12m": contacts[contacts["contact_date"] > start].groupby("customer_id").size(),
            "dissatisfier_contacts": unhappy.groupby("customer_id").size(),
            "referrals_12m": referrals.groupby("referrer_customer_id").size(),
        }
    )
    loyal = measures.reindex(pd.Index(customers, name="customer_id")).fillna(0)
    last = buys.groupby("customer_id")["transaction_date"].max().reindex(loyal.index)
    loyal["days_since_last_purchase"] = (d - last).dt.days
    loyal["median_gap_days"] = gaps["median"].where(gaps["size"] >= 3).reindex(loyal.index)
    loyal["repurchased"] = loyal["purchase_occasions_12m"] >= 2
    loyal["retained"] = (loyal["revenue_12m"] > 0) & (loyal["revenue_prev_12m"] > 0)

    since = loyal["days_since_last_purchase"]
    reasons = {
        "recency": since > rules["recency_days"],
        "decline": (loyal["revenue_prev_12m"] > 0)
        & (loyal["revenue_12m"] < rules["decline_ratio"] * loyal["revenue_prev_12m"]),
        "dissatisfier": loyal["dissatisfier_contacts"] >= rules["dissatisfier_contacts"],
        "gap": loyal["median_gap_days"].notna()
        & (since > rules["gap_multiple"] * loyal["median_gap_days"])
        & (since > rules["gap_min_days"]),
    }
    defector = loyal["purchase_occasions_12m"] == 0
    at_risk = ~defector & pd.DataFrame(reasons).any(axis=1)
    secure = (
        (loyal["product_lines_12m"] >= 2)
        & (loyal["purchase_occasions_12m"] >= 2)
        & ((loyal["revenue_12m"] >= loyal["revenue_prev_12m"]) | (loyal["referrals_12m"] >= 1))
    )
    loyal["segment"] = np.select([defector, at_risk, secure], ["Defector", "At-risk", "Secure"], "Complacent")
    listed = pd.Series("", index=loyal.index)
    for name, holds in reasons.items():
        listed = listed + np.where(holds, name + ",", "")
    loyal["risk_reasons"] = listed.str.rstrip(",").where(at_risk, "")
    loyal.insert(0, "as_of_date", d)
    return loyal.reset_index()


def defection(loyal: pd.DataFrame, loyal0: pd.DataFrame, cfg: dict) -> pd.Series:
    """§7: share of each D0 segment that defected by D, shrunk to the segment's prior."""
    priors, weight = cfg["defection"]["priors"], cfg["defection"]["shrinkage_weight"]
    base = loyal0[loyal0["segment"] != "Defector"][["customer_id", "segment"]]
    base = base.merge(loyal[["customer_id", "segment"]], on="customer_id", suffixes=("", "_d"))
    counts = (
        base.assign(defected=base["segment_d"] == "Defector")
        .groupby("segment")["defected"]
        .agg(["sum", "size"])
    )
    p = pd.Series(
        {
            s: (counts["sum"].get(s, 0) + weight * prior) / (counts["size"].get(s, 0) + weight)
            for s, prior in priors.items()
        }
    )
    return loyal["segment"].map(p).where(loyal["segment"] != "Defector", 1.0)


def merged(defaults: dict, changes: dict) -> dict:
    """The defaults with a user's config on top (a config file names only the keys it changes)."""
    out = dict(defaults)
    for key, value in changes.items():
        out[key] = (
            merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def run(landing: Path, out: Path, config: Path | None = None) -> dict[str, int]:
    cfg = yaml.safe_load(DEFAULT_CONFIG.read_text())
    if config is not None and config.resolve() != DEFAULT_CONFIG:
        cfg = merged(cfg, yaml.safe_load(config.read_text()) or {})
    data = load(landing)
    d = data["revenue"]["transaction_date"].max()
    d0 = d - pd.DateOffset(months=cfg["revenue_window_months"])
    w, bic = worth(d, data, cfg)
    w0, bic0 = worth(d0, data, cfg)
    w["achievement_probability"] = achievement(w, w0, cfg)
    w["expected_incremental_revenue"] = w["incremental_revenue"] * w["achievement_probability"]
    loyal = loyalty(d, data, w["customer_id"], cfg)
    loyal0 = loyalty(d0, data, w0["customer_id"], cfg)
    loyal["defection_probability"] = defection(loyal, loyal0, cfg)
    potential = loyal["customer_id"].map(w.set_index("customer_id")["potential_revenue"])
    loyal["share_of_potential"] = loyal["revenue_12m"] / potential
    outputs = {
        "customer_worth": pd.concat([w, w0], ignore_index=True),
        "best_in_class": pd.concat([bic, bic0], ignore_index=True),
        "customer_loyalty": pd.concat([loyal, loyal0], ignore_index=True),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in outputs.items():
        frame.to_parquet(out / f"{name}.parquet", index=False)
    return {name: len(frame) for name, frame in outputs.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--landing", type=Path, required=True, help="landing folder (one folder per dataset)")
    parser.add_argument("--out", type=Path, required=True, help="where the Parquet outputs are written")
    parser.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("ACCOUNTS_CONFIG") or None,
        help="config file (default: $ACCOUNTS_CONFIG, else the project defaults)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(args.landing, args.out, args.config)
    for name, count in rows.items():
        print(f"{name}: {count:,} rows")
    print(f"pandas peer: {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
