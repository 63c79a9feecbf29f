"""Data Docs render offline (pipelines/publication/data_docs.py): a real site built by
`validate_publication`, every CDN asset replaced by its vendored copy, opened in headless Chromium
with every non-file request refused."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser_helpers import NEEDS_CHROMIUM
from test_quality import build_publication, catalogue

from pipelines.core.config import load_config
from pipelines.publication.data_docs import ASSETS_DIR, VENDORED_ASSETS, localise_html
from pipelines.publication.quality import DISTRIBUTION_SUITES, suites_for, validate_publication
from pipelines.report.screenshot import CHROMIUM_ARGS, chromium_path

SHAPES = ("customer_worth_shape", "modules_shape")  # with the distributions: one page of the index


class AssetReferences(HTMLParser):
    """The src/href of every script, link and img, and the text of every style element."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "link", "img"):
            self.urls += [value or "" for name, value in attrs if name in ("src", "href")]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def references(page: Path) -> AssetReferences:
    parser = AssetReferences()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("offline_docs")
    staged = build_publication(tmp / "accounts.duckdb.staged")
    suites = suites_for(catalogue(staged))
    suites = {name: suites[name] for name in [*DISTRIBUTION_SUITES, *SHAPES]}
    report = validate_publication(staged, load_config(), tmp / "data_docs", suites)
    assert report.passed, report.summary()
    return report


def test_every_vendored_file_exists():
    for url, path in VENDORED_ASSETS.items():
        if path.startswith("static/vendor/"):
            assert (ASSETS_DIR / path.removeprefix("static/vendor/")).is_file(), url


def test_localise_html_rewrites_assets_relative_to_the_page_and_reports_the_unknown():
    page = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>'
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" '
        'integrity="sha384-x" crossorigin="anonymous"></script>'
        '<img class="NO-CACHE"\n src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/'
        'logo-long.png?d=20250101T000000Z" alt="GX">'
        "<style>.a { background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
        "full_logo_dark.png') 0 0 }</style>"
        '<script src="https://cdn.example.org/new.js"></script>'
        '<a href="https://greatexpectations.io">GX</a><link rel="icon" href="../static/images/favicon.ico">'
        '<script src="vendor/local.js"></script>'
    )
    out, unmapped = localise_html(page, "../../")
    assert 'href="../../static/vendor/bootstrap-4.3.1/bootstrap.min.css"' in out
    assert '<script src="../../static/vendor/popper.js-1.12.9/popper.min.js"></script>' in out
    assert 'src="../../static/images/logo-long.png"' in out
    assert "url('../../static/images/logo-long.png')" in out
    assert 'href="https://greatexpectations.io"' in out  # a link the reader follows: kept
    assert 'href="../../static/images/favicon.ico"' in out  # the site's static/: from the page's depth
    assert 'src="vendor/local.js"' in out  # any other local path: kept
    assert unmapped == {"https://cdn.example.org/new.js"}
    assert localise_html(out, "../../") == (out, unmapped)  # idempotent


def test_generated_pages_reference_no_external_asset(site):
    docs = site.docs_index.parent
    pages = sorted(docs.rglob("*.html"))
    assert len(pages) == 1 + 2 * len(site.suites_run)  # index, a suite page and a validation each
    for page in pages:
        refs = references(page)
        external = [u for u in refs.urls if u.lower().startswith(("http:", "https:", "//"))]
        assert not external, f"{page.relative_to(docs)}: {external}"
        styles = "".join(refs.styles).lower()
        assert "url(http" not in styles and "url('http" not in styles and 'url("http' not in styles
        for url in refs.urls:  # every local asset is there
            assert (page.parent / url.split("?")[0]).resolve().is_file(), f"{page}: {url}"


@NEEDS_CHROMIUM
def test_the_site_renders_offline_in_chromium(site):
    from playwright.sync_api import expect, sync_playwright

    docs = site.docs_index.parent
    validation_page = next((docs / "validations" / "customer_worth_shape").rglob("*.html"))
    pages = [site.docs_index, docs / "expectations" / "modules_shape.html", validation_page]
    blocked, failed, errors = [], [], []

    def refuse_network(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        try:
            for scheme in ("light", "dark"):  # dark mode swaps in a background logo
                page = browser.new_page(color_scheme=scheme)
                page.route("**/*", refuse_network)
                page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
                page.on("console", lambda m: m.type == "error" and errors.append(m.text))
                page.on("pageerror", lambda e: errors.append(str(e)))
                for url in pages:
                    page.goto(url.as_uri(), wait_until="load")
                    if url == site.docs_index:
                        table = page.locator("table.ge-index-page-validation-results-table")
                        for suite in site.suites_run:  # bootstrap-table drew a row per validation
                            link = table.locator(
                                "a.ge-index-page-table-expectation-suite-link", has_text=suite
                            )
                            expect(link).to_be_visible()
                        expect(table.locator("i.fa-check-circle").first).to_be_visible()
                        loaded = page.evaluate(
                            "document.fonts.ready.then(fs => [...fs].filter(f => f.status === 'loaded')"
                            ".map(f => f.family))"
                        )
                        assert any("Font Awesome" in family for family in loaded), loaded
                    else:
                        expect(page.locator("nav.navbar img")).to_have_count(1)
                page.close()
        finally:
            browser.close()
    assert not blocked, blocked
    assert not failed, failed
    assert not errors, errors
