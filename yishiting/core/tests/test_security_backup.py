"""`yishiting backup` / `yishiting restore` on the suite's database (SQLite, or PostgreSQL in
the second pass of `make test`): a restore into an empty database gives back every request
and event, refuses a database with data unless --force, and fails when the counts differ."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from yishiting.core.backup import manifest_path, media_path
from yishiting.requests import actions as A
from yishiting.requests.models import Attachment, Event, Request
from yishiting.testing import build_county, png_bytes

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]


def _data() -> tuple[int, int]:
    c = build_county()
    photo = io.BytesIO(png_bytes())
    photo.name = "bin.png"
    for text in ("垃圾桶坏了", "路灯不亮", "下水道堵了"):
        r = A.do_submit(actor=c["resident1"], hall=c.village, text=text, photos=[photo])
        photo.seek(0)
        A.do_acknowledge(r.pk, actor=c["liaison1"], note="收到")
    return Request.objects.count(), Event.objects.count()


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a `yishiting` process whose database is new and empty."""
    env = dict(os.environ, YISHITING_DATA_DIR=str(tmp_path / "restored"))
    env["YISHITING_MEDIA_ROOT"] = str(tmp_path / "restored-media")
    if connection.vendor == "sqlite":
        env.pop("DATABASE_URL", None)
        yield env
        return
    name = f"yst_restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    db = connection.settings_dict
    host = (db.get("HOST") or "").replace("/", "%2F")
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{host}:{db.get('PORT') or 5432}/{name}"
    )
    try:
        yield env
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _yishiting(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yishiting.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _count_in(env: dict[str, str]) -> list[int]:
    code = (
        "import django, json; django.setup(); from yishiting.requests.models import Event, "
        "Request; print(json.dumps([Request.objects.count(), Event.objects.count()]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(env, DJANGO_SETTINGS_MODULE="config.settings"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_backup_then_restore_into_an_empty_database(tmp_path: Path, empty_database) -> None:  # type: ignore[no-untyped-def]
    requests, events = _data()
    out = tmp_path / "nightly.bak"
    printed = io.StringIO()
    call_command("backup", "--out", str(out), stdout=printed)
    assert f"({requests} requests, {events} events)" in printed.getvalue()
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["counts"] == {"requests": requests, "events": events}
    assert manifest["vendor"] == connection.vendor and manifest["media"] is True
    assert media_path(out).stat().st_size > 0
    with pytest.raises(CommandError, match="exists"):
        call_command("backup", "--out", str(out), stdout=io.StringIO())

    # writes after the backup are not in it
    A.do_comment(Request.objects.first().pk, actor=Request.objects.first().reporter, note="补充")

    restored = _yishiting(empty_database, "restore", str(out))
    assert restored.returncode == 0, restored.stderr
    assert f"{requests} requests, {events} events" in restored.stdout
    assert _count_in(empty_database) == [requests, events]
    photos = list(Path(empty_database["YISHITING_MEDIA_ROOT"]).rglob("*.*"))
    assert len(photos) == Attachment.objects.count() == 3

    again = _yishiting(empty_database, "restore", str(out))
    assert again.returncode != 0 and "--force" in again.stderr and "Traceback" not in again.stderr
    forced = _yishiting(empty_database, "restore", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert _count_in(empty_database) == [requests, events]


def test_restore_fails_when_the_counts_differ(tmp_path: Path, empty_database) -> None:  # type: ignore[no-untyped-def]
    _data()
    out = tmp_path / "b.bak"
    call_command("backup", "--out", str(out), "--no-media", stdout=io.StringIO())
    assert not media_path(out).exists()
    manifest = json.loads(manifest_path(out).read_text())
    manifest["counts"]["events"] += 1  # as if the file had lost an event
    manifest_path(out).write_text(json.dumps(manifest))
    result = _yishiting(empty_database, "restore", str(out))
    assert result.returncode != 0
    assert "differ" in result.stderr and "Traceback" not in result.stderr


def test_restore_refuses_a_database_with_data(tmp_path: Path) -> None:
    requests, events = _data()
    out = tmp_path / "b.bak"
    call_command("backup", "--out", str(out), stdout=io.StringIO())
    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(out), stdout=io.StringIO())
    assert (Request.objects.count(), Event.objects.count()) == (requests, events)


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such backup"):
        call_command("restore", str(tmp_path / "missing.bak"), stdout=io.StringIO())
    junk = tmp_path / "junk.bak"
    junk.write_bytes(b"not a database")
    with pytest.raises(CommandError, match="manifest"):
        call_command("restore", str(junk), stdout=io.StringIO())


def test_a_sqlite_backup_is_a_consistent_database_file(tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    _, events = _data()
    out = tmp_path / "b.sqlite3"
    call_command("backup", "--out", str(out), "--no-media", stdout=io.StringIO())
    db = sqlite3.connect(out)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT COUNT(*) FROM requests_event").fetchone() == (events,)
