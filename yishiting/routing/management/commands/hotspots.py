"""`yishiting hotspots --input FILE.csv --top N`: the hottest problems in a CSV of messages."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishiting.routing.hotspots import find_hotspots, read_messages_csv


class Command(BaseCommand):
    help = "Cluster the messages of a CSV by problem and list the hottest clusters."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, metavar="FILE.csv")
        parser.add_argument("--top", type=int, default=10, metavar="N")
        parser.add_argument(
            "--json", action="store_true", help="One JSON object per line instead of a table."
        )
        parser.add_argument(
            "--show", type=int, default=3, metavar="K", help="Titles shown per hotspot."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            messages = read_messages_csv(options["input"])
        except (OSError, ValueError, KeyError) as e:
            raise CommandError(str(e)) from e
        if options["top"] < 1:
            raise CommandError("--top must be at least 1")
        spots = find_hotspots(messages, top=options["top"])
        for rank, spot in enumerate(spots, 1):
            if options["json"]:
                self.stdout.write(
                    json.dumps(
                        {
                            "rank": rank,
                            "title": spot.title,
                            "messages": len(spot.messages),
                            "reporters": spot.reporters,
                            "cosigns": spot.cosigns,
                            "growth": spot.growth,
                            "heat": spot.heat,
                            "first": spot.first.isoformat(),
                            "last": spot.last.isoformat(),
                            "ids": [m.id for m in spot.messages],
                        },
                        ensure_ascii=False,
                    )
                )
                continue
            self.stdout.write(
                f"{rank:>2}. {spot.title}  — {len(spot.messages)} messages, "
                f"{spot.reporters} reporters, {spot.cosigns} co-signs, heat {spot.heat}, "
                f"{spot.first:%Y-%m-%d} → {spot.last:%Y-%m-%d}"
            )
            for m in spot.messages[: options["show"]]:
                self.stdout.write(f"      {m.time:%Y-%m-%d} {m.title}")
