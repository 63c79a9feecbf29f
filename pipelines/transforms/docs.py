"""`accounts docs`: the dbt docs site of the published tables, as one self-contained HTML file.

dbt documents a database it connects to; BI tools read the published file, not the working
warehouse. So the docs are generated on the `published` target against a copy of the published
file (dbt opens its database for writing; a copy leaves the published file to its readers), where
the marts sit in the main schema. The site opens on the project's own overview page
(`transforms/docs/overview.md`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

DOCS_TARGET = "published"
INDEX_FILE = "index.html"


class DocsFailed(RuntimeError):
    pass


def build_docs(published: Path, out: Path) -> Path:
    """Write `out/index.html`, the dbt docs of the published file's tables; return its path."""
    from pipelines.transforms.project import dbt_command

    if not published.exists():
        raise DocsFailed(f"no published file at {published}: run `accounts run` first")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="accounts-docs-") as scratch:
        copy = Path(scratch) / published.name  # the same file name: dbt names the database after it
        shutil.copyfile(published, copy)
        target = Path(scratch) / "target"
        command = dbt_command(
            "docs", "generate", "--static", "--target", DOCS_TARGET, "--target-path", str(target),
            "--log-path", str(Path(scratch) / "logs"), "--select", "marts", "--quiet",
        )  # fmt: skip
        month = _latest_month(copy)  # compiling the marts needs a month; any published one does
        environment = os.environ | {
            "ACCOUNTS_WAREHOUSE_PATH": str(copy),
            "ACCOUNTS_MONTH_FROM": month,
            "ACCOUNTS_MONTH_TO": month,
        }
        done = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=scratch)
        static = target / "static_index.html"
        if done.returncode != 0 or not static.exists():
            detail = (done.stdout + done.stderr).strip().splitlines()[-5:]
            raise DocsFailed("dbt docs generate failed:\n    " + "\n    ".join(detail))
        index = out / INDEX_FILE
        shutil.copyfile(static, index)
    return index


def _latest_month(published: Path) -> str:
    import duckdb

    con = duckdb.connect(str(published), read_only=True)
    try:
        (latest,) = con.execute("SELECT max(latest_as_of_date) FROM publications").fetchone()
    finally:
        con.close()
    if latest is None:
        raise DocsFailed(f"{published} holds no snapshot yet: run `accounts run` on data with revenue first")
    return latest.strftime("%Y-%m")
