"""BI readers during runs (SPEC §13): a reader process opens the published file read-only in a
loop, as a BI tool does (connect, query the latest views and `publications`, close), while a real
`accounts run` and then an `accounts backfill` of three months rebuild and swap it. The reader is
never refused, never waits long and always sees one whole publication: every table holds exactly
the rows its `publications` row counted. Then a DuckDB 1.1 client reads the published file."""

import json
import os
import shutil
import subprocess
import sys
import time
import venv

import duckdb
import pytest
from conftest import SAMPLE_LANDING
from run_helpers import accounts_env, run_accounts

pytestmark = pytest.mark.e2e

MAX_QUERY_SECONDS = 2.0  # one reader round trip: connect, ~20 queries, close
MIN_READS = 20  # reads of a publication per phase, to judge "never refused, never torn" on
OLD_DUCKDB = "1.1.3"

READER = r"""
import json, sys, time
from pathlib import Path
import duckdb

published, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), open(sys.argv[3], "w")
while not stop.exists():
    started = time.monotonic()
    if not published.exists():  # before the first publication
        out.write(json.dumps({"absent": True}) + "\n"); out.flush(); time.sleep(0.05); continue
    record = {}
    try:
        con = duckdb.connect(str(published), read_only=True)
        try:
            pid, counts, latest, as_of_dates = con.execute(
                "SELECT publication_id, row_counts, latest_as_of_date::VARCHAR, as_of_dates::VARCHAR[] "
                "FROM publications ORDER BY publication_id DESC LIMIT 1").fetchone()
            counts = json.loads(counts)
            actual = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in counts}
            latest_rows = con.execute("SELECT count(*) FROM latest.customer_worth").fetchone()[0]
            latest_expected = con.execute(
                "SELECT count(*) FROM main.customer_worth WHERE as_of_date = ?", [latest]).fetchone()[0]
            dates = [str(d) for (d,) in con.execute(
                "SELECT DISTINCT as_of_date FROM main.customer_worth ORDER BY 1").fetchall()]
            grades = con.execute("SELECT grade, count(*) FROM latest.customer_worth GROUP BY 1").fetchall()
            modules = con.execute("SELECT count(*), sum(accounts) FROM latest.modules").fetchone()
        finally:
            con.close()
        record = {"publication": pid, "consistent": actual == counts and latest_rows == latest_expected
                  and dates == as_of_dates and sum(n for _, n in grades) == latest_rows
                  and modules[1] in (None, latest_rows),
                  "counts": counts, "actual": actual}
    except Exception as exc:  # a refused or failed read is what the test must never see
        record = {"error": f"{type(exc).__name__}: {exc}"}
    record["seconds"] = time.monotonic() - started
    out.write(json.dumps(record) + "\n"); out.flush()
    time.sleep(0.02)
out.close()
"""


