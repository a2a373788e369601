"""The ASGI handler for HTTP: Django's, with the middleware and the view run in one thread, and
at most HTTP_CONCURRENCY requests handled at once per process.

One thread: every view is sync, and so is some of the middleware (ours). Django's ASGI
handler runs the async-capable middleware in the event loop and adapts at every change of
mode. With ours in the middle of the list, a request went from the loop to a thread for the
outer middleware, back to the loop for the inner ones, and to a thread again for the view.
The hops cost 4.5 ms of CPU per request: GET /api/v1/me took 5.8 ms through uvicorn and
1.3 ms through the test client (docs/proof.md, session 8). So the chain is loaded in sync
mode, as under WSGI and in the tests, and the request enters it with one hop.

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
import gc
import os
import threading
import time
from typing import Any

from asgiref.sync import sync_to_async
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


# The cyclic garbage collector's thresholds in a long-running process (Python's: 700, 10, 10).
GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc() -> None:
    """Keep the cyclic garbage collector's pauses short in a server or worker process.

    Every HTTP request leaves a few hundred objects in reference cycles (Django's request, its
    database wrapper, the cancelled task that listened for a disconnect, with its traceback),
    so the collector runs often. Collected every 700 allocations, the objects of the requests
    still running were promoted to the old generations, and their growth set off a full
    collection a dozen times a minute, each walking the whole heap again (Django, the apps,
    the URL conf): pauses of up to 370 ms. Now what start-up loaded is frozen (never walked
    again) and the young generation is collected every 10,000 allocations, when the requests
    it holds are mostly over. Full size, SQLite, 90 s: the collector's time per server
    process 4.8 → 1.3 s, its longest pause 370 → 100 ms, submit p99 ~800 → ~300 ms
    (docs/proof.md, session 11; 50,000 made each young collection free ~40,000 objects at
    once, pauses up to 210 ms).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class LimitedASGIHandler(ASGIHandler):
    """`ASGIHandler` that runs its middleware and views in one thread per request (sync mode),
    at most `settings.HTTP_CONCURRENCY` requests at once."""

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware(is_async=False)
        self._slots: asyncio.Semaphore | None = None

    async def get_response_async(self, request: Any) -> Any:
        if self._slots is None:  # made on first use, inside the server's event loop
            self._slots = asyncio.Semaphore(settings.HTTP_CONCURRENCY)
        async with self._slots:
            # thread-sensitive: the request's thread, where its database connection lives
            return await sync_to_async(self.get_response, thread_sensitive=True)(request)
