"""What browser tests fail on, in a real Chromium: page errors and console errors, and traffic off loopback.

Skips with a reason without an installed Chromium or the playwright package.
"""

from __future__ import annotations

import socket
from pathlib import Path

from .e2e.browser import find_chromium, launch, sync_playwright, watch

HOST = socket.gethostname()


def test_errors_are_collected_and_only_loopback_resolves():
    socket.gethostbyname(HOST)  # this name resolves, so a refusal below is the browser's loopback-only rule
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            seen = watch(page)
            page.set_content(f"<img src='http://{HOST}:59999/pixel.png'><script>console.log('fine');"
                             " console.error('broken widget');"
                             " setTimeout(() => { throw new Error('boom'); });</script>")
            page.wait_for_timeout(300)
        finally:
            browser.close()
    unexpected = seen.unexpected()
    assert any("broken widget" in m for m in unexpected), unexpected
    assert any(m.startswith("page error:") and "boom" in m for m in unexpected), unexpected
    assert any(HOST in m and "ERR_NAME_NOT_RESOLVED" in m for m in unexpected), unexpected


def test_mend_chromium_wins_then_path(tmp_path, monkeypatch):
    monkeypatch.setenv("MEND_CHROMIUM", str(tmp_path / "chrome"))
    assert find_chromium() == tmp_path / "chrome"
    monkeypatch.delenv("MEND_CHROMIUM")
    (tmp_path / "chromium-browser").write_text("#!/bin/sh\n")
    (tmp_path / "chromium-browser").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_chromium() == tmp_path / "chromium-browser"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_chromium() == Path("/usr/bin/chromium")
