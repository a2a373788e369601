"""The in-process worker: the deadline sweep plus the django-tasks database worker, in
`settings.TASK_THREADS` threads (each takes one task at a time, SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from yishiting.core import lost_tasks
from yishiting.notify import housekeeping
from yishiting.requests import sweep
from yishiting.web import live

log = logging.getLogger("yishiting.worker")


def _task_worker():  # type: ignore[no-untyped-def]
    """A django-tasks-db worker for every queue, or None when another backend is configured."""
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return None
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=["*"],
        interval=0.5,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=lost_tasks.worker_id(),
        excluded_queue_names=[],
    )


class Background:
    """Runs the sweep and the task worker in daemon threads until `stop()`."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.tasks = [w for _ in range(settings.TASK_THREADS) if (w := _task_worker()) is not None]
        self.threads: list[threading.Thread] = []

    def start(self) -> Background:
        """Start both loops."""
        live.own_loop()
        self.threads.append(
            threading.Thread(
                target=sweep.run_forever, args=(self.stopping,), name="sweep", daemon=True
            )
        )
        for i, worker in enumerate(self.tasks):
            self.threads.append(threading.Thread(target=worker.run, name=f"tasks-{i}", daemon=True))
        if self.tasks:
            self.threads.append(
                threading.Thread(
                    target=housekeeping.run_forever,
                    args=(self.stopping,),
                    name="notify-housekeeping",
                    daemon=True,
                )
            )
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask both loops to stop and wait a little for them."""
        self.stopping.set()
        for worker in self.tasks:
            worker.running = False
        for thread in self.threads:
            thread.join(timeout)
