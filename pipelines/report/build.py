"""The publication as one HTML page a sales leader can open anywhere, offline: the worth matrix,
the grade mix of the modules, loyalty and revenue at risk over the months, the impact study,
concentration, contact drivers, the manager scorecard and the early-warning call list.

Reading and drawing are kept apart: each query function runs one query over the published tables
(schemas main, latest and audit) and returns a frame; each `*_figure` function turns frames into a
plotly figure; `render_report` puts them on the page. plotly.js is inlined once, in the head, so
the page needs no network.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from pipelines.core import paths
from pipelines.core.config import load_config
from pipelines.core.vocabulary import (
    CLASSES,
    DRIVER_LABELS,
    GRADES,
    IMPACT_POPULATIONS,
    SEGMENTS,
)

WORTH_MATRIX = "worth-matrix"
GRADE_MIX = "grade-mix"
LOYALTY_SEGMENTS = "loyalty-segments"
REVENUE_AT_RISK = "revenue-at-risk"
IMPACT_STUDY = "impact-study"
CONCENTRATION = "concentration"
CONTACT_DRIVERS = "contact-drivers"
MANAGER_SCORECARD = "manager-scorecard"
EARLY_WARNING = "early-warning"

# Sections drawn by plotly, sections shown as HTML tables, and all of them in page order.
FIGURE_IDS = (
    WORTH_MATRIX,
    GRADE_MIX,
    LOYALTY_SEGMENTS,
    REVENUE_AT_RISK,
    IMPACT_STUDY,
    CONCENTRATION,
    CONTACT_DRIVERS,
)
TABLE_IDS = (MANAGER_SCORECARD, EARLY_WARNING)
CHART_IDS = FIGURE_IDS + TABLE_IDS

NO_DATA = "No data for this publication."
EARLY_WARNING_ROWS_PER_MANAGER = 10

DEFECTOR = SEGMENTS[-1]  # the segment of the customers who stopped buying

GRADE_COLOURS = dict(zip(GRADES, ("#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef"), strict=True))
SEGMENT_COLOURS = dict(zip(SEGMENTS, ("#2e7d32", "#9ccc65", "#ef6c00", "#9e9e9e"), strict=True))
# Plain words for the method's codes, keyed by their vocabulary values (see pipelines.core.vocabulary).
POPULATION_NAMES = {"all": "All customers", "cohort": "Customers we had at the baseline"}
RISK_REASON_NAMES = {
    "recency": "no recent purchase",
    "decline": "buying less",
    "dissatisfier": "recent complaints",
    "gap": "order overdue",
}
DRIVER_LABEL_NAMES = {
    "dissatisfier": "Signals trouble",
    "satisfier": "Goes with loyalty",
    "neutral": "No clear effect",
    "insufficient_support": "Too few customers to tell",
}
DRIVER_LABEL_COLOURS = {
    "dissatisfier": "#c62828",
    "satisfier": "#2e7d32",
    "neutral": "#9e9e9e",
    "insufficient_support": "#d7d7d7",
}

FONT_FAMILY = '-apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
# No plotly logo: its link is the only thing in a figure that points off the page.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def build_report(published: Path, out: Path | None = None) -> Path:
    """Write the report of the published DuckDB file (opened read-only) and return its path."""
    published = Path(published)
    if not published.is_file():
        raise FileNotFoundError(f"no published file at {published}")
    out = Path(out) if out is not None else paths.report_path_for(published)
    con = duckdb.connect(str(published), read_only=True)
    try:
        page = render_report(con)
    finally:
        con.close()
    _write_atomically(out, page)
    return out


# --- reading: one small query per chart --------------------------------------------------------


def publication_facts(con: duckdb.DuckDBPyConnection) -> dict:
    """The newest publication's id, dates and configuration, with the headline counts."""
    row = con.execute(
        "SELECT publication_id, published_at, latest_as_of_date, len(as_of_dates), config, "
        "(SELECT count(*) FROM latest.customer_worth), (SELECT count(*) FROM latest.modules), "
        "(SELECT count(*) FROM audit.data_issues), (SELECT count(*) FROM audit.quarantine), "
        "(SELECT count(*) FROM audit.held_rows) "
        "FROM main.publications ORDER BY publication_id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise ValueError("the file holds no publication")
    keys = (
        "publication_id",
        "published_at",
        "latest_as_of_date",
        "snapshots",
        "config",
        "customers_graded",
        "managers",
        "data_issues",
        "quarantined_rows",
        "held_rows",
    )
    facts = dict(zip(keys, row, strict=True))
    facts["config"] = config_from_json(facts["config"])
    return facts


def config_from_json(text: str | None) -> dict:
    """The publication's configuration; empty when missing or unreadable (the report then uses
    the method's defaults)."""
    try:
        config = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return config if isinstance(config, dict) else {}


@cache
def method_defaults() -> dict:
    """The packaged default configuration, for a publication that does not record its own."""
    return load_config(paths.DEFAULT_CONFIG_PATH).model_dump(mode="json")


def window_months(config: dict) -> int:
    return int(config.get("revenue_window_months") or method_defaults()["revenue_window_months"])


def driver_bands(config: dict) -> tuple[float, float]:
    """(dissatisfier lift, satisfier lift): the lifts above and below which a contact is labelled."""
    drivers = config.get("contact_drivers") or method_defaults()["contact_drivers"]
    return float(drivers["dissatisfier_lift"]), float(drivers["satisfier_lift"])


def worth_matrix_cells(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        "SELECT actual_class, incremental_class, grade, customers, "
        "actual_revenue::DOUBLE AS actual_revenue, incremental_revenue::DOUBLE AS incremental_revenue "
        "FROM latest.worth_matrix ORDER BY actual_class, incremental_class"
    ).df()


def grade_mix(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Customers per manager and grade in the latest assignment."""
    return con.execute(
        "SELECT coalesce(manager_name, manager_id) AS manager, grade, count(*) AS customers "
        "FROM latest.module_assignments GROUP BY ALL ORDER BY manager, grade"
    ).df()


def segment_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Customers per loyalty segment on every published snapshot date."""
    return con.execute(
        "SELECT as_of_date, segment, count(*) AS customers FROM main.customer_loyalty "
        "GROUP BY ALL ORDER BY as_of_date, segment"
    ).df()


def exposure_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        "SELECT as_of_date, at_risk_customers, at_risk_revenue::DOUBLE AS at_risk_revenue, expected_loss "
        "FROM main.at_risk_exposure WHERE dimension = 'overall' ORDER BY as_of_date"
    ).df()


def impact_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        "SELECT as_of_date, population, baseline_date, at_risk_share, expected_loss "
        "FROM main.impact_study ORDER BY population, as_of_date"
    ).df()


