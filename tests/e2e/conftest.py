"""Fixtures for end-to-end tests against a real ComfyUI; they skip with a reason without ``COMFYUI_PATH``.

``comfyui`` (session-scoped) is one server for the whole run: Mend linked into its custom_nodes,
offline catalogs (../shared/catalog when present, else a small one written here), no registry, and
``HF_ENDPOINT`` pointed at ``hub``, the session's loopback Hugging Face server (``tests/hf_server.py``)
with plain http allowed to loopback. Tests add their files to ``hub.hub`` under names of their own.

``browser_page`` is a 1400x900 page in the installed Chromium (``browser.find_chromium``,
``--no-sandbox``, loopback only), watched by ``browser.watch``: any page error or console error
fails the test (declare the expected ones with ``browser_page.watch.expect_refusal(path, status)`` or
``expect_outage(origin)``). It skips with a reason without Chromium or the playwright package; list it
before ``comfyui`` so that skip comes before a ComfyUI starts::

    def test_the_panel_opens(browser_page, comfyui):
        open_editor(browser_page, comfyui)  # from .browser
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .comfyui_process import ComfyUI, comfyui_python, free_port, prepare_base
from .threaded_hub import ThreadedHub

SHARED_CATALOG = Path(__file__).resolve().parents[3] / "shared" / "catalog"


@pytest.fixture(scope="session", autouse=True)
def fresh_control_clicks() -> None:
    """Each run starts with no recorded clicks: test_zz_controls_covered checks this run's only."""
    from .browser import CLICKED_FILE

    CLICKED_FILE.unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


def comfyui_path() -> Path:
    value = os.environ.get("COMFYUI_PATH")
    if not value:
        pytest.skip("COMFYUI_PATH is not set: end-to-end tests need a ComfyUI checkout to start")
    path = Path(value)
    if not (path / "main.py").is_file():
        pytest.skip(f"COMFYUI_PATH={value} has no main.py")
    return path


def _catalog_dir(tmp: Path) -> Path:
    if SHARED_CATALOG.is_dir():
        return SHARED_CATALOG
    d = tmp / "catalog"
    d.mkdir()
    for name, data in {
        "extension-node-map.json": {},
        "custom-node-list.json": {"custom_nodes": []},
        "github-stats.json": {},
        "model-list.json": {"models": []},
    }.items():
        (d / name).write_text(json.dumps(data))
    return d


@pytest.fixture(scope="session")
def hub() -> Iterator[ThreadedHub]:
    """The loopback Hugging Face server every e2e test's ComfyUI downloads from."""
    comfyui_path()  # skip before starting anything
    served = ThreadedHub().start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="session")
def e2e_env(tmp_path_factory, hub) -> dict:
    """Environment of the ComfyUI under test; session fixtures may add to it before ``comfyui`` starts."""
    tmp = tmp_path_factory.mktemp("e2e-env")
    return {
        "MEND_CATALOG_DIR": str(_catalog_dir(tmp)),
        "MEND_REGISTRY_URL": "",
        "MEND_CACHE_DIR": str(tmp / "cache"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_ENDPOINT": hub.endpoint,
        "MEND_TEST_ALLOW_HTTP_LOOPBACK": "1",
    }


@pytest.fixture(scope="session")
def comfyui(tmp_path_factory, e2e_env) -> Iterator[ComfyUI]:
    path = comfyui_path()
    base = tmp_path_factory.mktemp("comfyui-base")
    prepare_base(base)
    server = ComfyUI(base=base, port=free_port(), log_path=base / "comfyui.log", env=e2e_env)
    server.start(path, comfyui_python())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser_page():
    """A watched Chromium page (see the module docstring); the test fails on its page or console errors."""
    from .browser import launch, sync_playwright, watch

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.watch = watch(page)
            yield page
        finally:
            browser.close()
    unexpected = page.watch.unexpected()
    if unexpected:
        pytest.fail("the page had errors:\n" + "\n".join(unexpected))


@pytest.fixture
def links(comfyui):
    """The link stand-in (``tests/link_server.py``) on a thread, reachable by the real ComfyUI."""
    from ..link_server import LinkHost
    from .threaded_hub import ThreadedApp

    host = LinkHost()
    served = ThreadedApp(host.app).start()
    host.base = served.endpoint
    try:
        yield host
    finally:
        served.stop()
