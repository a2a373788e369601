"""`yishiting serve`: the web app (ASGI) with the worker in the same process."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishiting.core.asgi import KEEP_ALIVE_SECONDS
from yishiting.core.background import Background


def secret_key_problem(key: str) -> str:
    """What is wrong with a secret key for production, or "" when nothing is."""
    if not key or key == settings.DEFAULT_SECRET_KEY:
        return "the default (or an empty) secret key"
    if key.startswith("django-insecure") or len(key) < 32 or len(set(key)) < 8:
        return "a weak secret key (under 32 characters, or Django's insecure sample)"
    return ""


def serve(host: str, port: int, *, worker: bool = True) -> None:
    """Serve until interrupted; the worker runs in threads beside the server."""
    import uvicorn

    background = Background().start() if worker else None
    try:
        uvicorn.run(
            "config.asgi:application",
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    finally:
        if background is not None:
            background.stop()


class Command(BaseCommand):
    help = "Serve Yishiting over HTTP (with the deadline sweep and task worker in-process)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker", action="store_true", help="serve only; run `yishiting worker` apart"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        problem = secret_key_problem(settings.SECRET_KEY)
        if not settings.DEBUG and problem:
            raise CommandError(
                f"refusing to serve with DEBUG off and {problem}: set YISHITING_SECRET_KEY to "
                "a long random value, e.g. "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
            )
        self.stdout.write(f"serving on http://{options['host']}:{options['port']}/")
        serve(options["host"], options["port"], worker=not options["no_worker"])
