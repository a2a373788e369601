"""`yishiting serve`: the web app (ASGI), in one process or several, with the worker."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishiting.core.asgi import KEEP_ALIVE_SECONDS, PARENT_ENV, tune_gc
from yishiting.core.background import Background


def secret_key_problem(key: str) -> str:
    """What is wrong with a secret key for production, or "" when nothing is."""
    if not key or key == settings.DEFAULT_SECRET_KEY:
        return "the default (or an empty) secret key"
    if key.startswith("django-insecure") or len(key) < 32 or len(set(key)) < 8:
        return "a weak secret key (under 32 characters, or Django's insecure sample)"
    return ""


def serve(host: str, port: int, *, worker: bool = True) -> None:
    """Serve until interrupted; the worker runs in threads beside the server.

    With `settings.SERVE_PROCESSES` above 1, uvicorn's supervisor runs that many server
    processes on the one socket, restarts any that dies, and this process, their parent, runs
    the worker. Each child exits when its parent is gone (`core.asgi.exit_with_parent`), so a
    parent killed with -9 leaves no orphan holding the port."""
    import uvicorn

    processes = settings.SERVE_PROCESSES
    if processes > 1:
        os.environ[PARENT_ENV] = str(os.getpid())  # the children inherit the environment
    tune_gc()  # this process runs the worker; each server process does it too (config.asgi)
    background = Background().start() if worker else None
    try:
        uvicorn.run(
            "config.asgi:application",
            host=host,
            port=port,
            workers=processes,
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
        call_command("createcachetable", verbosity=0)  # the shared rate-limit counters, if any
        self.stdout.write(f"serving on http://{options['host']}:{options['port']}/")
        serve(options["host"], options["port"], worker=not options["no_worker"])
