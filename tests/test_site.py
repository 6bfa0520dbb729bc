"""The built website in a real browser, with no network: Debian's Chromium driven by Playwright.

Needs the build first (README.md, first command). The site in ``_build/html`` is served on
127.0.0.1 by a thread of this process; every request to any other host is blocked and
recorded, and Chromium resolves no host name but 127.0.0.1. For every page of ``_toc.yml``:
the page opens, every image loads, math is typeset, widget snapshots render, no cell output
holds a traceback or an error, nothing is requested from outside, no local file is missing,
and each notebook page's Colab button points at the notebook in the repository named in
``_config.yml``. Every page is checked in both editions (English at the root, Korean under
``ko/``): the page's language, the switcher's link to the same page in the other edition, and
on a Korean page Korean text and a Colab button that opens the Korean notebook. Exercise solutions must be folded and open on a click.

Chromium: ``/usr/bin/chromium`` (Debian's package ``chromium``), or the path in ``$CHROMIUM``.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from scripts.toc import seminar_notebooks, toc_docnames, toc_notebooks

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
TIMEOUT_MS = 30_000
# JavaScript errors that are known, harmless and not ours: sphinx-thebe 0.3.1 (pulled in by
# Jupyter Book) writes its configuration script twice under Sphinx 7; the book uses no thebe.
KNOWN_JS_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)


def expected_colab_url(docname: str, edition: str = "en") -> str:
    """Colab address of a notebook, built here from _config.yml's repository settings; the
    Korean edition's notebooks live in ``ko/`` of the repository (scripts/translate_notebooks.py)."""
    repo = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
    org_repo = urlsplit(repo["url"]).path.strip("/").removesuffix(".git")
    book = str(repo.get("path_to_book") or "").strip("/")
    if edition == "ko":
        book = f"{book}/ko".strip("/")
    path = f"{book}/{docname}.ipynb" if book else f"{docname}.ipynb"
    return f"https://colab.research.google.com/github/{org_repo}/blob/{repo.get('branch', 'main')}/{path}"


DOCNAMES = toc_docnames()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    """Base URL of ``_build/html`` served on 127.0.0.1."""
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML.relative_to(ROOT)}/index.html is missing: run the build command first (README.md)")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install chromium`, or set CHROMIUM to its path")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """One page opened with every non-local request blocked; records what went wrong."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(service_workers="block")
        self.external: list[str] = []
        self.failed: list[str] = []
        self.js_errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.on("pageerror", self._js_error)
        self.page.on("requestfailed", lambda req: self.failed.append(f"{req.url} ({req.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} (HTTP {r.status})"))
        self.response = self.page.goto(url, wait_until="load")

    def _js_error(self, err):
        if not any(known in str(err) for known in KNOWN_JS_ERRORS):
            self.js_errors.append(str(err))

    def _route(self, route):
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob", "about") or url.hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort("internetdisconnected")

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, site):
    visits = []

    def open_page(path: str) -> Visit:
        v = Visit(browser, f"{site}/{path}")
        visits.append(v)
        return v

    yield open_page
    for v in visits:
        v.close()


def wait_for_math(page) -> tuple[int, int]:
    """Wait until MathJax has typeset the page; return (math elements, typeset elements)."""
    n_math = page.locator("span.math, div.math").count()
    if n_math:
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
        page.wait_for_function(f"() => document.querySelectorAll('mjx-container').length >= {n_math}")
    return n_math, page.locator("mjx-container").count()


def broken_images(page) -> list[str]:
    """Sources of the page's images that did not load (lazy images are loaded first)."""
    return page.evaluate(
        """async () => {
            const images = Array.from(document.images);
            images.forEach(img => { img.loading = 'eager'; });
            await Promise.all(images.map(img => img.decode().catch(() => null)));
            return images.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src);
        }"""
    )


def test_index_opens_introduction_with_typeset_math_and_figure(visit):
    v = visit("index.html")
    v.page.wait_for_url(re.compile(r"/chapters/intro\.html$"))
    v.page.wait_for_load_state("load")
    n_math, n_typeset = wait_for_math(v.page)
    assert n_math > 0 and n_typeset >= n_math, f"{n_typeset} of {n_math} formulas typeset"
    figures = v.page.locator(".cell_output img")
    assert figures.count() >= 1, "the introduction shows no figure"
    assert broken_images(v.page) == []
    assert v.external == [], f"requests left the machine: {v.external}"
    assert v.failed == [], f"requests failed (missing local files?): {v.failed}"