def concentration_shares(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The revenue shares of the largest customers, one row per group, smallest group first."""
    return con.execute(
        "SELECT label, share FROM ("
        "  SELECT 1 AS position, 'Largest customer' AS label, top_1_share AS share FROM latest.concentration"
        "  UNION ALL SELECT 2, 'Largest 5', top_5_share FROM latest.concentration"
        "  UNION ALL SELECT 3, 'Largest 10', top_10_share FROM latest.concentration"
        "  UNION ALL SELECT 4, 'Largest 20% (' || format('{:,}', top_20pct_customers) || ')', "
        "    top_20pct_share FROM latest.concentration"
        ") WHERE share IS NOT NULL ORDER BY position"
    ).df()


def cumulative_revenue_curve(con: duckdb.DuckDBPyConnection, points: int = 100) -> pd.DataFrame:
    """The cumulative share of revenue held by the largest customers, at about `points` steps of
    the share of customers (largest first), so the page stays small however many customers there
    are. Same population as the concentration table: active customers, revenue floored at 0."""
    return con.execute(
        """
        WITH ranked AS (
            SELECT row_number() OVER (ORDER BY revenue DESC) AS position,
                   count(*) OVER () AS customers,
                   sum(revenue) OVER (ORDER BY revenue DESC ROWS UNBOUNDED PRECEDING) AS cumulative,
                   sum(revenue) OVER () AS total
            FROM (SELECT greatest(revenue_12m, 0)::DOUBLE AS revenue
                  FROM latest.customer_loyalty WHERE segment <> ?)
        )
        SELECT max(position / customers) AS customer_share, max(cumulative / total) AS revenue_share
        FROM ranked WHERE total > 0
        GROUP BY ceil(position * ? / customers) ORDER BY customer_share
        """,
        [DEFECTOR, points],
    ).df()


def contact_driver_lifts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Lift per contact reason, highest first."""
    return con.execute(
        "SELECT driver_value AS reason, lift, measured_label, customers_with_contact "
        "FROM latest.contact_drivers WHERE driver_type = 'reason_code' AND lift IS NOT NULL "
        "ORDER BY lift DESC, reason"
    ).df()


def manager_scorecard(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    grade_columns = ", ".join(f"accounts_{grade.lower()}" for grade in GRADES)
    return con.execute(
        f"SELECT coalesce(manager_name, manager_id) AS manager, accounts, {grade_columns}, "
        "revenue_12m::DOUBLE AS revenue, revenue_change_pct, contact_coverage, retention_rate, "
        "at_risk_customers, at_risk_revenue::DOUBLE AS at_risk_revenue, expected_loss "
        "FROM latest.manager_scorecard ORDER BY manager"
    ).df()


def early_warning_calls(con: duckdb.DuckDBPyConnection, per_manager: int) -> pd.DataFrame:
    """The first `per_manager` customers of each manager's call list, with the size and expected
    loss of the whole list; managers by name, customers without a manager last."""
    return con.execute(
        """
        SELECT coalesce(manager_name, manager_id, 'No manager assigned') AS manager,
               count(*) OVER manager_list AS manager_customers,
               sum(expected_loss) OVER manager_list AS manager_expected_loss,
               warning_rank, customer_name, grade, expected_loss, revenue_12m::DOUBLE AS revenue,
               risk_reasons, last_dissatisfier_contacts
        FROM latest.early_warning
        WINDOW manager_list AS (PARTITION BY manager_id)
        QUALIFY row_number() OVER (PARTITION BY manager_id ORDER BY warning_rank) <= ?
        ORDER BY manager_name NULLS LAST, manager_id, warning_rank
        """,
        [per_manager],
    ).df()


# --- drawing -----------------------------------------------------------------------------------


def worth_matrix_grid(cells: pd.DataFrame) -> tuple[list[list], list[list[str]]]:
    """The 5 x 5 matrix as plotly's heatmap wants it: rows are actual classes (1 first, drawn at
    the bottom), columns incremental classes; z is the grade's level (see `grade_level`), the text
    says grade, customers and revenue."""
    by_cell = {(row.actual_class, row.incremental_class): row for row in cells.itertuples()}
    z, text = [], []
    for actual in CLASSES:
        cells_in_row = [by_cell.get((actual, incremental)) for incremental in CLASSES]
        z.append([None if c is None else grade_level(c.grade) for c in cells_in_row])
        text.append(
            [
                ""
                if c is None
                else f"<b>{c.grade}</b><br>{c.customers:,} customers<br>{compact_amount(c.actual_revenue)}"
                for c in cells_in_row
            ]
        )
    return z, text


def grade_level(grade: str) -> int:
    """D = 0 up to AA = 4, so the colour bar has the best grade at the top."""
    return len(GRADES) - 1 - GRADES.index(grade)


def worth_matrix_figure(cells: pd.DataFrame) -> go.Figure:
    z, text = worth_matrix_grid(cells)
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=list(CLASSES),
            y=list(CLASSES),
            text=text,
            texttemplate="%{text}",
            textfont={"size": 13},
            hovertemplate="Revenue class %{y}, still-to-win class %{x}<br>%{text}<extra></extra>",
            colorscale=_discrete_colourscale([GRADE_COLOURS[g] for g in reversed(GRADES)]),
            zmin=-0.5,
            zmax=len(GRADES) - 0.5,
            xgap=3,
            ygap=3,
            colorbar={
                "title": {"text": "Grade"},
                "tickvals": [grade_level(g) for g in GRADES],
                "ticktext": list(GRADES),
            },
        )
    )
    _style(figure, height=540, margin={"t": 20})
    figure.update_xaxes(title="Revenue still to win (class, 5 = the most)", tickvals=list(CLASSES))
    figure.update_yaxes(title="Revenue today (class, 5 = the most)", tickvals=list(CLASSES))
    return figure


