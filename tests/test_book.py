"""The built book in a real headless browser (Debian's chromium, driven by Playwright).

Builds the book from the committed (CI-scale) notebooks, serves it on 127.0.0.1 and checks every
page at a laptop's width (:data:`VIEWPORT`): no console errors, no request leaving the machine, every
figure loaded, maths rendered by the bundled MathJax, no table cut off (a wide one scrolls in its own
container), the code of ``hide-input`` cells collapsed, and the claims page present. `make book`
ends by running the same checks on the pages it built from the `cpu`-scale run, the ones readers
see (``REPRO_BOOK_HTML=_build/html``: check that folder instead of building one).

A page is checked once its ``load`` event has fired (every image, script and stylesheet of the page
fetched), MathJax has typeset it and its fonts are ready; no fixed wait. Full-page screenshots are
taken only when asked for (``REPRO_BOOK_SCREENSHOTS=DIR``): they took a third of the check's time.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

#: A built book to check instead of building the committed notebooks (`make book` sets it).
BOOK_HTML_ENV = "REPRO_BOOK_HTML"
#: A folder to save each page's full-page screenshot in (for looking at the pages; off by default).
SCREENSHOTS_ENV = "REPRO_BOOK_SCREENSHOTS"

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from repro.book import build

    if not Path(CHROMIUM).is_file():
        pytest.fail("chromium is not installed: run `make chromium` (Debian: apt-get install chromium)")
    built = os.environ.get(BOOK_HTML_ENV)
    html = Path(built) if built else build(scale=None, output=tmp_path_factory.mktemp("book"))
    if not (html / "index.html").is_file():
        pytest.fail(f"{BOOK_HTML_ENV}={built}: no built book there (index.html missing); run `make book` first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield html, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield instance
        instance.close()


#: A laptop's screen: every table must be readable at this width (whole, or in its own horizontal scroller).
VIEWPORT = {"width": 1366, "height": 768}


def _visit(browser, url: str, screenshot: "Path | None"):
    page = browser.new_page(viewport=VIEWPORT)
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    page.wait_for_function("!window.MathJax || !MathJax.startup || MathJax.startup.promise.then(() => true)")
    page.evaluate("document.fonts.ready.then(() => true)")  # MathJax's fonts, requested while it typesets
    info = page.evaluate(
        """() => ({
            images: [...document.querySelectorAll('img')].map(i => [i.src, i.complete && i.naturalWidth > 0]),
            math: document.querySelectorAll('mjx-container').length,
            rawMath: [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container')).length,
            title: document.title,
            // a table is clipped when its right edge is off the screen (or past an ancestor that hides
            // overflow) and no ancestor lets the reader scroll it into view
            clipped: [...document.querySelectorAll('table')].filter(t => {
                const right = t.getBoundingClientRect().right;
                for (let a = t.parentElement; a && a !== document.body; a = a.parentElement) {
                    const overflow = getComputedStyle(a).overflowX;
                    if (overflow === 'auto' || overflow === 'scroll') return a.getBoundingClientRect().right > window.innerWidth + 1;
                    if ((overflow === 'hidden' || overflow === 'clip') && right > a.getBoundingClientRect().right + 1) return true;
                }
                return right > window.innerWidth + 1;
            }).map(t => (t.closest('.cell') || t).id || t.outerHTML.slice(0, 80)),
            collapsed: document.querySelectorAll('.tag_hide-input').length,
            shownCode: [...document.querySelectorAll('.tag_hide-input .cell_input')].filter(e => {
                const toggle = e.closest('details');
                return !toggle || toggle.open || e.checkVisibility();
            }).length,
        })"""
    )
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return info, errors, outside


def test_pages_render_offline_without_errors(site, browser):
    html, base = site
    shots = Path(os.environ[SCREENSHOTS_ENV]) if os.environ.get(SCREENSHOTS_ENV) else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    pages = sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html") if p.parent.name != "_static")
    pages = [p for p in pages if p not in ("genindex.html", "search.html")]
    assert "book/intro.html" in pages and "book/01_networks_metrics_data.html" in pages and "book/claims.html" in pages
    total_math = collapsed = 0
    for rel in pages:
        shot = shots / (rel.replace("/", "_") + ".png") if shots is not None else None
        info, errors, outside = _visit(browser, f"{base}/{rel}", shot)
        assert not errors, f"{rel}: console errors {errors}"
        assert not outside, f"{rel}: requests leaving the machine {outside}"
        broken = [src for src, ok in info["images"] if not ok]
        assert not broken, f"{rel}: images not loaded {broken}"
        assert info["rawMath"] == 0, f"{rel}: {info['rawMath']} maths blocks not typeset"
        assert not info["clipped"], f"{rel}: tables cut off at {VIEWPORT['width']} px: {info['clipped']}"
        assert info["shownCode"] == 0, f"{rel}: {info['shownCode']} hide-input cells show their code"
        collapsed += info["collapsed"]
        total_math += info["math"]
        if rel == "book/01_networks_metrics_data.html":
            assert len(info["images"]) >= 5, "the first chapter's figures are missing"
    assert total_math > 0, "no maths rendered anywhere (MathJax not loaded?)"
    assert collapsed > 0, "no collapsed code cell anywhere (hide-input not rendered?)"


def test_the_bundled_mathjax_carries_its_licence(site):
    html, _ = site
    licence = html / "_static" / "mathjax" / "LICENSE"
    assert licence.is_file() and b"Apache License" in licence.read_bytes()[:200]
