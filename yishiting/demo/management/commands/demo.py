"""`yishiting demo`: migrate, seed the demo county, serve it with the demo logins shown."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from yishiting.core.management.commands.serve import serve
from yishiting.core.views import DEMO_LOGINS
from yishiting.demo.seed import DEMO_PASSWORD, seed_demo
from yishiting.demo.texts import COUNTY_NAME
from yishiting.requests.states import STATE_LABELS, State


class Command(BaseCommand):
    help = "Seed a demo county (halls, people, a year of requests) and serve it on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="seed only, do not serve")
        parser.add_argument(
            "--requests", type=int, default=1000, help="requests to seed over the past year"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Demo mode: the home page lists the logins below.
        os.environ["YISHITING_DEMO"] = "1"
        settings.DEMO = True
        call_command("migrate", interactive=False, verbosity=0)
        out = self.stdout
        result = seed_demo(requests=options["requests"], log=lambda line: out.write(f"  {line}"))
        if result["seeded"]:
            out.write(f"Seeded {COUNTY_NAME} in {result['seconds']} s: {self._summary(result)}")
        else:
            out.write(f"{COUNTY_NAME} is already seeded; nothing added. {self._summary(result)}")
            out.write("  (to start over, delete the database and run `yishiting demo` again)")
        out.write("")
        out.write(f"Demo logins (password {DEMO_PASSWORD} for every account):")
        width = max(len(u) for u, _r in DEMO_LOGINS)
        for username, role in DEMO_LOGINS:
            out.write(f"  {username.ljust(width)}  {role}")
        if options["no_serve"]:
            return
        port = options["port"]
        out.write("")
        out.write(
            self.style.SUCCESS(f"Serving the demo on http://127.0.0.1:{port}/ (Ctrl+C stops)")
        )
        serve("127.0.0.1", port)

    @staticmethod
    def _summary(result: dict[str, Any]) -> str:
        halls = sum(result["halls"].values())
        states = ", ".join(
            f"{STATE_LABELS[State(s)]} {n}" for s, n in result["states"].items() if n
        )
        return (
            f"{halls} halls, {result['liaisons']} liaisons, {result['departments']} departments, "
            f"{result['requests']} requests ({states}), {result['overdue']} overdue now."
        )