def grade_mix_figure(mix: pd.DataFrame) -> go.Figure:
    managers = sorted(mix["manager"].unique(), reverse=True)  # alphabetical from the top
    counts = mix.pivot_table(
        index="manager", columns="grade", values="customers", aggfunc="sum", fill_value=0
    ).reindex(index=managers, columns=list(GRADES), fill_value=0)
    figure = go.Figure(
        [
            go.Bar(
                name=grade,
                y=managers,
                x=counts[grade],
                orientation="h",
                marker_color=GRADE_COLOURS[grade],
                text=counts[grade],
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate="%{y}: %{x:,} customers of grade " + grade + "<extra></extra>",
            )
            for grade in GRADES
        ]
    )
    _style(figure, height=140 + 30 * len(managers), barmode="stack", legend_title_text="Grade")
    figure.update_layout(uniformtext={"minsize": 10, "mode": "hide"})
    figure.update_xaxes(title="Customers")
    return figure


def loyalty_figure(history: pd.DataFrame) -> go.Figure:
    counts = history.pivot_table(
        index="as_of_date", columns="segment", values="customers", aggfunc="sum", fill_value=0
    )
    months = month_labels(counts.index)
    figure = go.Figure(
        [
            go.Bar(
                name=segment,
                x=months,
                y=counts[segment],
                marker_color=SEGMENT_COLOURS[segment],
                hovertemplate="%{x}: %{y:,} " + segment + "<extra></extra>",
            )
            for segment in SEGMENTS
            if segment in counts.columns
        ]
    )
    _style(figure, height=440, barmode="stack", legend_title_text="Segment")
    figure.update_yaxes(title="Customers", tickformat=",")
    return figure


