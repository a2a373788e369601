"""The channel layer of several processes (config.settings.channel_layers) on a real Redis:
a page's groups outlive a Redis restart, so its live updates resume without a reload."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from channels.layers import BaseChannelLayer
from django.utils.module_loading import import_string
from redis.exceptions import ConnectionError as RedisConnectionError

from config.settings import channel_layers
from yishiting.web import livetest
from yishiting.web.tests.test_live import run_async

GROUP = "hall.130500001001"
MESSAGE = {"type": "live.message", "kind": "changed", "id": 7, "version": 2}


def _layer(url: str) -> BaseChannelLayer:
    """A layer as a server process makes it from its settings."""
    config = channel_layers(url)["default"]
    layer: Any = import_string(config["BACKEND"])(**config["CONFIG"])
    return layer  # type: ignore[no-any-return]


async def _delivered(sender: BaseChannelLayer, inbox: asyncio.Queue[Any]) -> Any:
    """Send to the page's group until the page gets it (Redis may still be coming back)."""
    for _ in range(50):
        with contextlib.suppress(RedisConnectionError, OSError):
            await sender.group_send(GROUP, MESSAGE)
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(inbox.get(), 0.5)
    raise AssertionError("the page got nothing in 25 s")


def test_a_pages_groups_outlive_a_redis_restart(tmp_path: Path) -> None:
    port = livetest.free_port()
    url = f"redis://127.0.0.1:{port}/0"
    page_server, other_server = _layer(url), _layer(url)  # two processes, one Redis

    async def run() -> None:
        inbox: asyncio.Queue[Any] = asyncio.Queue()

        async def page(channel: str) -> None:
            """A consumer's one receive loop (channels.consumer.AsyncConsumer)."""
            while True:
                inbox.put_nowait(await page_server.receive(channel))

        with livetest.redis(tmp_path, port):
            channel = await page_server.new_channel()
            await page_server.group_add(GROUP, channel)
            receiving = asyncio.ensure_future(page(channel))
            assert await _delivered(other_server, inbox) == MESSAGE
        with livetest.redis(tmp_path, port):  # the same Redis, restarted with nothing in it
            assert await _delivered(other_server, inbox) == MESSAGE
            receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiving
            await page_server.flush()
            await other_server.flush()

    run_async(run())
