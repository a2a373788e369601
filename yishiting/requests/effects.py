"""What every event sets off, inside the event's own transaction.

`actions` calls `after_event` exactly once per event, after the request row and the event are
written and before the transaction commits. Whatever is written here commits or rolls back
with the event (the notification outbox, statistics rollups); whatever must happen only once
the event is durable (pushing to open pages) registers `transaction.on_commit`. Each
subsystem is one call below, so this module is the list of everything an event causes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yishiting.notify import rules as notify_rules
from yishiting.routing import hooks as routing_hooks
from yishiting.stats import rollups as stats_rollups
from yishiting.web import live

if TYPE_CHECKING:
    from yishiting.requests.models import Event, Request


def after_event(event: Event, before: Request | None, after: Request) -> None:
    """Run every subsystem's reaction to `event`. `before` is the request as it was (None for
    a submission), `after` as it is now; neither may be saved here."""
    notify_rules.for_event(event, before, after)
    live.publish(event, before, after)
    routing_hooks.on_event(event, before, after)
    # Last: its upsert locks the county's rollup rows until the commit, and every event of
    # the county waits for them (docs/proof.md), so nothing else may run while they are held.
    stats_rollups.on_event(event, before, after)
