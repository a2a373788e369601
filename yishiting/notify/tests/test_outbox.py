"""The outbox: rows written with the event, delivered once, in order, through faults."""

from __future__ import annotations

import re
import threading
from datetime import datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from yishiting.notify import outbox
from yishiting.notify.channels.base import DeliveryResult
from yishiting.notify.models import Destination, Notification, NotifyStatus, RobotBinding
from yishiting.notify.testing import FakeWeComServer
from yishiting.requests import actions as A
from yishiting.requests.clocks import LOCAL_TZ
from yishiting.testing import County

T0 = datetime(2025, 6, 10, 9, 0, tzinfo=LOCAL_TZ)  # a Tuesday, in working hours
LINK = re.compile(r"/r/(\d+)\)")
TABLE = re.compile(r'"(notify_\w+)"')


@pytest.fixture(autouse=True)
def _fast_retries(settings):  # type: ignore[no-untyped-def]
    """Retry at once: the tests drive each attempt themselves instead of waiting."""
    settings.NOTIFY_RETRY_SECONDS = 0
    settings.NOTIFY_RETRY_MAX_SECONDS = 0
    settings.YISHITING_BASE_URL = "https://yst.example.gov.cn"


def robot(county: County, url: str) -> RobotBinding:
    return RobotBinding.objects.create(hall=county.village, kind="wecom", webhook_url=url)


def submit(county: County, text: str = "村口路灯坏了") -> int:
    return A.do_submit(actor=county["resident1"], hall=county.village, text=text, now=T0).pk


def delivered_ids(server: FakeWeComServer) -> list[int]:
    """Request ids in the order the group saw them (each digest line counts once)."""
    out: list[int] = []
    for received in server.received:
        content = received.body.get("markdown", {}).get("content", "")
        out += [int(n) for n in LINK.findall(content)]
    return out


