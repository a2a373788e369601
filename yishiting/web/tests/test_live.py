"""Live updates: which groups hear an event, and the consumer a page connects to."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.layers import get_channel_layer
from django.contrib.auth.models import AnonymousUser

from yishiting.requests import actions
from yishiting.web import live
from yishiting.web.consumers import LiveConsumer, staff_groups


def test_hall_groups_cover_every_hall_above() -> None:
    assert live.hall_groups("/130500/130500001/130500001001/") == {
        "hall.130500",
        "hall.130500001",
        "hall.130500001001",
    }


@pytest.mark.django_db
def test_each_role_listens_where_its_work_is(county) -> None:
    assert staff_groups(county["liaison1"]) == {f"hall.{county.village.code}"}
    assert staff_groups(county["manager1"]) == {f"hall.{county.township.code}"}
    assert staff_groups(county["dispatcher1"]) == {f"hall.{county.county.code}"}
    assert staff_groups(county["dept1"]) == {f"dept.{county.dept.pk}"}
    assert staff_groups(county["resident1"]) == set()
    assert staff_groups(AnonymousUser()) == set()


def test_a_worker_sends_every_update_through_one_loop(monkeypatch) -> None:
    """Outside a server (the worker) the sends share one event loop, so the channel layer
    keeps its connections; a loop per send made channels-redis connect to Redis each time."""
    loops: list[asyncio.AbstractEventLoop] = []

    class Layer:
        async def group_send(self, group: str, message: dict) -> None:
            loops.append(asyncio.get_running_loop())

    monkeypatch.setattr(live, "get_channel_layer", lambda: Layer())
    monkeypatch.setattr(live, "_server_loop", None)
    live.own_loop()
    worker_loop = live._server_loop
    try:
        live.send({"hall.1", "hall.2"}, {"type": "live.message"})
        live.send({"hall.1"}, {"type": "live.message"})
        assert len(loops) == 3 and all(loop is worker_loop for loop in loops)
        live.own_loop()  # a second call keeps the loop
        assert live._server_loop is worker_loop
    finally:
        assert worker_loop is not None
        worker_loop.call_soon_threadsafe(worker_loop.stop)


@pytest.mark.django_db
def test_an_escalation_reaches_both_halls_and_is_sent_only_after_commit(
    county, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    sent: list[tuple[set[str], dict]] = []
    monkeypatch.setattr(live, "send", lambda groups, message: sent.append((groups, message)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        req = actions.do_submit(actor=county["resident1"], hall=county.village, text="路灯坏了")
    assert sent == [] and callbacks  # nothing pushed before the commit
    for callback in callbacks:
        callback()
    groups, message = sent[0]
    assert f"hall.{county.village.code}" in groups and f"req.{req.pk}" in groups
    assert message["kind"] == "new" and message["id"] == req.pk
    assert message["hall"] == county.village.code  # where it is now
    assert "text" not in message and "reporter" not in message  # pages fetch their own view
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_escalate(req, actor=county["liaison1"])
    groups, message = sent[-1]
    assert {f"hall.{county.village.code}", f"hall.{county.township.code}"} <= groups
    assert message["kind"] == "changed" and message["status"] == "escalated"
    assert message["hall"] == county.township.code


def run_async(coro: Any) -> Any:
    """Run a coroutine to its end in a thread of its own (the browser tests' Playwright keeps
    an event loop in the main thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Socket:
    """A WebSocket client speaking ASGI straight to the consumer (no server, no daphne)."""

    def __init__(self, user: Any) -> None:
        scope = {"type": "websocket", "path": "/ws/live/", "user": user, "headers": []}
        self.app = ApplicationCommunicator(LiveConsumer.as_asgi(), scope)

    async def connect(self) -> bool:
        await self.app.send_input({"type": "websocket.connect"})
        return (await self.app.receive_output(2))["type"] == "websocket.accept"

    async def send_json_to(self, data: Any) -> None:
        await self.app.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json_from(self) -> Any:
        return json.loads((await self.app.receive_output(2))["text"])

    async def receive_nothing(self) -> bool:
        return await self.app.receive_nothing(0.2)

    async def disconnect(self) -> None:
        await self.app.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.app.wait(2)


@pytest.mark.django_db(transaction=True)
def test_consumer_passes_on_the_changes_of_its_halls_and_followed_requests(county) -> None:
    req = actions.do_submit(actor=county["resident1"], hall=county.village, text="路灯坏了")

    async def run() -> tuple[dict, dict, dict]:
        liaison, visitor = Socket(county["liaison1"]), Socket(AnonymousUser())
        assert await liaison.connect() and await visitor.connect()
        await visitor.send_json_to({"follow": [req.pk, "x", -1]})
        following = await visitor.receive_json_from()
        message = {
            "type": "live.message",
            "kind": "changed",
            "id": req.pk,
            "status": "acknowledged",
            "verb": "acknowledge",
            "version": 2,
            "hall": county.village.code,
        }
        await get_channel_layer().group_send(f"hall.{county.village.code}", message)
        got_liaison = await liaison.receive_json_from()
        assert await visitor.receive_nothing()  # not in the visitor's groups
        await get_channel_layer().group_send(f"req.{req.pk}", message)
        got_visitor = await visitor.receive_json_from()
        await liaison.disconnect()
        await visitor.disconnect()
        return following, got_liaison, got_visitor

    following, got_liaison, got_visitor = run_async(run())
    assert following == {"kind": "following", "count": 1}
    assert got_liaison["id"] == req.pk and got_liaison["status"] == "acknowledged"
    assert got_visitor == got_liaison


SHORT_CLOCK = """
import django
django.setup()
from yishiting.orgs.models import ClockPolicy
from yishiting.requests import actions
ClockPolicy.objects.create(priority="normal", first_response_seconds=1)
print(actions.do_submit(actor=None, hall="130500001001", text="下水道堵了").pk)
"""


def test_the_sweeps_automatic_escalation_reaches_an_open_page(tmp_path) -> None:
    """No person acts: the server's own sweep thread escalates a missed first response, and a
    page following the request (in-memory layer, one process) hears it without polling."""
    import subprocess
    import sys

    import websockets

    from yishiting.web import livetest

    livetest.prepare(tmp_path)  # a fresh database: its first request will be number 1
    env = livetest.env_for(tmp_path)

    def create() -> int:
        done = subprocess.run(
            [sys.executable, "-c", SHORT_CLOCK], env=env, check=True, capture_output=True
        )
        return int(done.stdout)

    async def listen(base: str) -> tuple[int, dict]:
        async with websockets.connect(base.replace("http", "ws") + "/ws/live/", origin=base) as ws:
            await ws.send(json.dumps({"follow": [1]}))
            assert json.loads(await ws.recv())["kind"] == "following"
            # Filed by another process after the page listens; only this server's sweep acts.
            rid = await asyncio.to_thread(create)
            return rid, json.loads(await asyncio.wait_for(ws.recv(), timeout=30))

    with livetest.server(tmp_path, worker=True) as base:
        rid, message = run_async(listen(base))
    assert rid == 1 and message["id"] == rid and message["verb"] == "escalate"
    assert message["status"] == "escalated"
