"""The report of a real publication in a headless Chromium with the network cut off: every chart
draws, nothing tries to leave the machine, and the page says what the publication holds."""

import duckdb
import pytest
from browser_helpers import NEEDS_CHROMIUM
from conftest import SAMPLE_LANDING

from pipelines.cli import main
from pipelines.core import paths
from pipelines.core.vocabulary import GRADES, SEGMENTS
from pipelines.report.build import (
    CHART_IDS,
    EARLY_WARNING_ROWS_PER_MANAGER,
    FIGURE_IDS,
    TABLE_IDS,
    build_report,
)
from pipelines.report.screenshot import open_offline, screenshot

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]

# A programme start inside the backfilled months, so the impact study has a baseline (2026-08-31).
IMPACT_CONFIG = "impact_study:\n  programme_start_date: 2026-09-01\n"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("warehouse")
    config = warehouse.parent / "impact_config.yaml"
    config.write_text(IMPACT_CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCOUNTS_LANDING_DIR", str(SAMPLE_LANDING))
        mp.setenv("ACCOUNTS_WAREHOUSE_DIR", str(warehouse))
        mp.setenv("ACCOUNTS_CONFIG", str(config))
        assert main(["backfill", "--from", "2026-08", "--to", "2026-10"]) == 0
    return warehouse / "accounts.duckdb"


@pytest.fixture(scope="module")
def report(published):
    path = build_report(published)
    assert path == paths.report_path_for(published)
    return path


@pytest.fixture(scope="module")
def expected(published):
    """What the page should say, straight from the publication."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        publication_id, as_of = con.execute(
            "SELECT publication_id, latest_as_of_date FROM publications ORDER BY publication_id DESC LIMIT 1"
        ).fetchone()
        call_lists = con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT manager_id FROM latest.early_warning)"
        ).fetchone()[0]
        scorecard_rows = con.execute("SELECT count(*) FROM latest.manager_scorecard").fetchone()[0]
        impact_rows = con.execute("SELECT count(*) FROM main.impact_study").fetchone()[0]
    finally:
        con.close()
    return {
        "publication_id": str(publication_id),
        "as_of": f"{as_of.day} {as_of:%b %Y}",
        "call_lists": call_lists,
        "scorecard_rows": scorecard_rows,
        "impact_rows": impact_rows,
    }


def test_the_report_renders_offline_with_every_chart(report, expected):
    assert expected["impact_rows"] > 0  # the fixture's config gives the impact study data
    with open_offline(report) as visit:
        page = visit.page
        assert visit.console_errors == []
        assert visit.blocked_requests == []  # nothing tried to reach the network

        for section_id in CHART_IDS:
            assert page.locator(f"section.chart#{section_id}").count() == 1, section_id
            assert page.locator(f"section#{section_id} h2").inner_text().strip()
            assert page.locator(f"section#{section_id} .no-data").count() == 0, section_id
        for section_id in FIGURE_IDS:
            assert page.locator(f"section#{section_id} .js-plotly-plot .main-svg").count() >= 1, section_id
        for section_id in TABLE_IDS:
            assert page.locator(f"section#{section_id} table tbody tr").count() >= 1, section_id

        assert page.locator("h1").inner_text() == "Account management report"
        assert page.locator("#publication-id").inner_text() == expected["publication_id"]
        assert page.locator("#as-of-date").inner_text() == expected["as_of"]


def test_the_charts_show_the_method_s_categories(report, expected):
    with open_offline(report) as visit:
        page = visit.page
        cells = page.locator("#worth-matrix g.heatmap-label text").all_text_contents()
        assert len(cells) == 25
        assert all(any(text.startswith(grade) for grade in GRADES) for text in cells)
        assert all("customers" in text for text in cells)

        assert page.locator("#grade-mix .legendtext").all_text_contents() == list(GRADES)
        assert page.locator("#loyalty-segments .legendtext").all_text_contents() == list(SEGMENTS)
        bands = page.locator("#contact-drivers .annotation-text").all_text_contents()
        assert any(text.startswith("1.25") for text in bands) and any(
            text.startswith("0.80") for text in bands
        )
        assert page.locator("#impact-study .legendtext").count() >= 2  # all customers and the cohort

        assert page.locator("#manager-scorecard tbody tr").count() == expected["scorecard_rows"]
        call_lists = page.locator("#early-warning .manager-calls")
        assert call_lists.count() == expected["call_lists"]
        for index in range(call_lists.count()):
            rows = call_lists.nth(index).locator("tbody tr").count()
            assert 1 <= rows <= EARLY_WARNING_ROWS_PER_MANAGER


def test_a_full_page_screenshot(report, tmp_path):
    png = tmp_path / "report.png"
    screenshot(report, png, width=1400)
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width == 1400 and height > 3000  # the whole page, not the first screen
