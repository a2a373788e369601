"""`yishiting backup [--out FILE]`: the database (online, while serving) and the uploads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishiting.core.backup import BackupError, backup, manifest_path, media_path


class Command(BaseCommand):
    help = "Back up the database (SQLite online backup or pg_dump -Fc) and the uploaded photos."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out", type=Path, help="the backup file (default: var/backups/yishiting-<time>.*)"
        )
        parser.add_argument("--no-media", action="store_true", help="leave the uploaded photos out")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            out, manifest = backup(options["out"], media=not options["no_media"])
        except BackupError as exc:
            raise CommandError(exc.message) from None
        c = manifest.counts
        self.stdout.write(f"backup: {out} ({c['requests']} requests, {c['events']} events)")
        self.stdout.write(f"manifest: {manifest_path(out)}")
        if manifest.media:
            self.stdout.write(f"photos: {media_path(out)}")