def await_reads(log, count, timeout):
    """Until the reader's log holds `count` reads of a publication, or `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines() if log.exists() else []
        if sum('"absent"' not in line for line in lines) >= count:
            return
        time.sleep(0.1)


def install_old_duckdb(target):
    """A venv with DuckDB 1.1 from PyPI, built in the background while the runs go on."""
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    python = target / "bin" / "python"
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--timeout", "30", f"duckdb=={OLD_DUCKDB}"]  # fmt: skip
    return python, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def readers(tmp_path_factory):
    base = tmp_path_factory.mktemp("readers")
    landing, warehouse = base / "landing", base / "warehouse"
    shutil.copytree(SAMPLE_LANDING, landing)
    published = warehouse / "accounts.duckdb"
    old_python, pip = install_old_duckdb(base / "duckdb11")
    script = base / "reader.py"
    script.write_text(READER)
    env = accounts_env(landing, warehouse)
    phases = {}
    # the backfill builds the first publication (the reader waits for the file to appear), the
    # nightly run then replaces it
    for phase, args in (("backfill", ["backfill", "--from", "2026-07", "--to", "2026-09"]), ("run", ["run"])):
        stop, log = base / f"{phase}.stop", base / f"{phase}.jsonl"
        reader = subprocess.Popen([sys.executable, str(script), str(published), str(stop), str(log)],
                                  stderr=subprocess.PIPE, text=True)  # fmt: skip
        done = run_accounts(env, *args)
        time.sleep(0.5)  # let the reader see the new publication too
        # and read it often enough to judge: after a backfill, the only reads are those after the
        # first publication appeared (the end of the run), ~20 in 0.5 s; a slower machine made fewer
        await_reads(log, MIN_READS, timeout=30)
        stop.touch()
        _, reader_errors = reader.communicate(timeout=60)
        assert reader.returncode == 0, reader_errors
        assert done.returncode == 0, done.stderr
        phases[phase] = [json.loads(line) for line in log.read_text().splitlines()]
    pip_output, _ = pip.communicate(timeout=600)
    return {"phases": phases, "published": published, "old_python": old_python,
            "pip": (pip.returncode, pip_output)}  # fmt: skip


@pytest.mark.parametrize("phase", ["run", "backfill"])
def test_readers_never_fail_never_wait_and_see_whole_publications(readers, phase):
    records = [r for r in readers["phases"][phase] if not r.get("absent")]
    errors = [r["error"] for r in records if "error" in r]
    assert errors == []
    assert len(records) >= MIN_READS, f"only {len(records)} reader queries ran"
    slowest = max(r["seconds"] for r in records)
    assert slowest < MAX_QUERY_SECONDS, slowest
    torn = [r for r in records if not r["consistent"]]
    assert torn == [], torn[:2]
    seen = sorted({r["publication"] for r in records})
    # the reader saw the old publication (or none) while the run worked, the new one after the swap
    assert seen == ([1] if phase == "backfill" else [1, 2]), seen
    print(
        f"{phase}: {len(records)} reader queries, publications {seen}, slowest {slowest:.3f} s, "
        f"{sum(r.get('absent', False) for r in readers['phases'][phase])} before the first publication"
    )


def test_publications_hold_the_backfilled_months_then_the_current_one(readers):
    con = duckdb.connect(str(readers["published"]), read_only=True)
    try:
        months = con.execute(
            "SELECT months_refreshed, as_of_dates::VARCHAR[] FROM publications ORDER BY publication_id"
        ).fetchall()
    finally:
        con.close()
    assert months[0] == (["2026-07", "2026-08", "2026-09"], ["2026-07-31", "2026-08-31", "2026-09-30"])
    assert months[1] == (["2026-10"], ["2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31"])


OLD_CLIENT = r"""
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(json.dumps({
    "version": duckdb.__version__,
    "publications": con.execute("SELECT publication_id, latest_as_of_date::VARCHAR, checks_passed "
                                "FROM publications ORDER BY 1").fetchall(),
    "latest": con.execute("SELECT grade, count(*) FROM latest.customer_worth "
                          "GROUP BY 1 ORDER BY 1").fetchall(),
    "tables": con.execute("SELECT schema_name, table_name, estimated_size, comment IS NOT NULL "
                          "FROM duckdb_tables() ORDER BY 1, 2").fetchall(),
    "quarantine": con.execute("SELECT count(*) FROM audit.quarantine").fetchone()[0],
    "modules": con.execute("SELECT sum(accounts) FROM latest.modules").fetchone()[0],
}))
"""


def test_the_published_file_opens_with_a_duckdb_1_1_client(readers, tmp_path):
    code, output = readers["pip"]
    if code != 0:
        pytest.skip(f"cannot install duckdb=={OLD_DUCKDB} from the package index (pip exit {code}): "
                    f"{output.strip().splitlines()[-1] if output.strip() else 'no output'}")  # fmt: skip
    script = tmp_path / "old_client.py"
    script.write_text(OLD_CLIENT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(readers["old_python"]), str(script), str(readers["published"])],
                          capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["version"] == OLD_DUCKDB
    assert [p[0] for p in seen["publications"]] == [1, 2]
    assert sum(n for _, n in seen["latest"]) == seen["modules"] == 3000
    con = duckdb.connect(str(readers["published"]), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2").fetchall()
    finally:
        con.close()
    assert [tuple(t[:2]) for t in seen["tables"]] == [tuple(t) for t in tables]
    assert all(t[3] for t in seen["tables"])  # the catalogue comments survive too
