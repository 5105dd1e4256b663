"""Chromium for the browser tests: launch it, fail on any page or console error, record clicked controls.

Every element Mend renders that a person can operate carries ``data-control`` (the list is ``CONTROLS``
in ``web/js/mend/panel.js``). ``watch(page)`` records each one clicked or changed, for the whole run, in
``tests/output/controls-clicked.json``; ``test_zz_controls_covered.py`` then checks nothing was left
unclicked. Skips with a reason without Chromium or the ``playwright`` package.

Chromium is the one installed (``find_chromium``), driven by PyPI ``playwright`` (never
``playwright install``). The ``browser_page`` fixture (conftest.py) gives a test a watched page.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .comfyui_process import REPO, ComfyUI, comfyui_python, free_port, prepare_base


def find_chromium() -> Path:
    """``MEND_CHROMIUM``, else ``chromium``/``chromium-browser``/``google-chrome`` on PATH, else /usr/bin/chromium."""
    if os.environ.get("MEND_CHROMIUM"):
        return Path(os.environ["MEND_CHROMIUM"])
    found = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    return Path(found or "/usr/bin/chromium")


CHROMIUM = find_chromium()
# --no-sandbox: tests often run as root in containers, where Chromium's sandbox cannot start. The
# resolver rule lets no host name but loopback resolve: a browser test's traffic stays on 127.0.0.1.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]
OUTPUT = REPO / "tests" / "output"
DOCS = REPO / "docs" / "screenshots"
CLICKED_FILE = OUTPUT / "controls-clicked.json"

_RECORD = """
for (const type of ["click", "change"]) {
  document.addEventListener(type, (e) => {
    const el = e.target?.closest?.("[data-control]");
    if (el && !el.disabled) window.__mendControlUsed(el.dataset.control);
  }, true);
}
"""


def sync_playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set MEND_CHROMIUM): the browser test needs one")
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        pytest.skip("the playwright package is not installed: the browser test needs it")
    return start()


def launch(pw):
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def clicked() -> set[str]:
    return set(json.loads(CLICKED_FILE.read_text())) if CLICKED_FILE.exists() else set()


def _record(name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    CLICKED_FILE.write_text(json.dumps(sorted(clicked() | {name})))


class Watch:
    """Every page error and console error of a page; ``unexpected()`` must be empty at the end of a test.

    The one kind a test may declare beforehand: Chromium logs every 4xx answer as a console error, and
    some 4xx are Mend's API saying no as designed (a gated file is 403 ``gated``, a pickle file 403
    ``confirmation_required``). ``expect_refusal("/api/mend/models/download", 403)`` accepts exactly
    those; any other error still fails the test.
    """

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []  # (message, url)
        self.refusals: list[tuple[str, int]] = []

        self.outages: list[str] = []

    def expect_refusal(self, path: str, status: int) -> None:
        self.refusals.append((path, status))

    def expect_outage(self, origin: str) -> None:
        """A restart: while the server is down, the editor's own polls of ``origin`` fail to connect."""
        self.outages.append(origin)

    def _declared(self, text: str, url: str) -> bool:
        down = ("net::ERR_CONNECTION_REFUSED", "net::ERR_CONNECTION_RESET", "net::ERR_EMPTY_RESPONSE",
                "TypeError: Failed to fetch")
        if any(url.startswith(o) and any(d in text for d in down) for o in self.outages):
            return True
        return any(path in url and f"status of {status} " in text for path, status in self.refusals)

    def unexpected(self) -> list[str]:
        return [f"{text} @ {url}" for text, url in self.errors if not self._declared(text, url)]


def watch(page) -> Watch:
    """Collect page errors and console errors; record the controls used."""
    seen = Watch()
    page.on("pageerror", lambda e: seen.errors.append((f"page error: {e}", "")))
    page.on("console", lambda m: m.type == "error"
            and seen.errors.append((f"console error: {m.text}", str(m.location.get("url", "")))))
    page.expose_function("__mendControlUsed", _record)
    page.add_init_script(_RECORD)
    # No internet here: the editor's calls to the outside (release notes) are answered empty; so are the
    # browser's favicon and the root "user.css" that ComfyUI 0.8.0's index.html links but never serves,
    # so that only errors of the page itself remain.
    page.route("https://**/*", lambda route: route.fulfill(status=200, body="[]", content_type="application/json"))
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    page.route(lambda url: url.endswith("/user.css") and "/api/" not in url,
               lambda route: route.fulfill(status=200, body="", content_type="text/css"))
    return seen


def open_editor(page, comfyui: ComfyUI) -> None:
    page.goto(comfyui.url)
    page.wait_for_function("() => window.app?.graph && window.__mend", timeout=90_000)
    page.wait_for_timeout(1_000)  # a fresh editor may still open its templates dialog
    close_dialogs(page)


def close_dialogs(page) -> None:
    for _ in range(20):
        if not page.locator(".p-dialog-mask").count():
            return
        page.keyboard.press("Escape")
        page.wait_for_timeout(250)


def shot(page, name: str, clip: dict | None = None) -> None:
    """A screenshot in tests/output/ and docs/screenshots/ (the README and docs/ show those)."""
    page.evaluate("() => window.__mend.flush()")
    page.wait_for_timeout(300)  # the bar's width transition
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / name), clip=clip or {"x": 0, "y": 0, "width": 1080, "height": 900})
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(OUTPUT / name, DOCS / name)


def settle(page, script: str, timeout: float = 60_000) -> None:
    """Wait for a condition on Mend's state (``s``) or the editor, then render."""
    page.wait_for_function(f"() => {{ const s = window.__mend.getState(); return {script}; }}", timeout=timeout)
    page.evaluate("() => window.__mend.flush()")


def item(page, item_id: str):
    return page.locator(f".mend-panel .mend-item[data-item='{item_id}']")


@contextmanager
def editor_server(base: Path, env: dict) -> Iterator[ComfyUI]:
    """A real ComfyUI for the panel's browser journeys: no tutorial and no stock missing-nodes dialog over it."""
    from .conftest import comfyui_path

    prepare_base(base)
    comfy = ComfyUI(base=base, port=free_port(), log_path=base / "comfyui.log", env=env)
    comfy.start(comfyui_path(), comfyui_python())
    status, _ = comfy.post("/api/settings", {"Comfy.TutorialCompleted": True,
                                             "Comfy.Workflow.ShowMissingNodesWarning": False})
    assert status == 200
    try:
        yield comfy
    finally:
        comfy.stop()


@contextmanager
def editor_page(server: ComfyUI, ready: str | None = None):
    """A watched 1400x900 page with the editor open (and ``ready`` settled); page or console errors fail the test."""
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            pg = browser.new_page(viewport={"width": 1400, "height": 900})
            pg.watch = watch(pg)
            open_editor(pg, server)
            if ready:
                settle(pg, ready)
            yield pg
            assert pg.watch.unexpected() == []
        finally:
            browser.close()
