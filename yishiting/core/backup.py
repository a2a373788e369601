"""Backups and restores of the database and the uploads (`yishiting backup` / `restore`).

A backup is a set of files beside each other:

- `NAME` — the database: a SQLite file made with SQLite's online backup API (safe while the
  server runs), or a PostgreSQL `pg_dump -Fc` archive;
- `NAME.json` — the manifest: the database vendor, the time, and how many requests and events
  the backup holds (counted in the very snapshot the backup was taken from);
- `NAME.media.tar` — the uploaded photos (MEDIA_ROOT), unless left out.

A restore refuses a database that already holds data unless forced, loads the backup, then
counts requests and events again and fails when they differ from the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils import timezone

from yishiting.core.errors import ActionError

# Tables whose rows make a database "not empty" (a restore over them needs --force).
DATA_TABLES = ("orgs_hall", "orgs_user", "requests_request", "requests_event")
COUNTED = {"requests": "requests_request", "events": "requests_event"}


class BackupError(ActionError):
    """A backup or restore that could not be done (nothing was changed)."""

    code = "backup_failed"
    status = 400


@dataclass
class Manifest:
    """What a backup holds."""

    vendor: str
    created_at: str
    counts: dict[str, int]
    media: bool

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                vendor=str(raw["vendor"]),
                created_at=str(raw["created_at"]),
                counts={k: int(v) for k, v in raw["counts"].items()},
                media=bool(raw.get("media")),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupError(f"{path}: not a readable backup manifest ({exc})") from None


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + ".json")


def media_path(out: Path) -> Path:
    return out.with_name(out.name + ".media.tar")


def default_name(vendor: str) -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    ext = "sqlite3" if vendor == "sqlite" else "pgdump"
    return Path(settings.DATA_DIR) / "backups" / f"yishiting-{stamp}.{ext}"


def _count(cursor: Any, tables: dict[str, str]) -> dict[str, int]:
    out = {}
    for key, table in tables.items():
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        out[key] = int(cursor.fetchone()[0])
    return out


def _libpq(alias: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump / pg_restore connection arguments and environment for a Django database."""
    db = connections[alias].settings_dict
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"{cmd[0]} is not installed (Debian: apt-get install postgresql-client)")
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {result.stderr.strip()[-2000:]}")


def backup(
    out: Path | None = None, *, media: bool = True, alias: str = "default"
) -> tuple[Path, Manifest]:
    """Write a backup of the database (and the uploads); return its path and manifest."""
    connection = connections[alias]
    vendor = connection.vendor
    out = out or default_name(vendor)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        raise BackupError(f"{out} exists: give another --out")
    tmp = out.with_name(f".{out.name}.partial")
    try:
        if vendor == "sqlite":
            connection.ensure_connection()
            source = sqlite3.connect(connection.settings_dict["NAME"])
            target = sqlite3.connect(tmp)
            try:
                source.backup(target)
                counts = _count(target.cursor(), COUNTED)
            finally:
                target.close()
                source.close()
        elif vendor == "postgresql":
            # Count in an exported snapshot and dump that same snapshot: the manifest's counts
            # are exactly what the archive holds, even while the server keeps writing.
            args, env = _libpq(alias)
            if connection.in_atomic_block:
                raise BackupError("a PostgreSQL backup runs outside any transaction")
            with connection.cursor() as cursor:
                cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                try:
                    cursor.execute("SELECT pg_export_snapshot()")
                    snapshot = cursor.fetchone()[0]
                    counts = _count(cursor, COUNTED)
                    _run(
                        [
                            "pg_dump",
                            "-Fc",
                            "--no-owner",
                            f"--snapshot={snapshot}",
                            "-f",
                            str(tmp),
                            *args,
                        ],
                        env,
                    )
                finally:
                    cursor.execute("ROLLBACK")
        else:
            raise BackupError(f"no backup for {vendor} databases")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    root = Path(settings.MEDIA_ROOT)
    with_media = media and root.is_dir()
    if with_media:
        with tarfile.open(media_path(out), "w") as tar:
            tar.add(root, arcname="media")
    manifest = Manifest(vendor, timezone.now().isoformat(), counts, with_media)
    manifest.write(manifest_path(out))
    return out, manifest


def holds_data(alias: str = "default") -> bool:
    """Whether the database already holds halls, people, requests or events."""
    connection = connections[alias]
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in DATA_TABLES:
            if table in existing:
                cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")
                if cursor.fetchone() is not None:
                    return True
    return False


def counts(alias: str = "default") -> dict[str, int]:
    """Requests and events in the database now."""
    with connections[alias].cursor() as cursor:
        return _count(cursor, COUNTED)


def restore(
    path: Path, *, force: bool = False, alias: str = "default"
) -> tuple[Manifest, dict[str, int]]:
    """Load a backup into the database; return the manifest and the counts found after."""
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    manifest = Manifest.read(manifest_path(path))
    connection = connections[alias]
    if manifest.vendor != connection.vendor:
        raise BackupError(
            f"{path} is a {manifest.vendor} backup; this database is {connection.vendor}"
        )
    if holds_data(alias) and not force:
        raise BackupError(
            "the database already holds data: restoring would replace it. "
            "Give --force to replace it (take a backup of it first)."
        )
    if connection.vendor == "sqlite":
        try:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            source.execute("SELECT COUNT(*) FROM requests_request").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path}: not a Yishiting SQLite backup ({exc})") from None
        connection.close()
        target = sqlite3.connect(connection.settings_dict["NAME"], timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        args, env = _libpq(alias)
        connection.close()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                *args,
                str(path),
            ],
            env,
        )
    connection.close()
    if manifest.media and media_path(path).is_file():
        _restore_media(media_path(path))
    found = counts(alias)
    if found != manifest.counts:
        raise BackupError(f"restored counts {found} differ from the backup's {manifest.counts}")
    return manifest, found


def _restore_media(archive: Path) -> None:
    """Unpack the uploads into MEDIA_ROOT (files of the same name are replaced)."""
    root = Path(settings.MEDIA_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent) as tmp, tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")  # no absolute paths, no links out of the folder
        unpacked = Path(tmp) / "media"
        for item in unpacked.rglob("*"):
            if item.is_file():
                dest = root / item.relative_to(unpacked)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(item, dest)
