"""`yishiting routing-train`: retrain each county's category classifier from its history."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from yishiting.orgs.models import Hall, HallKind
from yishiting.routing.duplicates import index_missing
from yishiting.routing.suggest import train_from_history


class Command(BaseCommand):
    help = "Retrain the category/department classifier of every county (or one) from history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--county", metavar="CODE", help="Only this county (its hall code).")
        parser.add_argument(
            "--fingerprints",
            action="store_true",
            help="Also fingerprint the last 30 days' requests that have none (duplicates).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["fingerprints"]:
            written = index_missing(timezone.now())
            self.stdout.write(f"fingerprinted {written} requests")
        counties = Hall.objects.filter(kind=HallKind.COUNTY)
        if options["county"]:
            counties = counties.filter(code=options["county"])
            if not counties.exists():
                raise CommandError(f"no county with code {options['county']}")
        for county in counties:
            row = train_from_history(county)
            if row is None:
                self.stdout.write(f"{county.code} {county.name}: too little history, not trained")
                continue
            threshold = "never" if row.threshold is None else f"{row.threshold:.3f}"
            self.stdout.write(
                f"{county.code} {county.name}: {row.samples} requests, {len(row.labels)} labels, "
                f"cross-validated macro-F1 {row.cv_macro_f1:.3f}, auto threshold {threshold}, "
                f"{row.train_seconds:.1f} s"
            )
