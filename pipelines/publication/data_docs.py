"""Data Docs that render offline.

great-expectations writes its Data Docs pages with `<script>`/`<link>` tags to public CDNs
(bootstrap, jQuery, bootstrap-table, Font Awesome, vega, ...) and its logo from an S3 bucket; its
templates hard-code those addresses and its site builder has no setting for them (a custom-views
directory only adds templates: the package's own come first). Offline, on our users' servers or
in CI, the index then shows no list of validations. So after GX builds the site,
`localise_assets` copies the same files, vendored from npm into `data_docs_assets/` (see its
README for packages, versions and licenses), to `<site>/static/vendor/` and rewrites each page's
external `src`/`href` of script, link and img tags, and `url()` in inline styles, to the relative
local path. Links a reader follows (`<a href>` to GX's documentation) are left alone. Local
references to the site's `static/` are recomputed from the page's depth too: GX's validation pages
point their favicon one level short.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent / "data_docs_assets"
VENDOR_DIR = "static/vendor"  # in the site
_GX_S3 = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com"
_LOGO = "static/images/logo-long.png"  # GX copies it into every site

# CDN address (as the GX 1.x templates write it) -> the file, relative to the site's root.
VENDORED_ASSETS: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        f"{VENDOR_DIR}/bootstrap-4.3.1/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        f"{VENDOR_DIR}/bootstrap-4.3.1/bootstrap.min.js"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": f"{VENDOR_DIR}/jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        f"{VENDOR_DIR}/popper.js-1.12.9/popper.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        f"{VENDOR_DIR}/bootstrap-table-1.19.1/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        f"{VENDOR_DIR}/bootstrap-table-1.19.1/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": (
        f"{VENDOR_DIR}/bootstrap-table-1.19.1/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": (
        f"{VENDOR_DIR}/bootstrap-table-1.19.0/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": (
        f"{VENDOR_DIR}/bootstrap-table-1.19.0/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        f"{VENDOR_DIR}/bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        f"{VENDOR_DIR}/bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        f"{VENDOR_DIR}/bootstrap-dark-1.1.0/bootstrap-prefers-dark.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        f"{VENDOR_DIR}/fontawesome-free-6.6.0/css/all.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": f"{VENDOR_DIR}/vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": f"{VENDOR_DIR}/vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": f"{VENDOR_DIR}/vega-embed-6.29.0/vega-embed.min.js",
    f"{_GX_S3}/logo-long.png": _LOGO,  # the navbar logo, with a `?d=` cache-buster
    f"{_GX_S3}/full_logo_dark.png": _LOGO,  # the navbar logo in dark mode (inline style)
}

_VALUE = r"""(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+)"""
_ASSET_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.IGNORECASE)
_URL_ATTR = re.compile(rf"(\b(?:src|href)\s*=\s*)({_VALUE})", re.IGNORECASE)
_CORS_ATTR = re.compile(rf"\s+(?:integrity|crossorigin)(?:\s*=\s*{_VALUE})?", re.IGNORECASE)
_STYLE = re.compile(r"(<style\b[^>]*>)(.*?)(</style\s*>)", re.IGNORECASE | re.DOTALL)
_SITE_STATIC = re.compile(r"(?:\./|(?:\.\./)+)(static/[^\"'\s]*)$")
_CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]*)\1\s*\)""", re.IGNORECASE)


def is_external(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://", "//"))


def local_path(url: str) -> str | None:
    """The site-relative file for a CDN address, ignoring its query (GX's cache-busters)."""
    url = html.unescape(url.strip())
    return VENDORED_ASSETS.get(url) or VENDORED_ASSETS.get(re.split(r"[?#]", url, maxsplit=1)[0])


def localise_html(page: str, to_root: str) -> tuple[str, set[str]]:
    """`page` with every mapped external asset address replaced by `to_root` + its local path
    (`to_root`: the page's way up to the site's root, "" or "../.."-style with a trailing slash),
    and the external asset addresses it could not map. Tags whose address is localised lose
    `integrity`/`crossorigin`: a `crossorigin` fetch of a file: URL is refused by browsers."""
    unmapped: set[str] = set()

    def tag(match: re.Match[str]) -> str:
        text, localised = match.group(0), False

        def attribute(attr: re.Match[str]) -> str:
            nonlocal localised
            value = attr.group(2)
            url = value[1:-1] if value[:1] in "\"'" and len(value) > 1 else value
            if not is_external(url):
                site_static = _SITE_STATIC.match(url)  # GX miscounts the favicon's depth on validations
                return f'{attr.group(1)}"{to_root}{site_static[1]}"' if site_static else attr.group(0)
            path = local_path(url)
            if path is None:
                unmapped.add(url)
                return attr.group(0)
            localised = True
            return f'{attr.group(1)}"{to_root}{path}"'

        text = _URL_ATTR.sub(attribute, text)
        return _CORS_ATTR.sub("", text) if localised else text

    def css_url(match: re.Match[str]) -> str:
        url = match.group(2)
        if not is_external(url):
            return match.group(0)
        path = local_path(url)
        if path is None:
            unmapped.add(url)
            return match.group(0)
        return f"url('{to_root}{path}')"

    def style(match: re.Match[str]) -> str:
        return match.group(1) + _CSS_URL.sub(css_url, match.group(2)) + match.group(3)

    page = _ASSET_TAG.sub(tag, page)
    page = _STYLE.sub(style, page)
    return page, unmapped


def localise_assets(site_dir: Path) -> list[str]:
    """Copy the vendored assets into `site_dir/static/vendor/` and point every page of the site
    at them. Returns the external asset addresses no vendored file stands for (sorted): empty
    unless a great-expectations upgrade changed its CDN links."""
    shutil.copytree(ASSETS_DIR, site_dir / VENDOR_DIR, dirs_exist_ok=True)
    unmapped: set[str] = set()
    for page in sorted(site_dir.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        to_root = "../" * (len(page.relative_to(site_dir).parts) - 1)
        localised, missing = localise_html(text, to_root)
        unmapped |= missing
        if localised != text:
            page.write_text(localised, encoding="utf-8")
    return sorted(unmapped)
