"""The WebSocket pages listen on: joins the groups of the person's halls and of the requests
the page shows, and passes each change on as `{"kind", "id", "status", "verb", "version"}`."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from yishiting.orgs.models import Role
from yishiting.orgs.scope import Actor
from yishiting.web import delib_live, live

# How many single requests one page may follow.
MAX_FOLLOWED = 200


def staff_groups(user: Any) -> set[str]:
    """The groups a signed-in person hears about: their halls, county, departments."""
    if user is None or not user.is_authenticated:
        return set()
    who = Actor.of(user)
    out: set[str] = set()
    for m in who.memberships:
        if m.role == Role.DEPARTMENT and m.department_id:
            out.add(f"dept.{m.department_id}")
        elif m.hall is None or m.role == Role.REPRESENTATIVE:
            continue
        elif m.role in (Role.DISPATCHER, Role.DUTY, Role.LEADER):
            out.add(f"hall.{m.hall.county_code}")
        else:
            out.add(f"hall.{m.hall.code}")
    if who.is_admin:
        out.update(f"hall.{code}" for code in _county_codes())
    return out


def _county_codes() -> list[str]:
    from yishiting.orgs.models import Hall, HallKind

    return list(Hall.objects.filter(kind=HallKind.COUNTY).values_list("code", flat=True))


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """One open page: staff hear their halls; anyone may follow requests' public changes."""

    async def connect(self) -> None:
        live.remember_loop(asyncio.get_running_loop())
        self.joined: set[str] = set()
        for group in await database_sync_to_async(staff_groups)(self.scope.get("user")):
            await self._join(group)
        await self.accept()

    async def _join(self, group: str) -> None:
        if group not in self.joined and len(self.joined) < MAX_FOLLOWED + 50:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """`{"follow": [request ids]}`: the page shows these requests (public data only flows)."""
        ids = content.get("follow") if isinstance(content, dict) else None
        watch = content.get("watch") if isinstance(content, dict) else None
        if not isinstance(ids, list) and not isinstance(watch, list):
            return
        for value in (ids or [])[:MAX_FOLLOWED]:
            if isinstance(value, int) and value > 0:
                await self._join(f"req.{value}")
        # deliberation pages: `{"watch": ["topic.5", "delib.<hall code>"]}` (public counts)
        for name in (watch or [])[:MAX_FOLLOWED]:
            if isinstance(name, str) and delib_live.WATCHABLE.match(name):
                await self._join(name)
        await self.send_json({"kind": "following", "count": len(self.joined)})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # A push only passes its message on: it reads no database, so it skips what Channels
        # does before every handler, closing stale database connections in a worker thread
        # (a thread hop per page per push, docs/proof.md, session 8).
        if message.get("type") == "live.message":
            await self.live_message(message)
        else:
            await super().dispatch(message)

    async def live_message(self, event: dict[str, Any]) -> None:
        """A change to a request this page shows."""
        keys = ("kind", "id", "status", "verb", "version", "hall")
        await self.send_json({k: event[k] for k in keys if k in event})