def revenue_at_risk_figure(exposure: pd.DataFrame, window: int) -> go.Figure:
    months = month_labels(exposure["as_of_date"])
    figure = go.Figure(
        [
            go.Bar(
                name=f"Revenue of at-risk customers (last {window} months)",
                x=months,
                y=exposure["at_risk_revenue"],
                customdata=exposure["at_risk_customers"],
                marker_color="#f5a25d",
                hovertemplate="%{x}: %{y:,.0f} from %{customdata:,} at-risk customers<extra></extra>",
            ),
            go.Scatter(
                name="Expected loss",
                x=months,
                y=exposure["expected_loss"],
                mode="lines+markers",
                line={"color": "#b71c1c", "width": 3},
                hovertemplate="%{x}: expected loss %{y:,.0f}<extra></extra>",
            ),
        ]
    )
    _style(figure, height=440)
    figure.update_yaxes(title="Revenue", tickformat="~s", rangemode="tozero")
    return figure


def impact_figure(impact: pd.DataFrame) -> go.Figure:
    measures = (
        ("at_risk_share", "Share of active customers at risk", ".1%"),
        ("expected_loss", "Expected loss", ",.0f"),
    )
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    colours = dict(zip(IMPACT_POPULATIONS, ("#1f5fa8", "#ef6c00"), strict=True))  # one per population
    for population in IMPACT_POPULATIONS:
        rows = impact[impact["population"] == population]
        if rows.empty:
            continue
        name = POPULATION_NAMES.get(population, population)
        for row, (measure, _, fmt) in enumerate(measures, start=1):
            figure.add_trace(
                go.Scatter(
                    name=name,
                    legendgroup=population,
                    showlegend=row == 1,
                    x=impact_month_labels(rows),
                    y=rows[measure],
                    mode="lines+markers",
                    line={"color": colours[population], "width": 3},
                    hovertemplate=f"%{{x}}: %{{y:{fmt}}} ({name.lower()})<extra></extra>",
                ),
                row=row,
                col=1,
            )
    # Both populations are the same customers at the baseline: one reference level per measure.
    baseline = impact[impact["as_of_date"] == impact["baseline_date"]]
    if not baseline.empty:
        months = impact_month_labels(impact[impact["population"] == impact["population"].iloc[0]])
        for row, (measure, _, _) in enumerate(measures, start=1):
            level = float(baseline[measure].iloc[0])
            figure.add_trace(
                go.Scatter(
                    name="Baseline level",
                    legendgroup="baseline",
                    showlegend=row == 1,
                    x=[months[0], months[-1]],
                    y=[level, level],
                    mode="lines",
                    line={"color": "#757575", "dash": "dot"},
                    hoverinfo="skip",
                ),
                row=row,
                col=1,
            )
    _style(figure, height=620)
    for row, (_, title, fmt) in enumerate(measures, start=1):
        figure.update_yaxes(title=title, tickformat=".0%" if fmt.endswith("%") else "~s", row=row, col=1)
    return figure


def impact_month_labels(rows: pd.DataFrame) -> list[str]:
    """Month labels, the baseline's marked as such."""
    return [
        f"{label}<br>(baseline)" if is_baseline else label
        for label, is_baseline in zip(
            month_labels(rows["as_of_date"]), rows["as_of_date"] == rows["baseline_date"], strict=True
        )
    ]


