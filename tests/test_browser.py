"""The built book in headless Chromium with every non-loopback request blocked: pages load, sliders move slices.

Chromium comes from Debian (``apt-get install -y chromium``); Playwright
drives it through ``executable_path`` and downloads no browser. Without
``/usr/bin/chromium`` these tests are skipped, unless
``LSCAPE_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns the skip into a
failure. ``LSCAPE_SCREENSHOT=PATH`` saves the screenshot of the Figure 2
sliders to PATH as well as to the test's temporary folder.
"""

import functools
import http.server
import os
import shutil
import threading
import urllib.parse
from pathlib import Path

import pytest
from test_book import FIGURE2, book_html, toc_pages

pytestmark = [pytest.mark.book, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
# Headless as root, and without the background connections (updates, sync,
# field trials) that Chromium otherwise opens to the internet.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
# SHA-256 of the image file a Stack widget currently shows.
SHOWN_IMAGE = """async (stack) => {
    const image = stack.querySelector("img");
    const bytes = await (await fetch(image.src)).arrayBuffer();
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def book_url(tmp_path_factory):
    """Serve the built book on 127.0.0.1 at a free port."""
    handler = functools.partial(QuietHandler, directory=str(book_html(tmp_path_factory)))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found; install it with `apt-get install -y chromium`."
        if os.environ.get("LSCAPE_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


class Traffic:
    """Requests a page made that were blocked, that failed, and the page's uncaught errors."""

    def __init__(self):
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []

    def route(self, route):
        host = urllib.parse.urlsplit(route.request.url).hostname
        if host in LOOPBACK_HOSTS:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def assert_clean(self):
        assert self.blocked == [], f"requests that would leave the machine: {self.blocked}"
        assert self.failed == [], f"requests that failed: {self.failed}"
        assert self.errors == [], f"uncaught page errors: {self.errors}"


@pytest.fixture
def page(browser):
    """A fresh browser page that blocks every request to a host other than 127.0.0.1 or localhost."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    traffic = Traffic()
    context.route("**/*", traffic.route)
    tab = context.new_page()
    tab.on("requestfailed", lambda request: traffic.failed.append(f"{request.url} ({request.failure})"))
    tab.on("response", lambda response: response.status >= 400 and traffic.failed.append(
        f"{response.url} (HTTP {response.status})"))
    tab.on("pageerror", lambda error: traffic.errors.append(str(error)))
    tab.traffic = traffic
    yield tab
    context.close()


def open_figure2(page, book_url):
    page.goto(f"{book_url}/{FIGURE2.as_posix()}", wait_until="networkidle")
    page.locator(".lscape-slice-explorer").wait_for(state="visible", timeout=30_000)


def shown_image(page, css_class: str) -> str:
    return page.locator(f".{css_class}").first.evaluate(SHOWN_IMAGE)


def readout(page, css_class: str) -> str:
    return page.locator(f".{css_class} .widget-readout").inner_text()


def press(page, css_class: str, key: str) -> None:
    """Move a slider one step with the keyboard, as a reader would."""
    page.locator(f".{css_class} .noUi-handle").focus()
    page.keyboard.press(key)


def wait_for_change(page, css_class: str, before: str) -> str:
    """Return the image a Stack shows once it differs from ``before`` (or ``before`` after 5 s)."""
    for _ in range(50):
        now = shown_image(page, css_class)
        if now != before:
            return now
        page.wait_for_timeout(100)
    return before


def test_guard_blocks_other_hosts(page, book_url):
    """127.0.0.2 is a loopback address, so the request cannot leave; the guard must still block it."""
    port = urllib.parse.urlsplit(book_url).port
    page.goto(f"{book_url}/book/intro.html")
    page.evaluate(f"fetch('http://127.0.0.2:{port}/index.html').catch(() => null)")
    page.wait_for_timeout(500)
    assert page.traffic.blocked == [f"http://127.0.0.2:{port}/index.html"]


def test_every_page_renders_offline(page, book_url):
    for name in toc_pages():
        page.goto(f"{book_url}/{name}.html", wait_until="networkidle")
        assert page.locator("article h1").first.is_visible(), name
    page.traffic.assert_clean()


def test_equations_typeset_offline(page, book_url):
    page.goto(f"{book_url}/book/intro.html", wait_until="networkidle")
    page.locator("mjx-container").first.wait_for(timeout=30_000)
    assert page.locator("mjx-container").count() >= 10
    page.traffic.assert_clean()


def test_figure2_panels_are_visible_images(page, book_url):
    open_figure2(page, book_url)
    panels = page.locator(".cell_output img")
    assert panels.count() >= 2  # the seven panels with the phase map, and the curve profiles
    for index in range(panels.count()):
        panel = panels.nth(index)
        panel.scroll_into_view_if_needed()
        assert panel.is_visible()
        assert panel.evaluate("(image) => image.complete && image.naturalWidth > 0")
    page.traffic.assert_clean()


def test_temperature_slider_changes_row_slice(page, book_url):
    open_figure2(page, book_url)
    row, column, cell = (shown_image(page, name) for name in
                         ("lscape-row-slice", "lscape-column-slice", "lscape-cell-profile"))
    first = readout(page, "lscape-temperature-slider")

    press(page, "lscape-temperature-slider", "ArrowRight")
    assert wait_for_change(page, "lscape-row-slice", row) != row
    assert readout(page, "lscape-temperature-slider") != first
    assert wait_for_change(page, "lscape-cell-profile", cell) != cell
    assert shown_image(page, "lscape-column-slice") == column

    press(page, "lscape-temperature-slider", "ArrowLeft")
    page.wait_for_timeout(300)
    assert shown_image(page, "lscape-row-slice") == row
    assert readout(page, "lscape-temperature-slider") == first
    page.traffic.assert_clean()


def test_load_slider_changes_column_slice(page, book_url):
    open_figure2(page, book_url)
    row, column, cell = (shown_image(page, name) for name in
                         ("lscape-row-slice", "lscape-column-slice", "lscape-cell-profile"))
    first = readout(page, "lscape-load-slider")

    press(page, "lscape-load-slider", "ArrowRight")
    assert wait_for_change(page, "lscape-column-slice", column) != column
    assert readout(page, "lscape-load-slider") != first
    assert wait_for_change(page, "lscape-cell-profile", cell) != cell
    assert shown_image(page, "lscape-row-slice") == row
    page.traffic.assert_clean()


def test_figure2_screenshot(page, book_url, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 1600})  # Chromium paints only what fits in the viewport
    open_figure2(page, book_url)
    before = {name: shown_image(page, name) for name in ("lscape-row-slice", "lscape-column-slice")}
    press(page, "lscape-temperature-slider", "ArrowRight")
    press(page, "lscape-load-slider", "ArrowRight")
    for name, image in before.items():
        assert wait_for_change(page, name, image) != image
    explorer = page.locator(".lscape-slice-explorer")
    explorer.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.lscape-slice-explorer img')].every((image) => image.complete)")
    path = tmp_path / "fig2_sliders.png"
    explorer.screenshot(path=str(path))
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert path.stat().st_size > 10_000  # a blank capture is a few kB
    if os.environ.get("LSCAPE_SCREENSHOT"):
        shutil.copy(path, os.environ["LSCAPE_SCREENSHOT"])
    page.traffic.assert_clean()
