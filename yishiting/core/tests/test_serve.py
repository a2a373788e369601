"""`yishiting serve` as a real process: HTTP, the in-process deadline sweep, refusing bad config."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SETUP = """
import django; django.setup()
from yishiting.testing import build_county
from yishiting.orgs.models import ClockPolicy
from yishiting.api.models import ApiToken
c = build_county()
ClockPolicy.objects.create(priority="normal", first_response_seconds=1)
print(ApiToken.issue(c["resident1"])[1])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        YISHITING_DATA_DIR=str(tmp_path),
        PYTHONPATH=str(ROOT),
    )
    return env


def _yishiting(*args: str) -> list[str]:
    return [sys.executable, "-m", "yishiting.cli", *args]


def _call(url: str, key: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A migrated SQLite database under tmp_path and `yishiting serve` on a free port."""
    env = _env(tmp_path)
    subprocess.run(_yishiting("migrate", "-v0"), env=env, check=True, cwd=ROOT)
    key = subprocess.run(
        [sys.executable, "-c", SETUP], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    port = _free_port()
    proc = subprocess.Popen(_yishiting("serve", "--port", str(port)), env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield base, key
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_runs_the_sweep_in_process(server: tuple[str, str]) -> None:
    """A first-response clock of 1 s runs out and the server's own worker escalates it."""
    base, key = server
    created = _call(f"{base}/api/v1/requests", key, {"hall": "130500001001", "text": "下水道堵了"})
    assert created["status"] == "submitted"
    deadline = time.monotonic() + 15
    verbs: list[str] = []
    while time.monotonic() < deadline:
        verbs = [e["verb"] for e in _call(f"{base}/api/v1/requests/{created['id']}/events", key)]
        if "escalate" in verbs:
            break
        time.sleep(0.2)  # polling for the outcome, not waiting to win a race
    assert verbs == ["submit", "escalate"]
    after = _call(f"{base}/api/v1/requests/{created['id']}", key)
    assert after["status"] == "escalated" and after["hall"]["code"] == "130500001"


def test_serve_refuses_default_secret_without_debug(tmp_path: Path) -> None:
    env = _env(tmp_path) | {"YISHITING_DEBUG": "0"}
    env.pop("YISHITING_SECRET_KEY", None)
    result = subprocess.run(
        _yishiting("serve", "--port", str(_free_port())),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "YISHITING_SECRET_KEY" in result.stderr