def concentration_figure(shares: pd.DataFrame, curve: pd.DataFrame) -> go.Figure:
    figure = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.4, 0.6],
        subplot_titles=(
            "Revenue held by the largest customers",
            "Cumulative revenue, largest customers first",
        ),
        horizontal_spacing=0.1,
    )
    figure.add_trace(
        go.Bar(
            x=shares["label"],
            y=shares["share"],
            text=[f"{share:.0%}" for share in shares["share"]],
            textposition="outside",
            marker_color="#3182bd",
            showlegend=False,
            hovertemplate="%{x}: %{y:.1%} of revenue<extra></extra>",
        ),
        row=1,
        col=1,
    )
    # The curve starts at the origin: no customers, no revenue.
    customer_share = [0.0, *curve["customer_share"]]
    revenue_share = [0.0, *curve["revenue_share"]]
    figure.add_trace(
        go.Scatter(
            name="Our customers",
            x=customer_share,
            y=revenue_share,
            mode="lines",
            line={"color": "#1f5fa8", "width": 3},
            hovertemplate="The largest %{x:.0%} of customers hold %{y:.0%} of revenue<extra></extra>",
        ),
        row=1,
        col=2,
    )
    figure.add_trace(
        go.Scatter(
            name="Revenue spread evenly",
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"color": "#9e9e9e", "dash": "dash"},
            hoverinfo="skip",
        ),
        row=1,
        col=2,
    )
    # The legend sits in the empty corner under the diagonal.
    _style(figure, height=460, legend={"orientation": "v", "x": 0.98, "y": 0.06, "xanchor": "right"})
    figure.update_yaxes(tickformat=".0%", title="Share of revenue", range=[0, 1.12], row=1, col=1)
    figure.update_yaxes(tickformat=".0%", title="Share of revenue", range=[0, 1.02], row=1, col=2)
    figure.update_xaxes(tickformat=".0%", title="Share of customers", range=[0, 1], row=1, col=2)
    return figure


def contact_drivers_figure(drivers: pd.DataFrame, bands: tuple[float, float]) -> go.Figure:
    dissatisfier_lift, satisfier_lift = bands
    order = [plain_words(reason) for reason in drivers["reason"]]
    figure = go.Figure()
    for label in DRIVER_LABELS:
        rows = drivers[drivers["measured_label"] == label]
        if rows.empty:
            continue
        figure.add_trace(
            go.Bar(
                name=DRIVER_LABEL_NAMES.get(label, plain_words(label)),
                x=[plain_words(reason) for reason in rows["reason"]],
                y=rows["lift"],
                customdata=rows["customers_with_contact"],
                marker_color=DRIVER_LABEL_COLOURS.get(label, "#9e9e9e"),
                hovertemplate="%{x}: %{y:.2f} times the average, %{customdata:,} customers had it"
                "<extra></extra>",
            )
        )
    top = max(float(drivers["lift"].max()), dissatisfier_lift) * 1.1
    figure.add_hrect(y0=dissatisfier_lift, y1=top, fillcolor="#c62828", opacity=0.07, line_width=0)
    figure.add_hrect(y0=0, y1=satisfier_lift, fillcolor="#2e7d32", opacity=0.07, line_width=0)
    for lift, colour, text in (
        (dissatisfier_lift, "#c62828", f"{dissatisfier_lift:.2f}: signals trouble above"),
        (1.0, "#757575", "1.00: average"),
        (satisfier_lift, "#2e7d32", f"{satisfier_lift:.2f}: goes with loyalty below"),
    ):
        figure.add_hline(
            y=lift,
            line={"color": colour, "dash": "dash" if lift != 1.0 else "dot", "width": 1.5},
            annotation_text=text,
            annotation_position="top right",
            annotation_font_color=colour,
        )
    _style(figure, height=520, legend_title_text="What the contact tells")
    figure.update_xaxes(categoryorder="array", categoryarray=order, tickangle=-35)
    figure.update_yaxes(title="Times the average rate of at-risk or lost customers", range=[0, top])
    return figure


# --- tables ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    format: Callable[[object], str] = str
    numeric: bool = True


