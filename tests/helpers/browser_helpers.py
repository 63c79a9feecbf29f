"""The tests that open pages in headless Chromium. Outside CI a missing browser skips them with a
reason; in CI (`ACCOUNTS_REQUIRE_BROWSER=1`, set by .ci/run) they run and fail, so a browser
that did not install can never pass as green."""

import os

import pytest

from pipelines.report.screenshot import chromium_path

NEEDS_CHROMIUM = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("ACCOUNTS_REQUIRE_BROWSER"),
    reason="no Chromium: `make browser` (apt-get install chromium) or set ACCOUNTS_CHROMIUM",
)
