"""A server stopped with SIGTERM (systemd, ``docker stop``) leaves no ``server.json`` behind, and still dies of it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SERVER = """
import sys, time
from pathlib import Path
from mend.core.server_beacon import remove_on_exit, write_beacon
state = Path(sys.argv[1])
write_beacon(state, "http://127.0.0.1:8188")
remove_on_exit(state)
print("ready", flush=True)
time.sleep(60)
"""


def started(state: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(state)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    assert (state / "server.json").exists()
    return proc


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_removes_the_beacon_and_still_ends_the_process(tmp_path: Path):
    proc = started(tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM  # the signal's default outcome, as before
    assert not (tmp_path / "server.json").exists()


def test_a_normal_exit_removes_the_beacon(tmp_path: Path):
    code = SERVER.replace("time.sleep(60)", "pass")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, capture_output=True, timeout=60)
    assert not (tmp_path / "server.json").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_beacon_of_another_process_is_left_alone(tmp_path: Path):
    (tmp_path / "server.json").write_text(f'{{"url": "http://127.0.0.1:1", "pid": 1, "started": {time.time()}}}\n')
    proc = started(tmp_path)  # rewrites it with its own pid
    (tmp_path / "server.json").write_text('{"url": "http://127.0.0.1:1", "pid": 1}\n')  # another server took over
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert (tmp_path / "server.json").exists()