def html_table(frame: pd.DataFrame, columns: Sequence[Column], css_class: str = "") -> str:
    """A plain HTML table; every header and value is escaped."""
    head = "".join(f'<th class="{"num" if c.numeric else ""}">{html.escape(c.header)}</th>' for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if c.numeric else ""}">{html.escape(c.format(row[c.field]))}</td>'
            for c in columns
        )
        + "</tr>"
        for row in frame.to_dict("records")
    )
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def scorecard_table(scorecard: pd.DataFrame, window: int) -> str:
    columns = [
        Column("Account manager", "manager", text_value, numeric=False),
        Column("Accounts", "accounts", count),
        *(Column(grade, f"accounts_{grade.lower()}", count) for grade in GRADES),
        Column(f"Revenue, last {window} months", "revenue", amount),
        Column(f"Change on the {window} months before", "revenue_change_pct", signed_percent),
        Column("Planned contacts made", "contact_coverage", percent),
        Column("Customers kept", "retention_rate", percent),
        Column("At-risk customers", "at_risk_customers", count),
        Column("Revenue at risk", "at_risk_revenue", amount),
        Column("Expected loss", "expected_loss", amount),
    ]
    return html_table(scorecard, columns, css_class="scorecard")


def early_warning_tables(calls: pd.DataFrame, window: int) -> str:
    columns = [
        Column("Rank", "warning_rank", count),
        Column("Customer", "customer_name", text_value, numeric=False),
        Column("Grade", "grade", text_value, numeric=False),
        Column("Expected loss", "expected_loss", amount),
        Column(f"Revenue, last {window} months", "revenue", amount),
        Column("Why flagged", "risk_reasons", risk_reasons_text, numeric=False),
        Column("Latest complaint", "last_dissatisfier_contacts", latest_complaint, numeric=False),
    ]
    blocks = []
    for manager, rows in calls.groupby("manager", sort=False):
        total = int(rows["manager_customers"].iloc[0])
        heading = (
            f"{manager}: {total:,} at-risk customers, "
            f"expected loss {amount(rows['manager_expected_loss'].iloc[0])}"
        )
        more = total - len(rows)
        note = f'<p class="more">and {more:,} more on the list</p>' if more > 0 else ""
        blocks.append(
            f'<div class="manager-calls"><h3>{html.escape(heading)}</h3>'
            f"{html_table(rows, columns, css_class='calls')}{note}</div>"
        )
    return f'<div class="call-lists">{"".join(blocks)}</div>'


# --- formatting --------------------------------------------------------------------------------


def is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def text_value(value: object) -> str:
    return "–" if is_missing(value) else str(value)


def count(value: object) -> str:
    return "–" if is_missing(value) else f"{int(value):,}"


def amount(value: object) -> str:
    return "–" if is_missing(value) else f"{float(value):,.0f}"


def percent(value: object) -> str:
    return "–" if is_missing(value) else f"{float(value):.0%}"


def signed_percent(value: object) -> str:
    return "–" if is_missing(value) else f"{float(value):+.0%}"


def compact_amount(value: float) -> str:
    """1,234,567 -> 1.2M: short enough for a matrix cell."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:,.0f}"


def plain_words(code: str) -> str:
    """billing_error -> billing error."""
    return str(code).replace("_", " ")


def risk_reasons_text(reasons: object) -> str:
    if is_missing(reasons):
        return ""
    return ", ".join(RISK_REASON_NAMES.get(reason, plain_words(reason)) for reason in reasons)


def latest_complaint(contacts: object) -> str:
    """The newest of the customer's last complaints (the list is latest first)."""
    if is_missing(contacts) or len(contacts) == 0:
        return ""
    contact = contacts[0]
    return f"{plain_words(contact['reason_code'])}, {_day(contact['contact_date'])}"


def _day(value: date | datetime | pd.Timestamp) -> str:
    """31 Oct 2026 (no zero padding, on every platform)."""
    day = pd.Timestamp(value)
    return f"{day.day} {day:%b %Y}"


# --- the page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    how_to_read: str
    body: str


