"""The live pages' channel layer without Redis: in one process's memory (`MemoryLayer`), and
for several server processes on one machine (`LocalBusLayer`).

`yishiting serve` on the embedded SQLite database runs several processes when
`YISHITING_SERVE_PROCESSES` asks for them (docs/settings.md): one process is capped at one
core by the GIL (28.8 calls/s in the full load suite, docs/proof.md). A push must then reach
the pages of every process, whichever process (or the sweep, in the parent) wrote the event.

Each process keeps its own pages' groups in memory, as Channels' in-memory layer does. A group
send delivers to this process's members, then hands the group and the message to every other
process that has pages: each one listens, once its first page has joined a group, on a Unix
socket `<pid>-<random>.sock` in one directory; a sender finds them by listing it and keeps one
connection to each. Frames are one line of JSON. Nothing is stored: like the Redis pub/sub
layer, a push for a process that is down is not kept (its pages reconnect and reload). A socket
file whose process died (kill -9 leaves it) refuses connections and is removed by the first
sender that finds it so.

Sends are plain blocking writes of a few hundred bytes into a local socket's buffer, so the
sweep's threads, which have no event loop, send the same way as the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

from channels.layers import InMemoryChannelLayer

log = logging.getLogger("yishiting.live")

SEND_TIMEOUT = 0.5  # seconds: a peer that takes longer to take a frame is dropped (it reconnects)
RESCAN_SECONDS = 1.0  # how often a sender lists the directory for new or gone peers
EXPIRY_SCAN_SECONDS = 1.0  # how often the layer looks for expired messages and memberships


class MemoryLayer(InMemoryChannelLayer):
    """Channels' in-memory layer, its scan for expired messages and memberships made at most
    once a second.

    Channels makes that scan, over every channel's queue and every group's members, on each
    receive and each group send. With 500 pages open in a process, every page a push wakes
    waits for its next message and scans all 500 again: about a tenth of a server process's
    time in the full load suite (docs/proof.md, session 8). Messages expire after a minute
    and memberships after a day, so a scan a second removes them as exactly as anyone sees."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._scanned_expiry = -EXPIRY_SCAN_SECONDS

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._scanned_expiry >= EXPIRY_SCAN_SECONDS:
            self._scanned_expiry = now
            super()._clean_expired()


class LocalBusLayer(MemoryLayer):
    """In-memory groups per process, group sends shared over Unix sockets in `path`."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.name = ""  # this process's socket file, once it listens
        self._server: asyncio.AbstractServer | None = None
        self._listening: asyncio.Lock | None = None
        self._peers: dict[str, socket.socket] = {}
        self._scanned = 0.0
        self._names: list[str] = []
        self._lock = threading.Lock()

    # --- receiving ---------------------------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        await super().group_add(group, channel)
        await self._listen()

    async def _listen(self) -> None:
        if self._server is not None:
            return
        if self._listening is None:
            self._listening = asyncio.Lock()
        async with self._listening:
            if self._server is not None:
                return
            name = f"{os.getpid()}-{secrets.token_hex(4)}.sock"
            self._server = await asyncio.start_unix_server(self._serve, str(self.path / name))
            self.name = name

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    frame = json.loads(line)
                    await super().group_send(frame["group"], frame["message"])
                except (ValueError, KeyError, TypeError):
                    log.warning("live bus: a malformed frame was dropped")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    # --- sending -----------------------------------------------------------------------------

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await super().group_send(group, message)
        frame = (json.dumps({"group": group, "message": message}) + "\n").encode()
        self.share(frame)

    def share(self, frame: bytes) -> None:
        """Write one frame to every other process that listens; drop those that do not take it."""
        with self._lock:
            for name in self._peer_names():
                for _ in range(2):  # a kept connection may have gone (peer restarted): one new try
                    try:
                        sock = self._peers.get(name) or self._connect(name)
                        if sock is None:  # nobody listens there any more
                            break
                        sock.sendall(frame)
                        break
                    except OSError:
                        self._drop(name)
                else:
                    log.warning("live bus: a push for %s was not delivered", name)

    def _peer_names(self) -> list[str]:
        now = time.monotonic()
        if now - self._scanned > RESCAN_SECONDS:
            self._scanned = now
            try:
                found = sorted(p.name for p in self.path.glob("*.sock"))
            except OSError:
                found = []
            self._names = [n for n in found if n != self.name]
            for gone in set(self._peers) - set(self._names):
                self._drop(gone)
        return self._names

    def _connect(self, name: str) -> socket.socket | None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(SEND_TIMEOUT)
        try:
            sock.connect(str(self.path / name))
        except (ConnectionRefusedError, FileNotFoundError):
            # Nobody listens there any more (its process was killed): forget the file.
            sock.close()
            with contextlib.suppress(OSError):
                (self.path / name).unlink()
            self._names = [n for n in self._names if n != name]
            return None
        except OSError:
            sock.close()
            raise
        self._peers[name] = sock
        return sock

    def _drop(self, name: str) -> None:
        sock = self._peers.pop(name, None)
        if sock is not None:
            sock.close()

    async def close(self) -> None:
        with self._lock:
            for name in list(self._peers):
                self._drop(name)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(OSError):
                (self.path / self.name).unlink()
            self._server = None
