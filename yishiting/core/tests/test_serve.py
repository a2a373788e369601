"""`yishiting serve` as a real process: HTTP, the in-process deadline sweep, refusing bad config."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets

ROOT = Path(__file__).resolve().parents[3]
SETUP = """
import django; django.setup()
from yishiting.testing import build_county
from yishiting.orgs.models import ClockPolicy
from yishiting.api.models import ApiToken
c = build_county()
ClockPolicy.objects.create(priority="normal", first_response_seconds=1)
from django.test import Client
web = Client(); web.force_login(c["manager1"])  # the township's manager: a live page
print(ApiToken.issue(c["resident1"])[1], web.cookies["sessionid"].value)
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


def _wait_serving(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.1)  # polling for the server to listen, not racing anything


@pytest.fixture(params=[1, 2], ids=["one process", "two processes"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """A migrated SQLite database under tmp_path and `yishiting serve` on a free port, with one
    server process or two (YISHITING_SERVE_PROCESSES)."""
    env = _env(tmp_path) | {"YISHITING_SERVE_PROCESSES": str(request.param)}
    subprocess.run(_yishiting("migrate", "-v0"), env=env, check=True, cwd=ROOT)
    key, session = subprocess.run(
        [sys.executable, "-c", SETUP], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    port = _free_port()
    proc = subprocess.Popen(_yishiting("serve", "--port", str(port)), env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_serving(base, proc)
        yield Served(base, key, session, proc, request.param)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


@dataclass
class Served:
    base: str
    key: str  # a resident's API token
    session: str  # the township manager's session cookie
    proc: subprocess.Popen[bytes]
    processes: int


async def _escalation_pushed(served: Served) -> dict[str, Any]:
    """Connect the manager's live page, submit in a village below, and wait for the push of
    the sweep's escalation (written by the parent process, the page held by a child)."""
    url = served.base.replace("http://", "ws://") + "/ws/live/"
    headers = {"Cookie": f"sessionid={served.session}", "Origin": served.base}
    async with websockets.connect(url, additional_headers=headers) as ws:
        body = {"hall": "130500001001", "text": "下水道堵了"}
        created = await asyncio.to_thread(_call, f"{served.base}/api/v1/requests", served.key, body)
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if message["id"] == created["id"] and message["verb"] == "escalate":
                return message


def test_serve_sweeps_in_process_and_pushes_to_live_pages(server: Served) -> None:
    """A first-response clock of 1 s runs out, the server's own worker escalates it, and the
    township manager's open page is told. With two processes the page is in a child and the
    sweep in the parent, so the push crosses processes (core/livebus.py); and kill -9 of the
    parent then leaves no child behind holding the port."""
    base, key = server.base, server.key
    message = asyncio.run(_escalation_pushed(server))
    assert message["kind"] == "changed" and message["status"] == "escalated"
    events = _call(f"{base}/api/v1/requests/{message['id']}/events", key)
    assert [e["verb"] for e in events] == ["submit", "escalate"]
    after = _call(f"{base}/api/v1/requests/{message['id']}", key)
    assert after["status"] == "escalated" and after["hall"]["code"] == "130500001"
    if server.processes == 1:
        return
    children = _children(server.proc.pid)
    assert len(children) >= 2  # the server processes (and multiprocessing's helper, if any)
    server.proc.kill()
    server.proc.wait(10)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in children):
        assert time.monotonic() < deadline, "a server process outlived its parent"
        time.sleep(0.1)  # polling for the children to exit
    with socket.socket() as s:  # nothing listens on the port any more (TIME_WAIT may linger)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(base.rsplit(":", 1)[1])))


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


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