def render_report(con: duckdb.DuckDBPyConnection) -> str:
    """The whole page, from an open connection to a published file."""
    facts = publication_facts(con)
    window = window_months(facts["config"])
    exposure = exposure_history(con)
    sections = [
        _figure_section(
            WORTH_MATRIX,
            "Customer worth matrix",
            "Each cell groups the customers by the revenue they bring today (up) and the revenue still "
            "to win from them (across); the label gives the grade the cell earns, its customers and "
            f"their revenue over the last {window} months.",
            worth_matrix_cells(con),
            worth_matrix_figure,
        ),
        _figure_section(
            GRADE_MIX,
            "Grade mix per account manager",
            "Each bar is one account manager's customers split by grade; bars of similar length and "
            "colour mix mean the workload and the best customers are shared fairly.",
            grade_mix(con),
            grade_mix_figure,
        ),
        _figure_section(
            LOYALTY_SEGMENTS,
            "Loyalty over the months",
            "Each bar shows all customers at a month end by how loyally they buy; a growing orange or "
            "grey part means more customers are slipping away or have stopped buying.",
            segment_history(con),
            loyalty_figure,
        ),
        _figure_section(
            REVENUE_AT_RISK,
            "Revenue at risk",
            f"The bars show the revenue of the last {window} months that comes from customers showing "
            "warning signs; the line shows how much revenue we expect to lose if nothing is done.",
            exposure,
            lambda frame: revenue_at_risk_figure(frame, window),
        ),
        _figure_section(
            IMPACT_STUDY,
            "Impact of the account-management programme",
            "Each month is compared with the month before the programme started (the baseline): lines "
            "going down mean a smaller share of customers at risk and less revenue expected to be lost; "
            "the second line follows only the customers we already had, so new customers cannot flatter "
            "the result.",
            impact_history(con),
            impact_figure,
            empty_note="No data for this publication: the study starts once a programme start date is "
            "set and the month before it is published.",
        ),
        _figure_section(
            CONCENTRATION,
            "Revenue concentration",
            "The bars show how much of the revenue the largest customers hold; the further the curve "
            "bows above the dashed line, the more the business depends on a few customers.",
            concentration_shares(con),
            lambda shares: concentration_figure(shares, cumulative_revenue_curve(con)),
        ),
        _figure_section(
            CONTACT_DRIVERS,
            "What contacts tell about loyalty",
            "Each bar compares how often customers who had this kind of contact were later at risk or "
            "lost with the average (1.00): above the red line the contact signals trouble, below the "
            "green line it goes with loyal customers.",
            contact_driver_lifts(con),
            lambda drivers: contact_drivers_figure(drivers, driver_bands(facts["config"])),
        ),
        _table_section(
            MANAGER_SCORECARD,
            "Account manager scorecard",
            f"One row per account manager over the last {window} months: the accounts they look after "
            f"by grade, how their revenue moved against the {window} months before, how much of the "
            "planned contact they made, the customers they kept and the revenue at risk.",
            manager_scorecard(con),
            lambda frame: scorecard_table(frame, window),
        ),
        _table_section(
            EARLY_WARNING,
            "Early-warning call list",
            f"For each account manager, the at-risk customers to call first (up to "
            f"{EARLY_WARNING_ROWS_PER_MANAGER}), ranked by the revenue we expect to lose, with the "
            "reasons they were flagged.",
            early_warning_calls(con, EARLY_WARNING_ROWS_PER_MANAGER),
            lambda frame: early_warning_tables(frame, window),
        ),
    ]
    latest_exposure = exposure.iloc[-1] if not exposure.empty else None
    return _page(facts, latest_exposure, sections)


def _figure_section(
    section_id: str,
    title: str,
    how_to_read: str,
    data: pd.DataFrame,
    draw: Callable[[pd.DataFrame], go.Figure],
    empty_note: str = NO_DATA,
) -> Section:
    if data.empty:
        return Section(section_id, title, how_to_read, f'<p class="no-data">{html.escape(empty_note)}</p>')
    figure_html = draw(data).to_html(
        full_html=False, include_plotlyjs=False, div_id=f"{section_id}-figure", config=PLOTLY_CONFIG
    )
    return Section(section_id, title, how_to_read, figure_html)


def _table_section(
    section_id: str, title: str, how_to_read: str, data: pd.DataFrame, render: Callable[[pd.DataFrame], str]
) -> Section:
    body = f'<p class="no-data">{NO_DATA}</p>' if data.empty else render(data)
    return Section(section_id, title, how_to_read, body)