@pytest.mark.django_db
def test_submit_writes_its_notifications_and_their_task_in_the_same_transaction(
    county: County,
) -> None:
    binding = robot(county, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    pk = submit(county)
    rows = Notification.objects.filter(request_id=pk)
    inbox = rows.get(channel="in_app")
    assert (inbox.user.username, inbox.status, inbox.title) == ("liaison1", "sent", "新诉求待响应")
    assert inbox.url == f"https://yst.example.gov.cn/r/{pk}"
    group = rows.get(channel="wecom")
    assert (group.binding, group.status, group.destination) == (
        binding,
        "pending",
        f"robot:{binding.pk}",
    )
    task = DBTaskResult.objects.get(task_path="yishiting.notify.tasks.deliver_task")
    assert task.args_kwargs == {"args": [f"robot:{binding.pk}"], "kwargs": {}}

    # An event that rolls back leaves no notification and no task behind.
    before = (Notification.objects.count(), DBTaskResult.objects.count())
    with pytest.raises(RuntimeError), transaction.atomic():
        submit(county, "另一件事")
        raise RuntimeError("the caller's transaction fails")
    assert (Notification.objects.count(), DBTaskResult.objects.count()) == before


@pytest.mark.django_db
def test_the_same_idempotency_key_is_written_once(county: County) -> None:
    item = outbox.Outgoing(
        "sms", "sms:user:1", "标题", "内容", "", "k1", "test", user_id=county["resident1"].pk
    )
    with transaction.atomic():
        assert outbox.write([item], now=T0) == 1
        assert outbox.write([item], now=T0) == 0
    assert Notification.objects.filter(idempotency_key="k1").count() == 1


@pytest.mark.django_db(transaction=True)
def test_robot_down_then_back_every_notification_arrives_once_in_order(county: County) -> None:
    with FakeWeComServer(keys=["k"]) as server:
        binding = robot(county, server.webhook_url("k"))
        key = binding.destination
        first = submit(county, "第一件")
        A.do_acknowledge(first, actor=county["liaison1"], now=T0)
        server.down("refuse")
        assert outbox.deliver(key) == "waiting"
        row = Notification.objects.get(destination=key, request_id=first)
        assert (row.status, row.attempts) == ("pending", 1)
        assert "connection refused" in row.last_error
        # More arrive while the robot is down, then a gateway error page, then it is back.
        more = [submit(county, f"第{i}件") for i in range(24)]
        server.up()
        server.down("error")
        assert outbox.deliver(key) == "waiting"
        assert server.received == []
        server.up()
        while outbox.deliver(key) != "idle":
            pass
    ids = delivered_ids(server)
    assert sorted(ids) == sorted([first, *more])  # each exactly once
    assert ids == sorted(ids)  # in the order they were written
    # 25 messages > 20 a minute: folded into digests instead of refused or dropped.
    assert len(server.received) <= 20
    assert not any(a.code == 45009 for a in server.answers)
    assert set(Notification.objects.filter(destination=key).values_list("status", flat=True)) == {
        "sent"
    }
    assert Notification.objects.exclude(digest="").exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_queue_never_send_twice(county: County) -> None:
    with FakeWeComServer(keys=["k"]) as server:
        binding = robot(county, server.webhook_url("k"))
        ids = [submit(county, f"第{i}件") for i in range(12)]
        barrier = threading.Barrier(2)
        results: list[str] = []

        def worker() -> None:
            try:
                barrier.wait(timeout=10)
                results.append(outbox.deliver(binding.destination))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        while outbox.deliver(binding.destination) not in ("idle",):
            pass
    assert sorted(delivered_ids(server)) == ids
    assert "busy" in results or len(server.received) == 12


@pytest.mark.django_db
def test_a_permanent_failure_is_dead_listed_and_an_admin_retry_sends_it(county: County) -> None:
    with FakeWeComServer(keys=["right"]) as server:
        binding = robot(county, server.webhook_url("wrong"))
        pk = submit(county)
        outbox.deliver(binding.destination)
        row = Notification.objects.get(destination=binding.destination)
        assert (row.status, row.attempts) == ("dead", 1)
        assert "93000" in row.last_error and "wrong" not in row.last_error
        binding.webhook_url = server.webhook_url("right")
        binding.save()
        assert outbox.retry([row]) == 1
        outbox.deliver(binding.destination)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    assert delivered_ids(server) == [pk]


@pytest.mark.django_db
def test_after_the_last_attempt_a_row_is_dead_and_the_queue_moves_on(
    county: County, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.NOTIFY_MAX_ATTEMPTS = 3
    with FakeWeComServer(keys=["k"]) as server:
        binding = robot(county, server.webhook_url("k"))
        pk = submit(county)
        server.down("error")
        for _ in range(3):
            outbox.deliver(binding.destination)
        row = Notification.objects.get(destination=binding.destination)
        assert (row.status, row.attempts) == ("dead", 3)
        server.up()
        second = submit(county, "第二件")
        outbox.deliver(binding.destination)
    assert delivered_ids(server) == [second]
    assert pk != second


@pytest.mark.django_db
def test_a_leased_queue_is_left_alone_and_recovered_once_the_lease_ends(
    county: County, settings
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    settings.NOTIFY_LEASE_SECONDS = 30
    binding = robot(county, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    submit(county)
    # A worker took the queue and was killed: its lease is still running.
    now = timezone.now()
    Destination.objects.update_or_create(
        key=binding.destination,
        defaults={"lease_until": now + timedelta(seconds=30), "lease_token": "dead"},
    )
    Notification.objects.filter(destination=binding.destination).update(
        next_attempt_at=now - timedelta(seconds=60)
    )
    assert outbox.deliver(binding.destination) == "busy"
    assert outbox.recover(now) == 0
    assert outbox.recover(now + timedelta(seconds=31)) == 1
    assert Notification.objects.get(destination=binding.destination).status == NotifyStatus.PENDING


@pytest.mark.django_db
def test_a_queue_waiting_for_its_retry_has_one_task_for_it_not_one_per_row(
    county: County, settings
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    settings.NOTIFY_RETRY_SECONDS = 60
    settings.NOTIFY_RETRY_MAX_SECONDS = 600
    with FakeWeComServer(keys=["k"]) as server:
        binding = robot(county, server.webhook_url("k"))
        server.down("refuse")
        for i in range(10):
            submit(county, f"第{i}件")
        # However often the queue is tried while it waits for its retry (an admin, lost
        # tasks put back), one task waits for the retry.
        for _ in range(10):
            outbox.deliver(binding.destination)
    soon = timezone.now() + timedelta(days=1)  # "no run_after" is stored as the year 9999
    later = DBTaskResult.objects.filter(run_after__gt=timezone.now(), run_after__lt=soon)
    assert later.count() == 1
    assert Notification.objects.filter(destination=binding.destination, attempts=1).count() == 1


@pytest.mark.django_db
def test_a_worker_whose_lease_was_taken_over_sends_nothing_more(county: County) -> None:
    from django.utils import timezone

    with FakeWeComServer(keys=["k"]) as server:
        binding = robot(county, server.webhook_url("k"))
        submit(county)
        token = outbox._claim(binding.destination, timezone.now())
        assert token is not None
        # Its lease ran out while it was slow; another worker took the queue over.
        Destination.objects.filter(key=binding.destination).update(lease_token="other")
        dest = Destination.objects.get(key=binding.destination)
        rows = list(Notification.objects.filter(destination=binding.destination))
        assert outbox._send_batch(dest, token, rows) is not None
    assert server.received == []
    assert Notification.objects.get(destination=binding.destination).attempts == 0


class Gateway:
    """An SMS gateway that takes every text but its `fail_at`-th call (a transient failure)."""

    sent: list[str] = []
    calls = 0
    fail_at = 0

    def send_sms(self, phone: str, text: str) -> DeliveryResult:
        Gateway.calls += 1
        if Gateway.calls == Gateway.fail_at:
            return DeliveryResult.transient("gateway busy")
        Gateway.sent.append(text)
        return DeliveryResult.delivered()


@pytest.mark.django_db
def test_a_long_queue_is_booked_in_chunks_and_a_failure_holds_the_rest_uncounted(
    county: County, settings
) -> None:  # type: ignore[no-untyped-def]
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    settings.NOTIFY_SMS_BACKEND = f"{__name__}.Gateway"
    Gateway.sent, Gateway.calls, Gateway.fail_at = [], 0, outbox.CHUNK + 4
    user = county["resident1"]
    user.phone = "13800138000"
    user.save()
    key = f"sms:user:{user.pk}"
    n = 2 * outbox.CHUNK + 5
    texts = [f"第{i}条" for i in range(n)]
    outbox.write(
        [
            outbox.Outgoing("sms", key, t, "", "", f"chunk-{i}", "test", user_id=user.pk)
            for i, t in enumerate(texts)
        ],
        now=timezone.now(),
    )
    with CaptureQueriesContext(connection) as queries:
        assert outbox.deliver(key) == "waiting"
    rows = list(Notification.objects.filter(destination=key).order_by("id"))
    held = Gateway.fail_at - 1  # the row whose send failed
    assert [r.status for r in rows] == ["sent"] * held + ["pending"] * (n - held)
    # Its attempt counts; the rows behind it, in its chunk or later, were not tried.
    assert [r.attempts for r in rows] == [1] * (held + 1) + [0] * (n - held - 1)
    assert "gateway busy" in rows[held].last_error
    # Two chunks: each counted in one UPDATE and booked in one (plus the failure's own and
    # the untried rows' give-back), not two transactions per row.
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    booked = [q for q in updates if '"notify_notification"' in q["sql"]]
    assert len(booked) == 2 * 2 + 2
    Gateway.fail_at = 0
    assert outbox.deliver(key) == "sent"
    rows = list(Notification.objects.filter(destination=key).order_by("id"))
    assert {r.status for r in rows} == {"sent"}
    assert [r.attempts for r in rows] == [1] * held + [2] + [1] * (n - held - 1)
    assert [next(t for t in texts if t in s) for s in Gateway.sent] == texts  # once, in order


def _statements(queries: Any) -> list[str]:
    """What a block ran, as "VERB table" (transaction control left out)."""
    out = []
    for q in queries.captured_queries:
        sql = q["sql"]
        if sql.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")):
            continue
        table = TABLE.search(sql)
        out.append(f"{sql.split()[0]} {table.group(1) if table else '?'}")
    return out


@pytest.mark.django_db
def test_a_destination_has_one_task_queued_and_a_delivery_costs_few_statements(
    county: County,
) -> None:
    from django.test.utils import CaptureQueriesContext

    with FakeWeComServer(keys=["k"]) as server:
        binding = robot(county, server.webhook_url("k"))
        key = binding.destination
        tasks = DBTaskResult.objects.filter(args_kwargs__args=[key])
        submit(county, "第一件")
        submit(county, "第二件")
        assert tasks.count() == 1  # the second found a task queued: it will send both
        with CaptureQueriesContext(connection) as one:
            assert outbox.deliver(key) == "sent"
        rows = Notification.objects.filter(destination=key).order_by("id")
        assert delivered_ids(server) == list(rows.values_list("request", flat=True))
        # Once a task has taken the queue, what is written after has a task of its own.
        submit(county, "第三件")
        assert tasks.count() == 2
        assert outbox.deliver(key) == "sent"
        # A task whose rows went out with an earlier one reads once and clears the mark.
        submit(county, "第四件")
        pk = Notification.objects.filter(destination=key, status="pending").get().pk
        Notification.objects.filter(pk=pk).update(status=NotifyStatus.SENT)
        with CaptureQueriesContext(connection) as idle:
            assert outbox.deliver(key) == "idle"
        submit(county, "第五件")
        assert tasks.count() == 4
    # Anything pending; lease; the queue and its rows; count the attempts (and renew the
    # lease); mark them sent and give the lease back with the robot's send log.
    assert _statements(one) == [
        "SELECT notify_notification",
        "UPDATE notify_destination",
        "SELECT notify_destination",
        "SELECT notify_notification",
        "UPDATE notify_destination",
        "UPDATE notify_notification",
        "UPDATE notify_notification",
        "UPDATE notify_destination",
    ]
    assert _statements(idle) == ["SELECT notify_notification", "UPDATE notify_destination"]
    dest = Destination.objects.get(key=key)
    assert (dest.lease_until, dest.lease_token) == (None, "")


@pytest.mark.django_db
def test_a_task_that_finds_its_queue_busy_hands_its_turn_to_one_look_again(
    county: County,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    binding = robot(county, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    key = binding.destination
    submit(county, "第一件")
    token = outbox._claim(key, timezone.now())  # another worker is sending from the queue
    assert token is not None
    submit(county, "第二件")  # written after that worker read the queue: queues a task
    tasks = DBTaskResult.objects.filter(args_kwargs__args=[key])
    assert tasks.count() == 2
    now = timezone.now()  # "no run_after" is stored as the year 9999
    later = tasks.filter(run_after__gt=now, run_after__lt=now + timedelta(days=1))
    assert later.count() == 0
    assert outbox.deliver(key) == "busy"
    assert later.count() == 1  # this task's turn, a moment later
    assert outbox.deliver(key) == "busy"  # a task marked for later will read the queue
    assert later.count() == 1
    soon = Destination.objects.get(key=key).next_task_at
    assert soon is not None and soon > timezone.now()


@pytest.mark.django_db
def test_a_full_batch_queues_the_rest_behind_other_destinations(county: County, settings) -> None:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    settings.NOTIFY_SMS_BACKEND = f"{__name__}.Gateway"
    Gateway.sent, Gateway.calls, Gateway.fail_at = [], 0, 0
    user = county["resident1"]
    user.phone = "13800138000"
    user.save()
    key = f"sms:user:{user.pk}"
    n = outbox.BATCH + 3
    outbox.write(
        [
            outbox.Outgoing("sms", key, f"第{i}条", "", "", f"full-{i}", "test", user_id=user.pk)
            for i in range(n)
        ],
        now=timezone.now(),
    )
    tasks = DBTaskResult.objects.filter(args_kwargs__args=[key], status="READY")
    before = tasks.count()
    assert outbox.deliver(key) == "sent"
    assert len(Gateway.sent) == outbox.BATCH
    assert tasks.count() == before + 1  # the rest wait their turn in the task queue
    assert Destination.objects.get(key=key).lease_token == ""
    assert outbox.deliver(key) == "sent"
    assert [s.split()[-1] for s in Gateway.sent] == [f"第{i}条" for i in range(n)]  # in order
    assert tasks.count() == before + 1  # a short batch was the last


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer at a time")
def test_a_worker_taking_the_queue_waits_for_a_writer_that_found_a_task_queued(
    county: County,
) -> None:
    import time

    with FakeWeComServer(keys=["k"]) as server:
        binding = robot(county, server.webhook_url("k"))
        key = binding.destination
        first = submit(county, "第一件")  # queues the task the next writer relies on
        written, done = threading.Event(), threading.Event()
        outcome: list[str] = []

        def writer() -> None:  # its row waits uncommitted while a worker takes the queue
            try:
                with transaction.atomic():
                    submit(county, "第二件")
                    written.set()
                    done.wait(timeout=30)
            finally:
                connection.close()

        def worker() -> None:
            try:
                outcome.append(outbox.deliver(key))
            finally:
                connection.close()

        threads = [threading.Thread(target=writer), threading.Thread(target=worker)]
        threads[0].start()
        assert written.wait(timeout=30)
        assert DBTaskResult.objects.filter(args_kwargs__args=[key]).count() == 1
        threads[1].start()
        # Let the writer commit once the worker waits for the queue's row lock.
        deadline = time.monotonic() + 30
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE 'UPDATE \"notify_destination\"%%'"
                )
                if cursor.fetchone()[0]:
                    break
        done.set()
        for t in threads:
            t.join(timeout=60)
    assert outcome == ["sent"]
    second = Notification.objects.exclude(request_id=first).get(destination=key)
    assert delivered_ids(server) == [first, second.request_id]  # the writer's row went too
