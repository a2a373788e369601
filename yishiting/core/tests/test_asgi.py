"""The ASGI handler (core/asgi.py): the middleware and the view run in sync mode, entered with
one thread hop, and every middleware still runs."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.http import HttpRequest, HttpResponse

from yishiting.core import middleware
from yishiting.core.asgi import LimitedASGIHandler


def _get(path: str) -> tuple[dict[str, Any], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }

    async def run() -> tuple[dict[str, Any], bytes]:
        app = ApplicationCommunicator(LimitedASGIHandler(), scope)
        await app.send_input({"type": "http.request", "body": b""})
        start = await app.receive_output(10)
        body = b""
        while True:
            part = await app.receive_output(10)
            body += part.get("body", b"")
            if not part.get("more_body"):
                return start, body

    return asyncio.run(run())


def test_the_chain_is_sync_and_every_middleware_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # sync mode: Django's handler would otherwise run the async-capable middleware in the
    # event loop, with a hop to a thread and back around each of ours
    assert not asyncio.iscoroutinefunction(LimitedASGIHandler()._middleware_chain)
    threads: list[int] = []
    real = middleware.RefuseNulMiddleware.__call__

    def ours(self: Any, request: HttpRequest) -> HttpResponse:
        threads.append(threading.get_ident())
        return real(self, request)

    monkeypatch.setattr(middleware.RefuseNulMiddleware, "__call__", ours)
    start, _ = _get("/no-such-page/")
    headers = {k.lower(): v for k, v in start["headers"]}
    assert start["status"] == 404
    # the first and the last middleware of the list both ran
    assert headers[b"x-frame-options"] == b"DENY"
    assert b"content-security-policy" in headers
    assert len(threads) == 1 and threads[0] != threading.get_ident()  # in a thread, not the loop


def test_a_server_process_freezes_its_start_up_heap_and_collects_young_objects_less_often() -> None:
    """`config.asgi` (what every server process loads) ends with `tune_gc`: the start-up heap
    out of the collector's way and the young generation's threshold raised (docs/proof.md)."""
    import os
    import subprocess
    import sys

    from yishiting.core.asgi import GC_THRESHOLDS

    code = (
        "import gc; before = gc.get_threshold(); import config.asgi; "
        "print(before == (700, 10, 10), gc.get_freeze_count() > 10_000, gc.get_threshold())"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip().split(None, 2) == ["True", "True", str(GC_THRESHOLDS)], out.stderr
