"""The ASGI handler for HTTP: Django's, with at most HTTP_CONCURRENCY requests handled at once
per process.

Django runs each request's sync code in a thread of its own. Unbounded, a loaded process has
dozens of threads taking turns on one GIL, and a request that holds row locks (the county's
rollup rows, until its commit) waits for its turn while every other request of the county
waits for it: under the full load suite that convoy made p50 latencies seconds long
(docs/proof.md). So the requests beyond the limit wait in the event loop, holding nothing;
reading the body and sending the answer stay outside the limit, so a slow upload or a slow
reader holds no slot.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler

# How long a server keeps an idle HTTP connection open. It must outlast the client's own
# idle timeout: nginx keeps upstream connections 60 s, aiohttp 15 s, browsers about as long.
# Shorter (uvicorn's default is 5 s), the server closes a connection just as the client
# sends its next request on it, and that request fails ("server disconnected").
KEEP_ALIVE_SECONDS = 75


# Set by `yishiting serve` for its server processes: the parent's pid.
PARENT_ENV = "YISHITING_SERVE_PARENT"


def exit_with_parent() -> None:
    """In a server process of `yishiting serve`: exit once the parent is gone (checked every
    half second), so that a parent killed with -9 leaves no orphan serving on its port."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or os.getpid() == int(parent):
        return

    def watch() -> None:
        while os.getppid() == int(parent):
            time.sleep(0.5)  # polling the parent's pid: nothing to race
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class LimitedASGIHandler(ASGIHandler):
    """`ASGIHandler` that handles at most `settings.HTTP_CONCURRENCY` requests at once."""

    def __init__(self) -> None:
        super().__init__()
        self._slots: asyncio.Semaphore | None = None

    async def get_response_async(self, request: Any) -> Any:
        if self._slots is None:  # made on first use, inside the server's event loop
            self._slots = asyncio.Semaphore(settings.HTTP_CONCURRENCY)
        async with self._slots:
            return await super().get_response_async(request)
