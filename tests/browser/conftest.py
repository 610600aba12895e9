"""Real Chromium through Playwright. A test fails on any console error on its pages.

Outside CI, browser tests are skipped when /usr/bin/chromium is missing; in CI (CI=true) a
missing browser fails them, so they can never be silently skipped there.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
# `make screenshots` sets this to docs/screenshots; an ordinary test run writes them to a
# temporary folder, so `make test` never rewrites a tracked file.
SCREENSHOTS = Path(
    os.environ.get("INCIDENTDESK_SCREENSHOTS") or tempfile.mkdtemp(prefix="incidentdesk-shots-")
)

# Playwright's sync API runs an event loop in this thread; the tests still use the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing at /usr/bin/chromium: browser tests must run in CI")
        pytest.skip("Chromium is not installed (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


class ConsoleErrors(list[str]):
    def watch(self, page) -> None:  # type: ignore[no-untyped-def]
        page.on(
            "console",
            lambda m: (
                self.append(f"console {m.type}: {m.text} at {m.location.get('url')}")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda e: self.append(f"page error: {e}"))
        page.on(
            "response",
            lambda r: self.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None,
        )


@pytest.fixture
def new_page(browser, transactional_db):  # type: ignore[no-untyped-def]
    """new_page(width=1280, height=800, csp=False) -> a page in its own context (own cookies)."""
    contexts = []
    errors = ConsoleErrors()

    def make(width: int = 1280, height: int = 800, csp: bool = False):  # type: ignore[no-untyped-def]
        # The test's own injected helpers (axe, string predicates) are inline script, which
        # the product's Content-Security-Policy refuses; tests/browser/test_csp.py pages keep
        # the policy on (csp=True) to prove the product itself never needs such an exception.
        context = browser.new_context(
            viewport={"width": width, "height": height}, bypass_csp=not csp
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        errors.watch(page)
        return page

    # a test that provokes a refusal on purpose takes its expected errors out of this list
    make.errors = errors  # type: ignore[attr-defined]
    yield make
    for context in contexts:
        context.close()
    assert not errors, "browser console errors:\n" + "\n".join(errors)


@pytest.fixture
def page(new_page):  # type: ignore[no-untyped-def]
    return new_page()


def login(page, base_url: str, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


# every picture in the docs at a desk's width and a phone's: NAME.png and NAME-375.png
SCREENSHOT_WIDTHS = ((1280, ""), (375, "-375"))


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Take the page as it is at both widths, then give it back its own size (sections that
    fold on a phone are folded again by then as they are at first)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for width, suffix in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(50)  # let the page's own width rules (fold.js) settle
        page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=True)
    if size:
        page.set_viewport_size(size)
        page.wait_for_timeout(50)
