"""`yishiting worker`: the deadline sweep and background tasks. Safe to run several at once."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from yishiting.core.asgi import tune_gc
from yishiting.core.background import Background


class Command(BaseCommand):
    help = "Run the deadline sweep and the background task worker until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        tune_gc()
        background = Background().start()
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        self.stdout.write("worker running (deadline sweep + tasks); Ctrl+C stops it")
        done.wait()
        background.stop()
