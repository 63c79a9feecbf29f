"""Module planning end to end (SPEC §6): the bundled sample, published, then a copy of its
landing folder gains two pins and a half-time manager. `accounts plan` prints the preview and
writes its files without touching the published file; the next `accounts run` publishes exactly
the assignment the preview showed."""

import hashlib
import shutil

import duckdb
import polars as pl
import pytest
from conftest import SAMPLE_LANDING
from run_helpers import accounts_in_process as accounts

pytestmark = pytest.mark.e2e

HALF_TIME = "M002"


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published(path, sql: str, params=()) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql, params=list(params)).pl()


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    base = tmp_path_factory.mktemp("plan")
    landing, warehouse = base / "landing", base / "warehouse"
    shutil.copytree(SAMPLE_LANDING, landing)
    with pytest.MonkeyPatch.context() as mp:
        first = accounts(mp, landing, warehouse, "run")
        assert first[0] == 0, first[2]
        publication = warehouse / "accounts.duckdb"
        assignment = published(
            publication,
            "SELECT customer_id, manager_id FROM latest.module_assignments "
            "WHERE grade = 'AA' ORDER BY customer_id",
        )
        # two pins, each to a manager the customer does not have now
        managers = sorted(set(assignment.get_column("manager_id")))
        pins = [
            (row["customer_id"], next(m for m in managers if m != row["manager_id"] and m != HALF_TIME))
            for row in assignment.head(2).iter_rows(named=True)
        ]
        (landing / "assignment_pins").mkdir()
        (landing / "assignment_pins" / "pins.csv").write_text(
            "customer_id,manager_id,reason,valid_from,valid_to\n"
            + "".join(f"{c},{m},strategic relationship,2020-01-01,\n" for c, m in pins)
        )
        staff = pl.read_csv(landing / "account_managers" / "account_managers.csv", infer_schema=False)
        staff.with_columns(
            pl.when(pl.col("manager_id") == HALF_TIME).then(pl.lit("0.5")).otherwise(None).alias("capacity")
        ).write_csv(landing / "account_managers" / "account_managers.csv")

        before = sha256(publication)
        plan = accounts(mp, landing, warehouse, "plan")
        after_plan = sha256(publication)
        second = accounts(mp, landing, warehouse, "run")
    return {
        "warehouse": warehouse,
        "publication": publication,
        "pins": pins,
        "plan": plan,
        "unchanged": before == after_plan,
        "run": second,
    }


def test_plan_prints_the_preview_and_leaves_the_published_file_alone(planned):
    code, out, err = planned["plan"]
    assert code == 0, err
    assert planned["unchanged"], "accounts plan changed the published file"
    assert "the published file is not changed" in out
    assert "pins: applied 2, manager_inactive 0, customer_not_graded 0" in out
    assert ", pinned 2," in out  # moves by reason
    assert f"\n{HALF_TIME}        0.5" in out  # the half-time manager's row
    print(out)  # the preview, for the record (pytest -s)


def test_plan_files_show_the_moves_and_each_managers_books(planned):
    directory = planned["warehouse"] / "plans"
    (month_dir,) = directory.iterdir()
    moves = pl.read_csv(month_dir / "moves.csv")
    pinned = moves.filter(pl.col("move_reason") == "pinned").select("customer_id", "manager_id").rows()
    assert sorted(pinned) == sorted(planned["pins"])
    managers = pl.read_csv(month_dir / "managers.csv").filter(pl.col("active"))
    half = managers.filter(pl.col("manager_id") == HALF_TIME).row(0, named=True)
    full = managers.filter(pl.col("manager_id") != HALF_TIME)
    # proportional balance: within one account of capacity x (accounts / total capacity)
    total_capacity = managers.get_column("capacity").sum()
    customers = managers.get_column("after_all").sum()
    for row in managers.iter_rows(named=True):
        assert abs(row["after_all"] - customers * row["capacity"] / total_capacity) < 1 + 1e-9
    assert half["after_all"] < full.get_column("after_all").min()
    with duckdb.connect(str(planned["warehouse"] / "warehouse.duckdb"), read_only=True) as con:
        runs = con.execute("SELECT moves, pins_applied, directory FROM assignment.plan_runs").fetchall()
    assert runs == [(moves.height, 2, str(month_dir))]


def test_the_next_run_publishes_the_planned_assignment(planned):
    code, out, err = planned["run"]
    assert code == 0, err
    assert "\npins: applied 2; see module_pins" in out
    (month_dir,) = (planned["warehouse"] / "plans").iterdir()
    moves = pl.read_csv(month_dir / "moves.csv").select("customer_id", "manager_id", "move_reason")
    result = published(
        planned["publication"],
        "SELECT customer_id, manager_id, move_reason FROM latest.module_assignments "
        "WHERE move_reason <> 'kept' ORDER BY 1",
    )
    assert sorted(result.rows()) == sorted(moves.rows())
    modules = published(
        planned["publication"],
        "SELECT manager_id, capacity, pinned_accounts, balance_relaxed FROM latest.modules ORDER BY 1",
    )
    assert modules.filter(pl.col("manager_id") == HALF_TIME).get_column("capacity").item() == 0.5
    assert modules.get_column("pinned_accounts").sum() == 2
    assert not modules.get_column("balance_relaxed").any()
