"""`yishiting ledger [filters] --out F.xlsx`: the case ledger (台账) as Excel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishiting.core.errors import ActionError
from yishiting.ledger.xlsx import write_ledger
from yishiting.orgs.models import User
from yishiting.orgs.scope import Actor
from yishiting.requests.filters import RequestFilters
from yishiting.requests.models import Request
from yishiting.requests.queries import visible_requests


class Command(BaseCommand):
    help = (
        "Write the case ledger (台账) as .xlsx: one row per request, with the filters of "
        "GET /api/v1/requests (see docs/ledger.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, metavar="F.xlsx", help="the file to write")
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="as this user sees it: their requests, names and phones where they handle "
            "the request (default: every request, personal data masked)",
        )
        parser.add_argument("--hall", help="a hall code: requests raised in or now in its subtree")
        parser.add_argument("--at", help="a hall code: requests now in exactly that hall")
        parser.add_argument("--status", help="state codes, comma-separated")
        parser.add_argument("--department", help="a department code")
        parser.add_argument("--overdue", choices=["yes", "no"], help="only overdue, or only not")
        parser.add_argument("--since", help="submitted at or after (ISO 8601 with time zone)")
        parser.add_argument("--until", help="submitted before (ISO 8601 with time zone)")
        parser.add_argument("--force", action="store_true", help="overwrite an existing file")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        if out.suffix.lower() != ".xlsx":
            raise CommandError(f"--out must end in .xlsx: {out}")
        if out.exists() and not options["force"]:
            raise CommandError(f"{out} exists; pass --force to overwrite it")
        who = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
            who = Actor.of(user)
        overdue = {"yes": True, "no": False}.get(options["overdue"] or "")
        filters = RequestFilters(
            hall=options["hall"],
            at=options["at"],
            status=options["status"],
            department=options["department"],
            overdue=overdue,
            since=options["since"],
            until=options["until"],
        )
        base = visible_requests(who) if who else Request.objects.all()
        try:
            qs = filters.apply(base)
        except ActionError as exc:
            raise CommandError(exc.message) from exc
        try:
            count = write_ledger(qs, who, out)
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from exc
        self.stdout.write(f"{out}: {count} requests")
