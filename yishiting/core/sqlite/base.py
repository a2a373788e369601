"""Django's SQLite backend with the process's connections kept for reuse.

Under ASGI Django opens a connection for every request and closes it at the end
(`CONN_MAX_AGE = 0`: each request runs in a thread of its own, so a persistent connection
would die with its thread). On SQLite a new connection costs about 5 ms of CPU: SQLite parses
the whole schema again on its first statement, and Django registers its functions and runs the
PRAGMAs. That is a fifth of a loaded server's time per call (docs/proof.md). PostgreSQL has
Django's own pool for the same reason (`YISHITING_DB_POOL`).

So a closed connection goes back to a small pool of its database file, and the next request
of any thread takes it, already set up: Django then resets autocommit on it as on any new
connection. A connection goes back only when it is clean: no open transaction and foreign
keys enforced; a connection whose file has been replaced (another inode at the path) is not
reused. In-memory databases are never pooled (closing one would lose it, and Django never
closes them anyway).

The cursor keeps the statements it has converted from Django's `%s` placeholders to SQLite's
`?`: Django runs a regular expression over every statement's text on every execution, and
the texts repeat (a bulk insert of rollup rows is ~1,000 placeholders long).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from functools import lru_cache
from typing import Any

from django.db.backends.sqlite3 import base

IDLE_PER_DATABASE = 8

_lock = threading.Lock()
_idle: dict[tuple[str, int, int], list[Any]] = {}


def _file_key(name: str) -> tuple[str, int, int] | None:
    try:
        st = os.stat(name)
    except OSError:
        return None
    return (os.path.abspath(name), st.st_dev, st.st_ino)


@lru_cache(maxsize=1024)
def _qmark(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class Cursor(base.SQLiteCursorWrapper):
    def convert_query(self, query: str, *, param_names: Any = None) -> str:
        if param_names is None:
            return _qmark(query)
        return super().convert_query(query, param_names=param_names)  # type: ignore[no-any-return]


class DatabaseWrapper(base.DatabaseWrapper):
    _pool_key: tuple[str, int, int] | None = None

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        key = None if self.is_in_memory_db() else _file_key(self.settings_dict["NAME"])
        if key is not None:
            with _lock:
                idle = _idle.get(key)
                if idle:
                    self._pool_key = key
                    return idle.pop()
        conn = super().get_new_connection(conn_params)
        if key is None and not self.is_in_memory_db():
            key = _file_key(self.settings_dict["NAME"])  # the file exists now
        self._pool_key = key
        return conn

    def create_cursor(self, name: Any = None) -> Any:
        return self.connection.cursor(factory=Cursor)

    def _close(self) -> None:
        conn, key = self.connection, self._pool_key
        self._pool_key = None
        if conn is not None and key is not None and self._reusable(conn):
            with _lock:
                idle = _idle.setdefault(key, [])
                if len(idle) < IDLE_PER_DATABASE:
                    idle.append(conn)
                    return
        super()._close()  # type: ignore[misc]  # not in django-stubs

    @staticmethod
    def _reusable(conn: Any) -> bool:
        try:
            if conn.in_transaction:
                conn.rollback()
            return bool(conn.execute("PRAGMA foreign_keys").fetchone()[0])
        except sqlite3.Error:
            return False
