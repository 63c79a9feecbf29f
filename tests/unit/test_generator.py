"""The sample-data generator: deterministic, valid against SPEC §1, realistic enough to analyse."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines.core.config import DEFAULT_CONFIG_PATH, load_config
from pipelines.core.vocabulary import DIRECTIONS, MEDIA
from pipelines.ingest.datasets import DATASETS
from sample_data import DISSATISFIERS, SATISFIERS, generate, generator
from sample_data.writer import SAMPLE_DATASETS, sample_columns

START, END = date(2022, 11, 1), date(2026, 10, 31)
YEARS = {str(y) for y in range(START.year, END.year + 1)}
CUSTOMERS = 300


def load(landing: Path, dataset: str) -> pl.DataFrame:
    frames = []
    for path in sorted((landing / dataset).iterdir()):
        if path.suffix == ".csv":
            frames.append(pl.read_csv(path, try_parse_dates=True, infer_schema_length=None))
        else:
            frames.append(pl.read_parquet(path))
    frame = pl.concat([f for f in frames if f.height], how="vertical_relaxed")
    for column, type_ in DATASETS[dataset].columns.items():
        if type_ == "DATE" and column in frame.columns:
            frame = frame.with_columns(pl.col(column).cast(pl.Date))
    return frame


def file_bytes(landing: Path) -> dict[str, bytes]:
    return {str(p.relative_to(landing)): p.read_bytes() for p in landing.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    generate(out, customers=CUSTOMERS, seed=7)
    return out


@pytest.fixture(scope="module")
def data(landing: Path) -> dict[str, pl.DataFrame]:
    return {name: load(landing, name) for name in SAMPLE_DATASETS}


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", customers=200, seed=11)
    second = generate(tmp_path / "b", customers=200, seed=11)
    other = generate(tmp_path / "c", customers=200, seed=12)
    assert first == second
    a, b, c = (file_bytes(tmp_path / x) for x in "abc")
    assert a.keys() == b.keys() == c.keys()
    assert a == b
    assert a["revenue/2024.parquet"] != c["revenue/2024.parquet"]
    assert a["customers/customers.csv"] != c["customers/customers.csv"]
    assert other["revenue"] != first["revenue"]


def test_rerun_into_the_same_folder_rewrites_identical_files(tmp_path: Path) -> None:
    generate(tmp_path, customers=200, seed=3)
    before = file_bytes(tmp_path)
    generate(tmp_path, customers=200, seed=3)
    assert file_bytes(tmp_path) == before


def test_layout_formats_and_columns(landing: Path, data: dict[str, pl.DataFrame]) -> None:
    assert {p.name for p in landing.iterdir()} == set(SAMPLE_DATASETS)
    for name in SAMPLE_DATASETS:
        files = sorted((landing / name).iterdir())
        if name in ("revenue", "contacts"):
            assert {p.stem for p in files} == YEARS
            assert {p.suffix for p in files} == {".parquet"}
        else:
            assert [p.name for p in files] == [f"{name}.csv"]
        for path in files:
            if path.suffix == ".csv":
                header = path.read_text(encoding="utf-8").splitlines()[0]
                assert header.split(",") == sample_columns(name)
            else:
                assert pl.read_parquet_schema(path).names() == sample_columns(name)
        assert data[name].height > 0, name


def test_year_files_hold_their_year(landing: Path) -> None:
    for name, column in (("revenue", "transaction_date"), ("contacts", "contact_date")):
        for path in (landing / name).iterdir():
            years = pl.read_parquet(path)[column].dt.year().unique().to_list()
            assert years == [int(path.stem)], path


def test_forced_formats_and_switching_format_replaces_files(tmp_path: Path) -> None:
    auto = generate(tmp_path / "auto", customers=150, seed=5)
    csv = generate(tmp_path / "x", customers=150, seed=5, file_format="csv")
    assert {p.suffix for p in (tmp_path / "x").rglob("*.*")} == {".csv"}
    assert csv == auto
    revenue_csv = load(tmp_path / "x", "revenue")
    revenue_auto = load(tmp_path / "auto", "revenue")
    assert revenue_csv.sort("transaction_id").equals(revenue_auto.sort("transaction_id"))
    parquet = generate(tmp_path / "x", customers=150, seed=5, file_format="parquet")
    assert {p.suffix for p in (tmp_path / "x").rglob("*.*")} == {".parquet"}
    assert parquet == auto
    with pytest.raises(ValueError, match="file_format"):
        generate(tmp_path / "y", customers=10, seed=1, file_format="xlsx")
    with pytest.raises(ValueError, match="customers"):
        generate(tmp_path / "y", customers=0, seed=1)


def test_row_counts_are_returned(landing: Path, data: dict[str, pl.DataFrame]) -> None:
    counts = generate(landing.parent / "again", customers=CUSTOMERS, seed=7)
    assert counts == {name: frame.height for name, frame in data.items()}
    assert counts["customers"] == CUSTOMERS


def test_keys_unique_and_children_name_known_customers(data: dict[str, pl.DataFrame]) -> None:
    customers = set(data["customers"]["customer_id"])
    assert len(customers) == CUSTOMERS
    assert data["customers"]["customer_id"].str.contains(r"^C\d{6}$").all()
    for name, dataset in ((n, DATASETS[n]) for n in SAMPLE_DATASETS):
        frame = data[name]
        assert frame.select(dataset.key).is_duplicated().sum() == 0, name
        assert frame.select(dataset.required).null_count().sum_horizontal().item() == 0, name
        for column in dataset.parent_customer_columns:
            assert set(frame[column]) <= customers, (name, column)
    referred = data["referrals"]["referred_customer_id"].drop_nulls()
    assert 0 < referred.len() < data["referrals"].height
    assert set(referred) <= customers
    assert referred.is_unique().all()
    managers = set(data["account_managers"]["manager_id"])
    assert data["account_managers"]["manager_id"].str.contains(r"^M\d{3}$").all()
    assert set(data["contacts"]["manager_id"].drop_nulls()) <= managers
    assert set(data["assignments"]["manager_id"]) <= managers


def test_every_customer_buys_and_referrals_convert_later(data: dict[str, pl.DataFrame]) -> None:
    first = data["revenue"].group_by("customer_id").agg(pl.col("transaction_date").min())
    assert first.height == CUSTOMERS
    converted = (
        data["referrals"]
        .drop_nulls("referred_customer_id")
        .join(first, left_on="referred_customer_id", right_on="customer_id")
    )
    assert (converted["transaction_date"] > converted["referral_date"]).all()
    assert (converted["referrer_customer_id"] != converted["referred_customer_id"]).all()


def test_values_valid_against_the_contract(data: dict[str, pl.DataFrame]) -> None:
    dated = {
        "employee_counts": "as_of_date",
        "revenue": "transaction_date",
        "contacts": "contact_date",
        "referrals": "referral_date",
    }
    for name, column in dated.items():
        days = data[name][column].cast(pl.Date)
        assert days.min() >= START and days.max() <= END, name
    employees = data["employee_counts"]["employees"]
    assert employees.min() >= 1 and employees.max() <= 20_000
    contacts = data["contacts"]
    assert set(contacts["medium"]) <= set(MEDIA)
    assert set(contacts["direction"].drop_nulls()) <= set(DIRECTIONS)
    assert set(contacts["medium"]) >= {"phone", "email", "visit"}
    codes = set(contacts["reason_code"].drop_nulls())
    assert codes >= set(DISSATISFIERS) | set(SATISFIERS)
    assert {"order_inquiry", "account_review"} <= codes
    revenue = data["revenue"]
    assert revenue["transaction_id"].str.contains(r"^T\d{9}$").all()
    assert (revenue["amount"] == revenue["amount"].round(2)).all()
    assert revenue["product_line"].n_unique() == 6


def test_managers_active_when_they_contact_and_at_the_end(data: dict[str, pl.DataFrame]) -> None:
    managers = data["account_managers"]
    assert managers.height >= 3
    assert managers["active_to"].null_count() > 0  # some still active
    assert managers["active_to"].drop_nulls().len() > 0  # some left
    assert (managers["active_to"].drop_nulls() > START).all()
    joined = data["contacts"].drop_nulls("manager_id").join(managers, on="manager_id")
    day = joined["contact_date"].cast(pl.Date)
    active = (joined["active_from"] <= day) & (joined["active_to"].is_null() | (day < joined["active_to"]))
    assert active.all()
    outbound = data["contacts"].filter(pl.col("direction") == "outbound")
    assert outbound["manager_id"].is_not_null().mean() > 0.85
    owners = data["assignments"].join(managers, on="manager_id")
    assert (owners["active_from"] <= END).all()
    assert (owners["active_to"].is_null() | (owners["active_to"] > END)).all()
    # owners are assigned only for customers still buying near the end
    last = data["revenue"].group_by("customer_id").agg(pl.col("transaction_date").max())
    owned = owners.join(last, on="customer_id")
    assert (owned["transaction_date"] > END - timedelta(days=400)).mean() > 0.95


def test_b2b_behaviour(data: dict[str, pl.DataFrame]) -> None:
    customers, revenue = data["customers"], data["revenue"]
    assert customers["customer_type"].n_unique() == 8
    no_count = CUSTOMERS - data["employee_counts"]["customer_id"].n_unique()
    assert 0.01 * CUSTOMERS <= no_count <= 0.12 * CUSTOMERS
    per_customer = data["employee_counts"].group_by("customer_id").len()["len"]
    assert per_customer.max() >= 3  # counts change over the years
    credit_share = (revenue["amount"] < 0).mean()
    assert 0.01 <= credit_share <= 0.04
    assert 0.02 <= revenue["margin"].is_null().mean() <= 0.3
    by_customer = (
        revenue.filter(pl.col("amount") > 0)
        .group_by("customer_id")
        .agg(
            first=pl.col("transaction_date").min(),
            last=pl.col("transaction_date").max(),
            occasions=pl.col("transaction_date").n_unique(),
            lines=pl.col("product_line").n_unique(),
        )
    )
    # acquired over the whole period, some lost
    acquired_later = (by_customer["first"] > START + timedelta(days=120)).mean()
    assert 0.25 <= acquired_later <= 0.75
    lost = (by_customer["last"] < END - timedelta(days=270)).mean()
    assert 0.05 <= lost <= 0.45
    # B2B cadence: roughly 5-25 orders a year, varying per customer
    years = ((by_customer["last"] - by_customer["first"]).dt.total_days() + 1) / 365.25
    rate = (by_customer["occasions"] / years).filter(years > 1)
    assert 5 <= rate.median() <= 25
    assert rate.quantile(0.9) > 1.5 * rate.quantile(0.1)
    assert (by_customer["lines"] >= 2).mean() > 0.5
    assert (by_customer["lines"] >= 3).mean() > 0.2


def test_planted_dissatisfier_signal_before_defection(data: dict[str, pl.DataFrame]) -> None:
    last = (
        data["revenue"]
        .filter(pl.col("amount") > 0)
        .group_by("customer_id")
        .agg(last=pl.col("transaction_date").max())
    )
    contacts = (
        data["contacts"]
        .with_columns(
            day=pl.col("contact_date").cast(pl.Date),
            dissatisfier=pl.col("reason_code").is_in(list(DISSATISFIERS)).fill_null(False),
            satisfier=pl.col("reason_code").is_in(list(SATISFIERS)).fill_null(False),
        )
        .join(last, on="customer_id")
    )
    defected = contacts.filter(
        (pl.col("last") < END - timedelta(days=180))
        & (pl.col("day") > pl.col("last") - timedelta(days=180))
        & (pl.col("day") <= pl.col("last"))
    )
    retained = contacts.filter(pl.col("last") >= END - timedelta(days=60))
    assert defected["customer_id"].n_unique() >= 20
    before_defection = defected["dissatisfier"].mean()
    baseline = retained["dissatisfier"].mean()
    assert before_defection > 0.2
    assert before_defection > 4 * baseline
    assert retained["satisfier"].mean() > 1.5 * defected["satisfier"].mean()


def test_code_lists_match_the_default_config() -> None:
    config = load_config(DEFAULT_CONFIG_PATH)
    assert list(DISSATISFIERS) == config.dissatisfier_reason_codes
    assert list(SATISFIERS) == config.satisfier_reason_codes


def test_chunks_append_into_the_same_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(generator, "CHUNK_CUSTOMERS", 70)
    counts = generate(tmp_path / "a", customers=200, seed=9)
    generate(tmp_path / "b", customers=200, seed=9)
    assert file_bytes(tmp_path / "a") == file_bytes(tmp_path / "b")
    for name in SAMPLE_DATASETS:
        frame = load(tmp_path / "a", name)
        assert frame.height == counts[name]
        assert frame.select(DATASETS[name].key).is_duplicated().sum() == 0, name
    assert load(tmp_path / "a", "customers")["customer_id"].to_list() == [f"C{i:06d}" for i in range(1, 201)]


def test_other_periods(tmp_path: Path) -> None:
    start, end = date(2023, 1, 1), date(2024, 12, 31)
    generate(tmp_path, customers=120, seed=2, start=start, end=end)
    assert {p.stem for p in (tmp_path / "revenue").iterdir()} == {"2023", "2024"}
    revenue = load(tmp_path, "revenue")
    assert revenue["transaction_date"].min() >= start
    assert revenue["transaction_date"].max() <= end
    with pytest.raises(ValueError, match="at least a year"):
        generate(tmp_path, customers=10, seed=1, start=start, end=date(2023, 6, 30))