#: The two editions: English at the site's root, Korean under ko/ (issue 18).
EDITIONS = {"en": "", "ko": "ko/"}


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("docname", DOCNAMES)
def test_page_renders_offline(visit, docname, edition):
    prefix = EDITIONS[edition]
    html = HTML / f"{prefix}{docname}.html"
    assert html.is_file(), f"{docname} is in _toc.yml but {html.relative_to(ROOT)} was not built"
    v = visit(f"{prefix}{docname}.html")
    page = v.page
    assert v.response is not None and v.response.ok
    problems = []

    lang = page.evaluate("() => document.documentElement.lang")
    if lang != edition:
        problems.append(f"<html lang={lang!r}>, expected {edition!r}")
    # the language switcher opens the same page in the other edition
    other = "ko" if edition == "en" else "en"
    switch = page.locator(f'a.book-language-switcher[hreflang="{other}"]')
    if switch.count() != 1:
        problems.append(f"{switch.count()} links to the {other} edition, expected 1")
    else:
        target = urlsplit(page.evaluate("a => a.href", switch.element_handle())).path
        if target != f"/{EDITIONS[other]}{docname}.html":
            problems.append(f"the switcher opens {target}, expected /{EDITIONS[other]}{docname}.html")
    if edition == "ko":
        article = page.locator("article.bd-article").inner_text()
        hangul = len(re.findall(r"[\uac00-\ud7a3]", article))
        if hangul < 20:
            problems.append(f"only {hangul} Hangul syllables in the article: not translated?")

    try:
        n_math, n_typeset = wait_for_math(page)
        if n_typeset < n_math:
            problems.append(f"only {n_typeset} of {n_math} formulas typeset")
    except PlaywrightTimeout:
        problems.append("MathJax did not typeset the page")
    if page.locator("mjx-merror").count():
        problems.append("MathJax reports a TeX error")

    if page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count():
        # the widget manager renders each view into a .widget-subarea just before its script
        try:
            page.wait_for_function(
                """() => Array.from(document.querySelectorAll(
                       'script[type="application/vnd.jupyter.widget-view+json"]')).every(
                       s => s.previousElementSibling && s.previousElementSibling.querySelector('.jupyter-widgets'))""",
                timeout=20_000,
            )
        except PlaywrightTimeout:
            problems.append("widget snapshots were not rendered")

    problems += [f"image did not load: {src}" for src in broken_images(page)]

    if page.locator(".cell_output .output.traceback, .cell_output .output.error").count():
        problems.append("a cell output is an error")
    for text in page.locator(".cell_output").all_inner_texts():
        if "Traceback (most recent call last)" in text or re.search(r"^\w*(Error|Exception): ", text, re.MULTILINE):
            problems.append(f"a cell output shows an error: {text[-1000:]}")

    if (ROOT / f"{docname}.ipynb").is_file():
        hrefs = page.locator('a[href^="https://colab.research.google.com"]').evaluate_all(
            "links => links.map(a => a.getAttribute('href'))")
        if set(hrefs) != {expected_colab_url(docname, edition)}:
            problems.append(f"Colab button links {hrefs}, expected {expected_colab_url(docname, edition)}")

    problems += [f"JavaScript error: {e}" for e in v.js_errors]
    problems += [f"request left the machine: {u}" for u in v.external]
    problems += [f"request failed (missing local file?): {u}" for u in v.failed]
    assert not problems, f"{docname}:\n" + "\n".join(problems)


def test_widget_snapshots_render_progress_bars(visit):
    """At least one page shows a tqdm progress bar, and it renders as a widget offline."""
    pages = [d for d in DOCNAMES if (HTML / f"{d}.html").is_file()
             and "application/vnd.jupyter.widget-view+json" in (HTML / f"{d}.html").read_text(encoding="utf-8")]
    assert pages, "no page holds a widget snapshot (the introduction's progress bar should)"
    v = visit(f"{pages[0]}.html")
    bars = v.page.locator(".widget-subarea .progress, .widget-subarea .widget-progress")
    bars.first.wait_for(state="attached")
    assert bars.count() >= 1
    assert v.external == []


def test_exercise_solutions_are_folded_and_open_on_click(visit):
    pages = [d for d in DOCNAMES if (HTML / f"{d}.html").is_file()
             and 'class="solution dropdown' in (HTML / f"{d}.html").read_text(encoding="utf-8")]
    assert pages, "no page of the book has an exercise solution in a dropdown"
    for docname in pages:
        v = visit(f"{docname}.html")
        solutions = v.page.locator("div.solution.dropdown")
        assert solutions.count() >= 1
        for i in range(solutions.count()):
            solution = solutions.nth(i)
            body = solution.locator(":scope > :not(.admonition-title)").first
            solution.scroll_into_view_if_needed()
            assert not body.is_visible(), f"{docname}: solution {i + 1} is not folded"
            solution.locator(".admonition-title .toggle-button").click()  # the chevron
            body.wait_for(state="visible", timeout=5_000)
            assert body.inner_text().strip(), f"{docname}: solution {i + 1} is empty"
        assert v.external == [] and v.js_errors == []


