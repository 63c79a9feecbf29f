"""Lint of the compiled models for the traps that differ silently between DuckDB and Spark (the
two engines of one dbt project, docs/SPARK.md). Each rule names a difference that raised no
error when it was found:

- no `*` in a UNION branch: the branches are matched by position, and a star's columns may come
  in another order on the other engine (Spark puts a USING join's key first);
- no star (`*`, `x.*`) in a select whose joins use USING, for the same reason;
- an explicit NULLS FIRST / NULLS LAST on every ordering (windows, ordered lists, ORDER BY):
  DuckDB puts NULLs last by default, Spark first for ascending order.

The models are compiled for DuckDB (its forms are the ones with defaults to guard) and parsed
with sqlglot; an ordering's NULL placement is explicit when it reads the same under DuckDB's
default and under the opposite one."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from dbt_helpers import WORKBENCH, raw_warehouse, run_dbt
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB


class _NullsFirstDuckDB(DuckDB):
    """DuckDB's grammar with Spark's NULL ordering default."""

    NULL_ORDERING = "nulls_are_small"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, str]:
    warehouse = tmp_path_factory.mktemp("lint") / "warehouse.duckdb"
    with raw_warehouse(warehouse):
        pass
    run_dbt(warehouse, "compile", vars={"month_from": "2026-10", "month_to": "2026-10"})
    root = WORKBENCH / "target" / "compiled" / "accounts"
    files = sorted((root / "models").rglob("*.sql")) + sorted((root / "tests").rglob("*.sql"))
    return {str(p.relative_to(root)): p.read_text() for p in files}


def _is_star(expression: exp.Expression) -> bool:
    return isinstance(expression, exp.Star) or (
        isinstance(expression, exp.Column) and isinstance(expression.this, exp.Star)
    )


def star_in_union_branch(tree: exp.Expression) -> list[str]:
    return [
        side.sql("duckdb")[:120]
        for union in tree.find_all(exp.Union)
        for side in (union.left, union.right)
        if isinstance(side, exp.Select) and any(_is_star(e) for e in side.expressions)
    ]


def star_after_using_join(tree: exp.Expression) -> list[str]:
    return [
        e.sql("duckdb")
        for select in tree.find_all(exp.Select)
        if any(join.args.get("using") for join in select.args.get("joins") or [])
        for e in select.expressions
        if _is_star(e)
    ]


def implicit_null_ordering(sql: str) -> list[str]:
    as_duckdb = list(sqlglot.parse_one(sql, read="duckdb").find_all(exp.Ordered))
    as_spark = list(sqlglot.parse_one(sql, read=_NullsFirstDuckDB).find_all(exp.Ordered))
    return [
        a.sql("duckdb")
        for a, b in zip(as_duckdb, as_spark, strict=True)
        if a.args.get("nulls_first") != b.args.get("nulls_first")
    ]


def test_every_model_and_test_compiles_and_parses(compiled):
    assert len([p for p in compiled if p.startswith("models/")]) >= 40
    for path, sql in compiled.items():
        assert sqlglot.parse_one(sql, read="duckdb") is not None, path


def test_no_star_in_a_union_branch_or_after_a_using_join(compiled):
    found = {}
    for path, sql in compiled.items():
        tree = sqlglot.parse_one(sql, read="duckdb")
        problems = star_in_union_branch(tree) + star_after_using_join(tree)
        if problems:
            found[path] = problems
    assert not found, f"list the columns (or join with ON): {found}"


def test_every_ordering_places_its_nulls_explicitly(compiled):
    found = {path: implicit for path, sql in compiled.items() if (implicit := implicit_null_ordering(sql))}
    assert not found, f"add NULLS FIRST or NULLS LAST: {found}"


@pytest.mark.parametrize(
    ("sql", "rule", "expected"),
    [
        ("select 'a' as k, s.* from s union all select 'b', t.x from t", star_in_union_branch, 1),
        ("select 'a' as k, s.x from s union all select 'b', t.x from t", star_in_union_branch, 0),
        ("select s.*, d.w from s join d using (as_of_date)", star_after_using_join, 1),
        ("select s.*, d.w from s join d on d.as_of_date = s.as_of_date", star_after_using_join, 0),
        ("select row_number() over (order by a) from t", implicit_null_ordering, 1),
        ("select row_number() over (order by a desc nulls last) from t", implicit_null_ordering, 0),
        ("select list(x order by a nulls first) from t", implicit_null_ordering, 0),
    ],
)
def test_each_rule_catches_its_trap(sql, rule, expected):
    tree = sql if rule is implicit_null_ordering else sqlglot.parse_one(sql, read="duckdb")
    assert len(rule(tree)) == expected


def test_the_lint_reads_the_project_it_guards():
    assert (Path(__file__).resolve().parents[2] / "transforms" / "macros" / "portable.sql").exists()
