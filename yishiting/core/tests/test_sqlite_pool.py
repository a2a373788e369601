"""The SQLite backend's connection pool (core/sqlite/base.py): a closed connection is reused
by the next one, already set up; a dirty one is cleaned or dropped; a replaced file's is not
reused."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

pytestmark = pytest.mark.django_db


def _wrapper(path: Path) -> Any:
    """A Django connection to the SQLite file `path`, as settings.DATABASES makes it."""
    handler = ConnectionHandler({"default": {"ENGINE": "yishiting.core.sqlite", "NAME": str(path)}})
    return handler["default"]


def _raw(path: Path) -> tuple[Any, Any]:
    w = _wrapper(path)
    w.ensure_connection()
    return w, w.connection


def test_a_closed_connection_is_reused_set_up(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    w1, raw = _raw(db)
    w1.close()
    w2, again = _raw(db)
    assert again is raw
    with w2.cursor() as c:  # Django's own functions are still registered on it
        c.execute("SELECT django_format_dtdelta('+', 1, 2)")
        assert c.fetchone()[0] is not None
    w2.close()
    _, other = _raw(tmp_path / "b.sqlite3")  # another file: another connection
    assert other is not raw


def test_a_connection_left_in_a_transaction_comes_back_rolled_back(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    w1, raw = _raw(db)
    raw.execute("CREATE TABLE t (x)")
    raw.execute("BEGIN")
    raw.execute("INSERT INTO t VALUES (1)")
    w1.close()
    _, again = _raw(db)
    assert again is raw and not again.in_transaction
    assert again.execute("SELECT count(*) FROM t").fetchone()[0] == 0


def test_a_connection_without_foreign_keys_is_not_reused(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    w1, raw = _raw(db)
    raw.execute("PRAGMA foreign_keys = OFF")
    w1.close()
    _, again = _raw(db)
    assert again is not raw
    assert again.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_a_replaced_files_connections_are_not_reused(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    w1, raw = _raw(db)
    w1.close()
    fresh = tmp_path / "fresh.sqlite3"
    sqlite3.connect(fresh).execute("CREATE TABLE marker (x)").connection.close()
    os.replace(fresh, db)  # as a restore by copying the file over would
    _, again = _raw(db)
    assert again is not raw
    assert again.execute("SELECT name FROM sqlite_master").fetchone()[0] == "marker"


def test_placeholders_are_converted_once_per_statement(tmp_path: Path) -> None:
    from yishiting.core.sqlite import base

    w = _wrapper(tmp_path / "q.sqlite3")
    base._qmark.cache_clear()
    with w.cursor() as c:
        c.execute("CREATE TABLE t (a TEXT, b INTEGER)")
        insert = "INSERT INTO t (a, b) VALUES (%s, %s)"
        for i in range(3):
            c.execute(insert, [f"{i}%s", i])
        # '%%' is a literal percent sign, as in Django's own backend
        c.execute("SELECT a FROM t WHERE a LIKE '%%' || %s ORDER BY b", ["%s"])
        assert [r[0] for r in c.fetchall()] == ["0%s", "1%s", "2%s"]
        c.execute("SELECT b FROM t WHERE b = %(n)s", {"n": 2})  # named: Django's own path
        assert c.fetchone()[0] == 2
    info = base._qmark.cache_info()
    assert (info.hits, info.misses) == (2, 2)
    w.close()
