"""What every event sets off: worked out before the event's transaction, written inside it.

`actions` calls `plan` once per event, with the event built but not yet saved and the request
as the event will leave it, before it opens the write transaction; and `write` inside that
transaction, after the request row and the event are written and before the commit. `plan`
does the reading and the arithmetic (who is told what, how the statistics move), so that the
write transaction, which holds SQLite's one write lock and PostgreSQL's rollup rows, holds
only the writes (docs/proof.md). If the request changes in between, the verb's version guard
refuses the write and the plan is dropped.

Whatever `write` writes commits or rolls back with the event (the notification outbox,
statistics rollups); whatever must happen only once the event is durable (pushing to open
pages) registers `transaction.on_commit`. Each subsystem is one call below, so this module is
the list of everything an event causes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from yishiting.notify import outbox
from yishiting.notify import rules as notify_rules
from yishiting.routing import hooks as routing_hooks
from yishiting.stats import rollups as stats_rollups
from yishiting.web import live

if TYPE_CHECKING:
    from yishiting.requests.models import Event, Request


@dataclass
class Planned:
    """An event's effects as worked out before its transaction."""

    event: Event
    before: Request | None
    after: Request
    notices: notify_rules.Batch
    rollups: dict[stats_rollups.RowKey, stats_rollups.Vector]


def plan(event: Event, before: Request | None, after: Request) -> Planned:
    """Work out what `event` causes. `before` is the request as it was (None for a
    submission), `after` as the event leaves it; neither may be saved here."""
    return Planned(
        event,
        before,
        after,
        notices=notify_rules.for_event(event, before, after),
        rollups=stats_rollups.changes(event, before, after),
    )


def write(planned: Planned) -> None:
    """Write what `plan` worked out, inside the event's transaction (the event saved)."""
    event, before, after = planned.event, planned.before, planned.after
    notices = notify_rules.write(planned.notices, event)
    live.publish(event, before, after)
    routing_hooks.on_event(event, before, after)
    # Last: its upsert locks the county's rollup rows until the commit, and every event of
    # the county waits for them (docs/proof.md), so nothing else may run while they are held
    # but the delivery queues' marks: queued after it, an event holds its destinations'
    # locks only for the moment before its commit, not while it waits for the rollups.
    stats_rollups.add(planned.rollups)
    outbox.queue(notices)
