"""What the worker does besides running tasks: re-enqueue queues a killed worker left behind,
and warn the admins of coming off-hours stretches with nobody on duty."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from django.db import close_old_connections, transaction
from django.utils import timezone

from yishiting.core import lost_tasks
from yishiting.notify import duty, outbox
from yishiting.notify.models import NotifyChannel
from yishiting.orgs.models import Hall, HallKind, User

log = logging.getLogger("yishiting.notify")

DUTY_CHECK_SECONDS = 3600
# How often routing's timed work (nightly retraining, hotspot snapshots) is looked at.
ROUTING_CHECK_SECONDS = 300


def duty_gaps_notice(now: datetime | None = None) -> int:
    """Tell the admins (in-app and email) of each uncovered off-hours stretch of the next 14
    days, once per stretch (the idempotency key is the stretch's start)."""
    now = now or timezone.now()
    admins = list(User.objects.filter(is_superuser=True, is_active=True))
    items = []
    for county in Hall.objects.filter(kind=HallKind.COUNTY):
        for start, end in duty.uncovered(county.code, now):
            body = (
                f"{county.name} {timezone.localtime(start):%m-%d %H:%M}–"
                f"{timezone.localtime(end):%m-%d %H:%M} 为非工作时间，值班表中无人值守。"
            )
            for admin in admins:
                for channel in (NotifyChannel.IN_APP, NotifyChannel.EMAIL):
                    if channel == NotifyChannel.EMAIL and not admin.email:
                        continue
                    items.append(
                        outbox.Outgoing(
                            channel=channel,
                            destination=f"{channel}:user:{admin.pk}",
                            title="值班表有空档",
                            body=body,
                            url="",
                            key=f"duty-gap:{county.code}:{start.isoformat()}:{channel}:u{admin.pk}",
                            kind="duty_gap",
                            user_id=admin.pk,
                        )
                    )
    with transaction.atomic():
        return outbox.write(items, now=now)


def run_forever(stop: threading.Event) -> None:
    """Recover stuck queues and tasks a dead worker left running every half lease; check the
    duty roster every hour; queue routing's nightly retraining and hotspot snapshots when due
    (every five minutes)."""
    last_duty_check = last_routing_check = 0.0
    while not stop.is_set():
        try:
            lost_tasks.recover()
            outbox.recover()
            if timezone.now().timestamp() - last_duty_check > DUTY_CHECK_SECONDS:
                duty_gaps_notice()
                last_duty_check = timezone.now().timestamp()
            if timezone.now().timestamp() - last_routing_check > ROUTING_CHECK_SECONDS:
                from yishiting.routing import jobs as routing_jobs

                routing_jobs.tick()
                last_routing_check = timezone.now().timestamp()
        except Exception:  # a database hiccup must not kill the loop
            log.exception("notify housekeeping failed")
        finally:
            close_old_connections()
        stop.wait(max(outbox.lease_seconds() / 2, 0.5))
