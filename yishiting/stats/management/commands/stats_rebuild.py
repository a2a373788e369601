"""`yishiting stats-rebuild`: recompute the statistics rollups from requests and events."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from yishiting.stats.rollups import rebuild


class Command(BaseCommand):
    help = "Recompute the statistics rollups from the requests and their events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk", type=int, default=5000, help="requests read per batch (default 5000)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        start = time.perf_counter()
        rows = rebuild(chunk=options["chunk"])
        took = time.perf_counter() - start
        self.stdout.write(f"{rows} rollup rows rebuilt in {took:.1f} s")
