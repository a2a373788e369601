"""`yishiting restore FILE [--force]`: load a backup, then check it by counting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishiting.core.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `yishiting backup` into this database; refuses a database "
        "that holds data unless --force; fails if the restored counts differ from the backup's."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, metavar="FILE", help="the backup file")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that already holds data"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest, found = restore(options["file"], force=options["force"])
        except BackupError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"restored {options['file']} (taken {manifest.created_at}): "
            f"{found['requests']} requests, {found['events']} events — as in the backup"
        )
