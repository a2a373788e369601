"""Tasks a killed worker left RUNNING are put right (core.lost_tasks)."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from yishiting.core import lost_tasks

DELIVER = "yishiting.notify.tasks.deliver_task"


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def running(task_path: str, worker: str, started_ago: float = 1.0) -> DBTaskResult:
    return DBTaskResult.objects.create(
        task_path=task_path,
        args_kwargs={"args": ["in_app:user:1"], "kwargs": {}},
        backend_name="default",
        run_after=get_date_max(),
        status=TaskResultStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=started_ago),
        worker_ids=[worker],
    )


@pytest.mark.django_db
def test_a_delivery_whose_worker_died_here_runs_again_at_once() -> None:
    row = running(DELIVER, f"{socket.gethostname()}-{dead_pid()}")
    assert lost_tasks.recover() == 1
    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY
    assert row.started_at is None
    # and a worker takes it like any other ready task
    assert DBTaskResult.objects.ready().filter(pk=row.pk).exists()


@pytest.mark.django_db
def test_a_task_of_a_live_worker_is_left_alone() -> None:
    row = running(DELIVER, lost_tasks.worker_id())
    assert lost_tasks.recover() == 0
    row.refresh_from_db()
    assert row.status == TaskResultStatus.RUNNING


@pytest.mark.django_db
def test_a_task_of_another_host_is_put_right_only_after_two_leases(settings) -> None:  # type: ignore[no-untyped-def]
    settings.NOTIFY_LEASE_SECONDS = 60
    recent = running(DELIVER, "elsewhere-123", started_ago=30)
    old = running(DELIVER, "elsewhere-456", started_ago=121)
    assert lost_tasks.recover() == 1
    recent.refresh_from_db()
    old.refresh_from_db()
    assert recent.status == TaskResultStatus.RUNNING
    assert old.status == TaskResultStatus.READY


@pytest.mark.django_db
def test_a_task_not_known_safe_to_rerun_is_marked_failed_not_run_twice() -> None:
    row = running("somewhere.else.task", f"{socket.gethostname()}-{dead_pid()}")
    assert lost_tasks.recover() == 1
    row.refresh_from_db()
    assert row.status == TaskResultStatus.FAILED
    assert row.exception_class_path == "yishiting.core.lost_tasks.WorkerLost"
    assert row.finished_at is not None
