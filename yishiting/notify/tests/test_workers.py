"""Real `yishiting worker` processes against the test database and a local fake robot: two at
once share the load without sending anything twice or acting on a deadline twice; one killed
with SIGKILL in the middle of a delivery loses and doubles nothing once another takes over.

The processes are waited for by polling the database (they are separate programs: there is no
other way to know when they are done), never by sleeping a fixed time to win a race.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from yishiting.notify.models import Notification, RobotBinding
from yishiting.notify.testing import FakeWeComServer
from yishiting.notify.tests.test_outbox import delivered_ids
from yishiting.requests import actions as A
from yishiting.requests.models import Event, Request
from yishiting.testing import County

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[3]


def database_url() -> str:
    """The test database as a DATABASE_URL for another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = quote(db.get("HOST") or "localhost", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


@contextmanager
def worker() -> Iterator[subprocess.Popen[bytes]]:
    """A `yishiting worker` process on the test database, with short leases and retries."""
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="config.settings",
        YISHITING_NOTIFY_LEASE_SECONDS="2",
        YISHITING_NOTIFY_RETRY_SECONDS="0.2",
        YISHITING_NOTIFY_RETRY_MAX_SECONDS="1",
        YISHITING_BASE_URL="https://yst.example.gov.cn",
        no_proxy="127.0.0.1,localhost",
        NO_PROXY="127.0.0.1,localhost",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "yishiting.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    """Poll the database until `condition()` holds (the workers are other processes)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def all_sent(binding: RobotBinding) -> bool:
    return not Notification.objects.filter(binding=binding).exclude(status="sent").exists()


def test_two_workers_share_the_load_acting_and_sending_once(county: County) -> None:
    with FakeWeComServer(keys=["a", "b"]) as server:
        robots = [
            RobotBinding.objects.create(hall=hall, kind="wecom", webhook_url=server.webhook_url(k))
            for hall, k in ((county.village, "a"), (county.village2, "b"))
        ]
        # Deadlines already passed: both sweeps race to escalate them.
        past = timezone.now() - timedelta(minutes=10)
        reqs = [
            A.do_submit(actor=county["resident1"], hall=hall, text=f"第{i}件", now=past).pk
            for i in range(10)
            for hall in (county.village, county.village2)
        ]
        with worker(), worker():
            wait_for(
                lambda: Request.objects.filter(pk__in=reqs, status="escalated").count() == 20,
                "the escalations",
            )
            wait_for(lambda: all(all_sent(b) for b in robots), "the deliveries")
    for pk in reqs:
        assert Event.objects.filter(request_id=pk, verb="escalate").count() == 1
    ids = delivered_ids(server)
    assert sorted(ids) == sorted(reqs)  # each submit's message exactly once
    for b in robots:
        mine = [i for i in ids if Request.objects.get(pk=i).origin_hall_id == b.hall_id]
        assert mine == sorted(mine)


def test_a_worker_killed_mid_delivery_loses_and_doubles_nothing(county: County) -> None:
    with FakeWeComServer(keys=["k"]) as server:
        binding = RobotBinding.objects.create(
            hall=county.village, kind="wecom", webhook_url=server.webhook_url("k")
        )
        reqs = [
            A.do_submit(actor=county["resident1"], hall=county.village, text=f"第{i}件").pk
            for i in range(5)
        ]
        server.down("hang")  # the robot takes the connection and never answers
        with worker() as first:
            wait_for(
                lambda: Notification.objects.filter(binding=binding, attempts__gte=1).exists(),
                "the first attempt",
            )
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=20)
        assert server.received == []
        server.up()
        with worker():
            wait_for(lambda: all_sent(binding), "the deliveries after the restart")
    assert delivered_ids(server) == reqs  # every one, once, in order
