"""The local live bus (core/livebus.py): group sends reach the pages of other processes over
Unix sockets, and sockets left by killed processes are cleaned away."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any
from unittest.mock import patch

from channels.layers import InMemoryChannelLayer

from yishiting.core.livebus import EXPIRY_SCAN_SECONDS, LocalBusLayer, MemoryLayer
from yishiting.web.tests.test_live import run_async

GROUP = "hall.130500001001"
MESSAGE = {"type": "live.message", "kind": "changed", "id": 7, "version": 2}


async def _page(layer: MemoryLayer, group: str) -> str:
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return channel


async def _get(layer: LocalBusLayer, channel: str, seconds: float = 5.0) -> Any:
    return await asyncio.wait_for(layer.receive(channel), seconds)


async def _nothing(layer: LocalBusLayer, channel: str) -> bool:
    """True when nothing comes for the channel; any frame in flight has long arrived by then
    (the sender wrote it to the socket before group_send returned)."""
    try:
        await asyncio.wait_for(layer.receive(channel), 0.5)
    except TimeoutError:
        return True
    return False


def test_a_group_send_reaches_the_pages_of_every_other_process(tmp_path: Path) -> None:
    """Three 'processes' on one directory: a sender with no pages of its own, and two servers
    with pages in different groups; each page gets exactly what its groups were sent."""

    async def run() -> None:
        sender, a, b = (LocalBusLayer(str(tmp_path)) for _ in range(3))
        page_a = await _page(a, GROUP)
        page_b = await _page(b, "dept.3")
        local = await _page(sender, GROUP)  # the sender's own page is served locally
        await sender.group_send(GROUP, MESSAGE)
        assert await _get(a, page_a) == MESSAGE
        assert await _get(sender, local) == MESSAGE
        assert await _nothing(b, page_b)
        await a.group_send("dept.3", {**MESSAGE, "id": 8})  # the other way round
        assert (await _get(b, page_b))["id"] == 8
        assert await _nothing(a, page_a)
        for layer in (sender, a, b):
            await layer.close()
        assert list(tmp_path.glob("*.sock")) == []

    run_async(run())


def test_a_killed_processs_socket_is_removed_and_the_others_still_served(tmp_path: Path) -> None:
    async def run() -> None:
        # What kill -9 leaves: a socket file that nobody listens on any more.
        dead = tmp_path / "999999-deadbeef.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.bind(str(dead))
        sender, server = LocalBusLayer(str(tmp_path)), LocalBusLayer(str(tmp_path))
        page = await _page(server, GROUP)
        await sender.group_send(GROUP, MESSAGE)
        assert await _get(server, page) == MESSAGE
        assert not dead.exists()
        await sender.close()
        await server.close()

    run_async(run())


def test_a_send_from_a_thread_without_a_loop_reaches_a_page(tmp_path: Path) -> None:
    """The sweep's threads send with `share` straight from sync code, and a peer whose kept
    connection broke (its server restarted) is reached on a new one."""

    async def run() -> None:
        sender = LocalBusLayer(str(tmp_path))
        server = LocalBusLayer(str(tmp_path))
        page = await _page(server, GROUP)
        await asyncio.to_thread(lambda: asyncio.run(sender.group_send(GROUP, MESSAGE)))
        assert await _get(server, page) == MESSAGE
        await server.close()  # the peer goes away; a new one comes up in its place
        server2 = LocalBusLayer(str(tmp_path))
        page2 = await _page(server2, GROUP)
        sender._scanned = 0.0  # as if a second had passed since the last listing
        again = {**MESSAGE, "id": 9}
        await asyncio.to_thread(lambda: asyncio.run(sender.group_send(GROUP, again)))
        assert (await _get(server2, page2))["id"] == 9
        await sender.close()
        await server2.close()

    run_async(run())


def test_the_memory_layer_scans_for_expired_entries_once_a_second() -> None:
    """Channels scans every queue and group on each receive and group send; the layer does so
    once a second, and the scan still removes what expired."""

    async def run() -> None:
        layer = MemoryLayer(expiry=-1)  # every message is past its expiry once sent
        page = await _page(layer, GROUP)
        await layer.send(page, MESSAGE)
        scans = 0
        real = InMemoryChannelLayer._clean_expired

        def counted(self: InMemoryChannelLayer) -> None:
            nonlocal scans
            scans += 1
            real(self)

        with patch.object(InMemoryChannelLayer, "_clean_expired", counted):
            for _ in range(50):
                await layer.group_send("dept.3", MESSAGE)
            assert scans == 1
            # the one scan found the page's expired message: the page left its groups
            assert page not in layer.groups.get(GROUP, {})
            assert page not in layer.channels
            # a second later the next call scans again
            await layer.group_add(GROUP, page)
            await layer.send(page, MESSAGE)
            await layer.group_send("dept.3", MESSAGE)
            assert scans == 1 and page in layer.groups[GROUP]
            layer._scanned_expiry -= EXPIRY_SCAN_SECONDS
            await layer.group_send("dept.3", MESSAGE)
            assert scans == 2 and page not in layer.groups[GROUP]

    run_async(run())
