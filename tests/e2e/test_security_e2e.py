"""A real ComfyUI against web pages: with ``--enable-cors-header`` a foreign page's install, download and
restart are refused; on the default config a DNS-rebinding-shaped request is refused; the editor's own
requests still pass (over HTTP, and from the real editor page in Chromium).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from .browser import launch, sync_playwright
from .comfyui_process import ComfyUI, comfyui_python, free_port, prepare_base
from .conftest import comfyui_path

EVIL = "https://evil.example"
HIGH_RISK = [
    ("/mend/nodes/install", {"repository": "https://github.com/alice/ComfyUI-Alpha"}),
    ("/api/mend/nodes/install", {"id": "comfyui-alpha"}),
    ("/mend/models/download", {"url": "https://huggingface.co/acme/m/resolve/main/x.safetensors", "folder": "loras"}),
    ("/mend/restart", {}),
    ("/api/mend/restart", {}),
]


@pytest.fixture(scope="module")
def cors_comfyui(tmp_path_factory, e2e_env) -> Iterator[ComfyUI]:
    """A second ComfyUI, started with ``--enable-cors-header`` (``Access-Control-Allow-Origin: *``)."""
    path = comfyui_path()
    base = tmp_path_factory.mktemp("comfyui-cors")
    prepare_base(base)
    server = ComfyUI(base=base, port=free_port(), log_path=base / "comfyui.log", env=e2e_env,
                     extra_args=["--enable-cors-header"])
    server.start(path, comfyui_python())
    try:
        yield server
    finally:
        server.stop()


def request(server: ComfyUI, method: str, path: str, body: object = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict, dict]:
    """One raw request (``http.client`` sends the ``Host`` we give, as a rebinding browser would)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        raw = resp.read()
        try:
            parsed = json.loads(raw or b"null")
        except ValueError:
            parsed = {"raw": raw[:200].decode(errors="replace")}
        return resp.status, dict(resp.headers), parsed
    finally:
        conn.close()


def still_the_same_server(server: ComfyUI, pid: int) -> None:
    status, _ = server.get("/api/features")
    assert status == 200 and server.process is not None and server.process.pid == pid
    assert server.process.poll() is None
    assert "Restarting" not in server.log()


def test_cors_server_answers_preflights_for_any_origin(cors_comfyui: ComfyUI):
    """The setting under test is really on: the browser would let the page send its POST."""
    status, headers, _ = request(cors_comfyui, "OPTIONS", "/mend/nodes/install", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert status == 200 and headers.get("Access-Control-Allow-Origin") == "*"


@pytest.mark.parametrize(("path", "body"), HIGH_RISK)
def test_foreign_origin_is_refused_with_cors_enabled(cors_comfyui: ComfyUI, path, body):
    pid = cors_comfyui.process.pid
    status, _, answer = request(cors_comfyui, "POST", path, body, {"Origin": EVIL})
    assert status == 403 and answer["error"]["code"] == "cross_origin", answer
    _, tasks = cors_comfyui.get("/mend/tasks")
    assert tasks["tasks"] == []
    still_the_same_server(cors_comfyui, pid)


@pytest.mark.parametrize(("path", "body"), HIGH_RISK)
def test_dns_rebinding_is_refused_on_the_default_config(comfyui: ComfyUI, path, body):
    pid = comfyui.process.pid
    rebound = {"Host": f"evil.example:{comfyui.port}", "Origin": f"http://evil.example:{comfyui.port}"}
    status, _, answer = request(comfyui, "POST", path, body, rebound)
    assert status == 403 and answer["error"]["code"] == "untrusted_host", answer
    status, _, _ = request(comfyui, "GET", "/mend/tasks", headers={"Host": f"evil.example:{comfyui.port}"})
    assert status == 403
    still_the_same_server(comfyui, pid)


def test_the_servers_own_requests_pass(cors_comfyui: ComfyUI):
    own = {"Origin": cors_comfyui.url}
    status, _, report = request(cors_comfyui, "POST", "/mend/analyze", {"nodes": []}, own)
    assert status == 200 and "summary" in report
    status, _, answer = request(cors_comfyui, "POST", "/api/mend/nodes/install", {"id": "../x"}, own)
    assert status == 400 and answer["error"]["code"] != "cross_origin"  # past the guard, judged on its merits
    status, _, _ = request(cors_comfyui, "GET", "/mend/tasks", headers={"Host": f"localhost:{cors_comfyui.port}"})
    assert status == 200


def test_the_editor_still_works_with_cors_enabled(cors_comfyui: ComfyUI):
    """The real editor page loads, Mend's panel script starts, and its own fetches are answered."""
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(cors_comfyui.url)
            page.wait_for_function("() => window.app?.graph && window.__mend", timeout=90_000)
            answers = page.evaluate("""async () => {
                const post = (p, b) => fetch(p, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                 body: JSON.stringify(b)}).then(r => r.status);
                return [await post('/mend/analyze', {nodes: []}), await post('/api/mend/analyze', {nodes: []}),
                        await fetch('/mend/tasks').then(r => r.status),
                        await post('/mend/tasks/0123/cancel', {})];
            }""")
            assert answers == [200, 200, 200, 404]
            assert errors == []
        finally:
            browser.close()
