"""Pushing changes to open pages: after an event commits, tell the groups that show it.

Groups: `hall.<code>` for the request's hall and every hall above it (liaisons and managers
listen to their halls; dispatchers, duty officers and leaders to their county's code),
`dept.<id>` for its department, `req.<id>` for pages showing that one request. The message
says only which request changed; each page fetches its own (masked) view of it again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from yishiting.requests.states import Verb

if TYPE_CHECKING:
    from yishiting.requests.models import Event, Request

log = logging.getLogger("yishiting.live")
# The event loop serving WebSockets in this process, once a page has connected. Events written
# outside a request (the deadline sweep's thread) send through it, so that the in-memory
# channel layer, whose queues belong to that loop, wakes the pages at once.
_server_loop: asyncio.AbstractEventLoop | None = None


def remember_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the consumer on connect: the loop its groups live in."""
    global _server_loop
    _server_loop = loop


def own_loop() -> None:
    """For a process that serves no pages yet (the worker): an event loop in a thread of its
    own for the sends, so the channel layer keeps its connections (without it each send ran
    in a new loop, and channels-redis opened a new Redis connection for it). A page that
    connects later makes its server's loop the one (`remember_loop`)."""
    global _server_loop
    if _server_loop is not None:
        return
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="live-sends", daemon=True).start()
    _server_loop = loop


def hall_groups(path: str) -> set[str]:
    """`hall.<code>` for a hall and each hall above it, from its path (/county/town/village/)."""
    return {f"hall.{code}" for code in path.strip("/").split("/") if code}


def groups_for(before: Request | None, after: Request) -> set[str]:
    """Every group whose pages show this request, before and after the event."""
    out = {f"req.{after.pk}"} | hall_groups(after.hall.path)
    if after.department_id:
        out.add(f"dept.{after.department_id}")
    # assisting departments (协办) follow the request on their workbench too
    out |= {f"dept.{p.department_id}" for p in after.parts.all()}
    if before is not None:
        if before.hall_id != after.hall_id:
            out |= hall_groups(before.hall.path)
        if before.department_id and before.department_id != after.department_id:
            out.add(f"dept.{before.department_id}")
    return out


def send(groups: set[str], message: dict[str, Any]) -> None:
    """Send to each group; a failing channel layer never fails the request."""
    layer = get_channel_layer()
    if layer is None:
        return

    async def fan_out() -> None:
        for group in sorted(groups):
            await layer.group_send(group, message)

    try:
        loop = _server_loop
        if loop is not None and loop.is_running() and not _in_loop(loop):
            asyncio.run_coroutine_threadsafe(fan_out(), loop).result(timeout=5)
        else:
            async_to_sync(fan_out)()
    except Exception:  # the page reloads its data on reconnect; the event is already saved
        log.exception("live update for request %s not sent", message.get("id"))


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def publish(event: Event, before: Request | None, after: Request) -> None:
    """Called from effects.write: push once the event's transaction has committed."""
    message = {
        "type": "live.message",
        "kind": "new" if event.verb == Verb.SUBMIT else "changed",
        "id": after.pk,
        "status": after.status,
        "verb": event.verb,
        "version": after.version,
        "hall": after.hall.code,
    }
    groups = groups_for(before, after)
    transaction.on_commit(lambda: send(groups, message))
