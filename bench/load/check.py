"""After a run: read the database and check the client's record against it.

`python -m bench.load.check CLIENT.json OUT.json` in the set-up's environment. Checks:
- every submit that got a 201 is there (id, follow code, its nonce in the text) with its
  submit event, and every verb that got a 200 has its event;
- a submit whose answer was lost ("unknown") is looked up by its nonce: found or not, never
  twice;
- each request's events chain (each event starts from the state the previous one left) and
  end in the request's state (replay);
- deadlines: none left unhandled (nothing due more than GRACE seconds ago once the sweep had
  time to catch up), a first-response breach escalated at most once per request, no clock
  breached twice while the request stayed in one state; the sweep's lag per escalation;
- django-tasks rows left RUNNING by killed workers.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

GRACE = 5.0
CATCH_UP = 45.0


def pct(values: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank), None of nothing."""
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from yishiting.core import lost_tasks
    from yishiting.notify.models import Notification
    from yishiting.requests.models import Event, Request

    with open(sys.argv[1]) as f:
        run = json.load(f)
    out: dict[str, Any] = {}

    # The sweep had time to act on everything that came due before the run stopped.
    waited = time.monotonic()
    while True:
        late = Request.objects.filter(
            next_due_at__lt=timezone.now() - timedelta(seconds=GRACE)
        ).count()
        if late == 0 or time.monotonic() - waited > CATCH_UP:
            break
        time.sleep(1)
    out["deadlines_unhandled"] = late
    out["catch_up_seconds"] = round(time.monotonic() - waited, 1)

    accepted = {s["id"]: s for s in run["submits"]}
    rows = {
        r.pk: r
        for r in Request.objects.filter(pk__in=list(accepted)).only(
            "pk", "follow_code", "text", "status"
        )
    }
    lost = [
        i
        for i, s in accepted.items()
        if i not in rows
        or rows[i].follow_code != s["follow_code"]
        or s["nonce"] not in rows[i].text
    ]
    out["accepted"] = len(accepted)
    out["lost"] = len(lost)
    out["lost_ids"] = lost[:20]

    # Unknown submits, by nonce. (`contains` is a LIKE scan; a few hundred at most.)
    found = 0
    twice = 0
    for u in run["unknown"]:
        n = Request.objects.filter(text__contains=f"编号 {u['nonce']}）").count()
        found += n >= 1
        twice += n > 1
    out["unknown"] = len(run["unknown"])
    out["unknown_found"] = found
    out["unknown_twice"] = twice
    nonces = Counter(s["nonce"] for s in run["submits"])
    out["accepted_twice"] = sum(1 for n in nonces.values() if n > 1)

    # The run's requests and their events.
    prefix = run["submits"][0]["nonce"].split("-")[0] if run["submits"] else None
    ids = set(rows)
    if prefix:
        ids |= set(
            Request.objects.filter(text__contains=f"编号 {prefix}-").values_list("pk", flat=True)
        )
    # Nothing stored twice: every nonce of the run's requests, counted in the database (a
    # retried submit under its Idempotency-Key must not have filed a second request).
    stored = Counter(
        text.rsplit("编号 ", 1)[-1].rstrip("）")
        for text in Request.objects.filter(pk__in=ids).values_list("text", flat=True)
    )
    out["stored_twice"] = sum(1 for n in stored.values() if n > 1)
    # Each request's state and version, read BEFORE its events: the sweep goes on acting while
    # this runs, so an event later than the version read here is left out of the replay.
    status = {
        pk: (st, version)
        for pk, st, version in Request.objects.filter(pk__in=ids).values_list(
            "pk", "status", "version"
        )
    }
    events: dict[int, list[Any]] = defaultdict(list)
    for e in (
        Event.objects.filter(request_id__in=ids)
        .order_by("request_id", "seq")
        .only(
            "request_id",
            "seq",
            "verb",
            "actor_id",
            "from_status",
            "to_status",
            "data",
            "created_at",
        )
    ):
        events[e.request_id].append(e)
    out["requests"] = len(ids)
    out["events"] = sum(len(v) for v in events.values())
    out["no_submit_event"] = sum(1 for i in rows if not events[i] or events[i][0].verb != "submit")

    # Every 200 has its event.
    ok = Counter((rid, verb) for rid, verb, _v in run["verbs_ok"])
    have = Counter((e.request_id, e.verb) for evs in events.values() for e in evs)
    out["verbs_ok"] = sum(ok.values())
    out["verbs_missing"] = sum(max(0, n - have[k]) for k, n in ok.items())

    # Replay: the chain of states.
    bad_chain: list[int] = []
    for rid, evs in events.items():
        st, version = status.get(rid, ("", 0))
        state = ""
        for e in (e for e in evs if e.seq <= version):
            if e.from_status != state and e.seq > 1:
                bad_chain.append(rid)
                break
            state = e.to_status
        else:
            if state != st:
                bad_chain.append(rid)
    out["replay_mismatches"] = len(bad_chain)
    out["replay_mismatch_ids"] = bad_chain[:20]

    # Deadlines acted on once.
    auto_esc: list[float] = []
    double_escalations = 0
    double_breaches = 0
    for _rid, evs in events.items():
        auto = [e for e in evs if e.verb == "escalate" and e.actor_id is None]
        double_escalations += len(auto) > 1
        if auto and evs[0].data.get("respond_by"):
            due = datetime.fromisoformat(evs[0].data["respond_by"])
            auto_esc.append((auto[0].created_at - due).total_seconds())
        seen: set[str] = set()  # clocks breached since the last change of state
        for e in evs:
            if e.from_status != e.to_status:
                seen = set()
            if e.verb == "breach":
                for clock in e.data.get("clocks", []):
                    double_breaches += clock in seen
                    seen.add(clock)
    out["auto_escalations"] = len(auto_esc)
    out["double_escalations"] = double_escalations
    out["double_breaches"] = double_breaches
    out["sweep_lag_p50"] = pct(auto_esc, 50)
    out["sweep_lag_p99"] = pct(auto_esc, 99)
    out["sweep_lag_max"] = max(auto_esc, default=None)

    # Background work left behind.
    tasks = Counter(DBTaskResult.objects.values_list("status", flat=True))
    out["tasks"] = dict(tasks)

    # Left behind: RUNNING although its worker is gone, or for longer than lost_tasks allows
    # (plus its housekeeping period).
    def left_running() -> int:
        now = timezone.now() - timedelta(seconds=30)
        rows = DBTaskResult.objects.filter(
            status="RUNNING", started_at__lt=timezone.now() - timedelta(seconds=10)
        ).values_list("worker_ids", "started_at")
        return sum(lost_tasks.is_lost(ids, started, now) for ids, started in rows)

    waited = time.monotonic()
    while (running := left_running()) and time.monotonic() - waited < 30:
        time.sleep(1)  # a restarted worker puts them right on its first housekeeping turn
    out["tasks_running"] = running
    out["notifications"] = dict(Counter(Notification.objects.values_list("status", flat=True)))
    # How long robots, SMS and e-mail took to go out (the in-app inbox is written sent).
    sent = Notification.objects.filter(status="sent").exclude(channel="in_app")
    lag = [
        (t - c).total_seconds()
        for c, t in sent.values_list("created_at", "sent_at")
        if t is not None
    ]
    out["notify_lag_p50"], out["notify_lag_p99"] = pct(lag, 50), pct(lag, 99)
    done = DBTaskResult.objects.filter(status="SUCCESSFUL", task_path__endswith="deliver_task")
    out["task_outcomes"] = dict(Counter(map(str, done.values_list("return_value", flat=True))))
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