def _page(facts: dict, latest_exposure: pd.Series | None, sections: list[Section]) -> str:
    kpis = [
        ("customers graded", count(facts["customers_graded"])),
        ("account managers", count(facts["managers"])),
    ]
    if latest_exposure is not None:
        kpis += [
            ("at-risk customers", count(latest_exposure["at_risk_customers"])),
            ("revenue at risk", amount(latest_exposure["at_risk_revenue"])),
            ("expected loss", amount(latest_exposure["expected_loss"])),
        ]
    kpi_html = "".join(
        f'<div class="kpi"><span class="value">{html.escape(value)}</span>'
        f'<span class="label">{html.escape(label)}</span></div>'
        for label, value in kpis
    )
    published_at = f"{_day(facts['published_at'])} {pd.Timestamp(facts['published_at']):%H:%M} UTC"
    facts_html = (
        f'<dl class="facts"><dt>Publication</dt><dd id="publication-id">{count(facts["publication_id"])}</dd>'
        f'<dt>Figures as of</dt><dd id="as-of-date">{_day(facts["latest_as_of_date"])}</dd>'
        f'<dt>Published</dt><dd id="published-at">{html.escape(published_at)}</dd>'
        f"<dt>Months covered</dt><dd>{count(facts['snapshots'])}</dd></dl>"
    )
    data_note = (
        f"About the data: {facts['data_issues']:,} loaded rows miss a descriptive value (such as a region), "
        f"{facts['quarantined_rows']:,} rows were rejected and {facts['held_rows']:,} rows wait for "
        "their customer to arrive."
    )
    nav = "".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    body = "".join(
        f'<section class="chart" id="{s.id}"><h2>{html.escape(s.title)}</h2>'
        f'<p class="how-to-read">{html.escape(s.how_to_read)}</p>{s.body}</section>'
        for s in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Account management report, {_day(facts['latest_as_of_date'])}</title>"
        f"<style>{CSS}</style>"
        # plotly.js once, for every figure below; the page needs no network.
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        "</head><body><main>"
        f'<header><h1>Account management report</h1>{facts_html}<div class="kpis">{kpi_html}</div>'
        f'<p class="data-note">{html.escape(data_note)}</p><nav>{nav}</nav></header>'
        f"{body}</main></body></html>\n"
    )


def _style(figure: go.Figure, height: int, **layout) -> None:
    figure.update_layout(
        template="plotly_white",
        height=height,
        font={"family": FONT_FAMILY, "size": 13, "color": "#263238"},
        margin={"l": 70, "r": 30, "t": 50, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "traceorder": "normal"},
        hoverlabel={"font_family": FONT_FAMILY},
    )
    figure.update_layout(**layout)


def month_labels(dates: Sequence) -> list[str]:
    """Snapshot dates as the months they close (Oct 2026): charts over the months put them on a
    category axis, one bar or point per snapshot, labelled under it."""
    return [pd.Timestamp(value).strftime("%b %Y") for value in dates]


def _discrete_colourscale(colours: Sequence[str]) -> list[list]:
    """A colourscale with one flat band per colour, for categories drawn as 0, 1, 2, ..."""
    scale = []
    for position, colour in enumerate(colours):
        scale += [[position / len(colours), colour], [(position + 1) / len(colours), colour]]
    return scale


def _write_atomically(path: Path, text: str) -> None:
    """Readers see the old report or the new one, never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temp, 0o644)  # mkstemp makes it private; the report is for reading
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #f3f5f8; color: #263238;
  font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 24px; }
header, section.chart { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.08);
  padding: 20px 24px; margin-bottom: 20px; }
h1 { margin: 0 0 12px; font-size: 28px; }
h2 { margin: 0 0 4px; font-size: 21px; }
h3 { margin: 18px 0 6px; font-size: 15px; }
.facts { display: grid; grid-template-columns: repeat(4, max-content max-content); gap: 4px 12px; margin: 0; }
.facts dt { color: #607d8b; }
.facts dd { margin: 0 20px 0 0; font-weight: 600; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 8px; }
.kpi { flex: 1 1 160px; background: #f0f4f9; border-radius: 6px; padding: 10px 14px; }
.kpi .value { display: block; font-size: 24px; font-weight: 700; }
.kpi .label { color: #546e7a; }
.data-note, .more, .no-data { color: #607d8b; font-size: 13px; }
.no-data { font-style: italic; padding: 12px 0; }
nav { display: flex; flex-wrap: wrap; gap: 6px 16px; border-top: 1px solid #e3e8ee; padding-top: 10px; }
nav a { color: #1f5fa8; text-decoration: none; font-size: 14px; }
.how-to-read { margin: 0 0 12px; color: #455a64; max-width: 980px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 5px 8px; border-bottom: 1px solid #e6eaef; text-align: left; vertical-align: top; }
th { background: #f0f4f9; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfc; }
.more { margin: 4px 0 0; }
/* The same column widths in every manager's call list, so the lists read as one. */
table.calls { table-layout: fixed; }
table.calls th:nth-child(1) { width: 5%; } table.calls th:nth-child(2) { width: 21%; }
table.calls th:nth-child(3) { width: 5%; } table.calls th:nth-child(4) { width: 9%; }
table.calls th:nth-child(5) { width: 12%; } table.calls th:nth-child(6) { width: 23%; }
table.calls th:nth-child(7) { width: 25%; }
"""
