"""`yishiting report --month 2026-10 --scope county|township:CODE [--out DIR]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishiting.core.errors import ActionError
from yishiting.orgs.models import Hall, HallKind
from yishiting.stats import metrics as m
from yishiting.stats import rankings as r
from yishiting.stats.report import generate


class Command(BaseCommand):
    help = "Write a county's or township's monthly report as .xlsx and PDF."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-10")
        parser.add_argument(
            "--scope", default="county", help="county (default) or township:CODE / hall:CODE"
        )
        parser.add_argument("--county", help="county hall code, when there are several")
        parser.add_argument("--out", default=".", help="directory to write into (default .)")

    def handle(self, *args: Any, **options: Any) -> None:
        counties = Hall.objects.filter(kind=HallKind.COUNTY).order_by("code")
        if options["county"]:
            counties = counties.filter(code=options["county"])
        county = counties.first()
        if county is None:
            raise CommandError("no such county (import the org tree first)")
        try:
            month = r.parse_month(options["month"])
            scope = m.parse_scope(options["scope"], county)
            if scope.kind not in ("county", "hall"):
                raise CommandError("--scope: county or township:CODE")
            paths = generate(scope, month, Path(options["out"]))
        except ActionError as exc:
            raise CommandError(exc.message) from None
        for path in paths:
            self.stdout.write(str(path))
