"""Seed the load suite's county: the demo's org tree, short clocks, tokens and sessions.

Run in the set-up's own environment (`DATABASE_URL`, `YISHITING_DATA_DIR`):
`python -m bench.load.seed OUT.json --first-response 20`. Writes what the client needs
(hall codes, API tokens, session cookies of the liaisons) to OUT.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import time
from datetime import timedelta
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--first-response", type=int, default=20, help="seconds")
    parser.add_argument("--parent-response", type=int, default=40, help="seconds")
    parser.add_argument("--claim", type=int, default=120, help="seconds")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from yishiting.api.models import ApiToken
    from yishiting.demo.seed import build_org
    from yishiting.notify import outbox
    from yishiting.orgs.models import ClockPolicy
    from yishiting.requests.clocks import Basis

    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    now = timezone.now()
    with transaction.atomic(), outbox.muted():
        org = build_org(random.Random(2026), now)
        # Clocks short enough to run out during the load, so the sweep acts while it runs.
        ClockPolicy.objects.update(
            first_response_seconds=args.first_response,
            parent_response_seconds=args.parent_response,
            claim_seconds=args.claim,
            claim_basis=Basis.CALENDAR,
        )

        def token(actor: Any) -> str:
            return ApiToken.issue(actor.user, "load")[1]

        # Liaisons of local halls (villages, communities, compounds): token + session each.
        liaisons = []
        sessions = []
        expire = now + timedelta(days=1)
        store = SessionStore()
        for hall in [*org.villages, *org.communities, *org.compounds]:
            for actor in org.liaisons.get(hall.pk, []):
                key = secrets.token_hex(16)
                data = {
                    SESSION_KEY: str(actor.user.pk),
                    BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: actor.user.get_session_auth_hash(),
                }
                sessions.append(
                    Session(session_key=key, session_data=store.encode(data), expire_date=expire)
                )
                liaisons.append(
                    {
                        "user": actor.user.username,
                        "hall": hall.code,
                        "session": key,
                        "token": token(actor),
                    }
                )
        Session.objects.bulk_create(sessions)
        managers = [
            {
                "user": org.managers[t.pk][0].user.username,
                "hall": t.code,
                "token": token(org.managers[t.pk][0]),
            }
            for t in org.townships
        ]
        dispatchers = [{"user": a.user.username, "token": token(a)} for a in org.dispatchers]
        officers = [
            {"user": a.user.username, "department": code, "token": token(a)}
            for code, actors in sorted(org.officers.items())
            for a in actors
        ]
        residents = [{"user": a.user.username, "token": token(a)} for a in org.residents]
    out = {
        "county": org.county.code,
        "assignment": org.assignment.code,
        "first_response_seconds": args.first_response,
        "parent_response_seconds": args.parent_response,
        "liaisons": liaisons,
        "managers": managers,
        "dispatchers": dispatchers,
        "officers": officers,
        "residents": residents,
        "seconds": round(time.monotonic() - started, 1),
    }
    with open(args.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
