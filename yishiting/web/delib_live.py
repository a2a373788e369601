"""Live deliberation counts: after a deliberation event commits, tell the pages that show it.

Groups: `topic.<id>`, `meeting.<id>`, `project.<id>` for the page of that one thing,
`delib.<code>` for the topics page of its hall and every hall above it (anyone may watch
these: the message says only what changed, each page fetches its own view), and the existing
`hall.<code>` groups of the hall path, so staff pages hear of it too. Hooked to the
deliberation's Event and Ballot models by post_save signals, so the domain code stays as it is.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from yishiting.web import live

# The groups a page may ask to watch (public: counts and states only).
WATCHABLE = re.compile(r"^(?:(?:topic|meeting|project)\.\d{1,12}|delib\.\d{1,20})$")


def groups_for(event: Any) -> set[str]:
    """Every group whose pages show what this deliberation event changed."""
    out: set[str] = set()
    owner = None
    for kind in ("topic", "meeting", "project"):
        pk = getattr(event, f"{kind}_id", None)
        if pk:
            out.add(f"{kind}.{pk}")
            owner = owner or getattr(event, kind)
    if event.verb in ("schedule", "adopt", "not_adopt", "unschedule") and event.data.get("meeting"):
        out.add(f"meeting.{event.data['meeting']}")
    if event.project_id and event.data.get("meeting"):
        out.add(f"meeting.{event.data['meeting']}")
    if owner is not None:
        path = owner.hall.path
        out |= live.hall_groups(path)
        out |= {f"delib.{code}" for code in path.strip("/").split("/") if code}
    return out


def on_event(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """post_save of a deliberation Event: push once its transaction has committed."""
    if not created:
        return
    groups = groups_for(instance)
    if not groups:
        return
    target = instance.topic_id or instance.meeting_id or instance.project_id or 0
    message = {
        "type": "live.message",
        "kind": "delib",
        "id": target,
        "status": instance.to_status,
        "verb": instance.verb,
        "version": 0,
    }
    transaction.on_commit(lambda: live.send(groups, message))


def on_ballot(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """post_save of an online ballot (it writes no event): the meeting's page counts again.
    Paper sheets are bulk-created and announced by their tally event."""
    if not created:
        return
    message = {
        "type": "live.message",
        "kind": "delib",
        "id": instance.meeting_id,
        "status": "",
        "verb": "vote",
        "version": 0,
    }
    groups = {f"meeting.{instance.meeting_id}"}
    transaction.on_commit(lambda: live.send(groups, message))