NOTEBOOK_PAGES = [name.removesuffix(".ipynb") for name in toc_notebooks()]


@pytest.mark.parametrize("docname", NOTEBOOK_PAGES)
def test_figures_equations_and_code_fit_the_page(visit, docname):
    """At a 1280-px window every figure is shown at its own size (not scaled down, so its
    8-pt text stays 8 pt) and no displayed equation is cut off; from a 1440-px window up no code
    cell scrolls sideways (88 characters fit)."""
    v = visit(f"{docname}.html")
    page = v.page
    assert page.viewport_size["width"] == 1280
    wait_for_math(page)
    broken_images(page)  # loads every image
    scaled = page.evaluate("""() => [...document.querySelectorAll('.cell_output img')]
        .filter(img => img.naturalWidth > img.clientWidth + 1)
        .map(img => `${img.naturalWidth} px shown at ${img.clientWidth} px`)""")
    cut = page.evaluate("""() => [...document.querySelectorAll('mjx-container[display="true"]')]
        .filter(m => m.scrollWidth > m.clientWidth + 1).map(m => m.textContent.slice(0, 40))""")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.wait_for_timeout(200)
    scrolling = page.evaluate("""() => [...document.querySelectorAll('div.cell_input pre')]
        .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
        .map(pre => pre.textContent.split('\\n').reduce((a, b) => a.length > b.length ? a : b))""")
    assert not scaled, f"{docname}: figures scaled down: {scaled}"
    assert not cut, f"{docname}: equations wider than the column: {cut}"
    assert not scrolling, f"{docname}: code cells wider than the column, longest lines: {scrolling[:3]}"


SEMINAR_PAGES = [name.removesuffix(".ipynb") for name in seminar_notebooks()]


@pytest.mark.parametrize("docname", SEMINAR_PAGES)
def test_seminar_box_renders_with_its_style_and_working_links(visit, docname):
    """The "What the seminar says" box is on the page, styled by _assets/book.css (its frame
    differs from a plain note's), and every {ref} in it resolves to an anchor of the same page."""
    v = visit(f"{docname}.html")
    box = v.page.locator("div.admonition.seminar")
    assert box.count() == 1, f"{docname}: {box.count()} seminar boxes"
    title = box.locator(".admonition-title").inner_text().strip()
    assert title == "What the seminar says, and what we measured"
    colour = box.evaluate("el => getComputedStyle(el).borderLeftColor")
    assert colour == "rgb(74, 107, 138)", colour  # #4a6b8a
    links = box.locator("a.reference.internal")
    assert links.count() >= 2
    for i in range(links.count()):
        href = links.nth(i).get_attribute("href")
        assert href.startswith("#"), f"{docname}: {href} leaves the page"
        assert v.page.locator(f"[id='{href[1:]}']").count() == 1, f"{docname}: no anchor {href}"
    assert v.external == [] and v.js_errors == []


@pytest.mark.parametrize("docname", DOCNAMES)
def test_korean_page_has_the_english_pages_citation_back_links(docname):
    """A translated page re-parses every message; its reference list must still link back once to
    each citation in the text, as the English page does (scripts/i18n_sphinx.py)."""
    count = {}
    for edition, prefix in EDITIONS.items():
        html = (HTML / f"{prefix}{docname}.html").read_text(encoding="utf-8")
        count[edition] = (html.count('role="doc-backlink"'), html.count('class="bibtex-citation"'))
    assert count["ko"] == count["en"], count


@pytest.mark.parametrize("docname", NOTEBOOK_PAGES)
def test_korean_page_downloads_the_korean_notebook(docname):
    """The download button of a Korean page serves ko/<docname>.ipynb, the English page the English one."""
    for prefix, source in (("", ROOT / f"{docname}.ipynb"), ("ko/", ROOT / "ko" / f"{docname}.ipynb")):
        page = (HTML / f"{prefix}{docname}.html").read_text(encoding="utf-8")
        links = set(re.findall(r'href="([^"]*_sources/[^"]*\.ipynb)"', page))
        assert len(links) == 1, links
        served = (HTML / f"{prefix}{docname}.html").parent / links.pop()
        assert served.resolve().read_bytes() == source.read_bytes(), f"{prefix}{docname}: serves another notebook"
