"""The sweep's query reads the partial index on next_due_at, not the whole table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from yishiting.requests.models import Request

pytestmark = pytest.mark.django_db


def test_due_query_uses_the_next_due_index() -> None:
    qs = Request.objects.filter(next_due_at__lte=timezone.now()).order_by("next_due_at")
    sql, params = qs.values_list("pk", flat=True)[:200].query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "request_next_due" in plan, plan
            assert "SCAN requests_request" not in plan.replace("USING INDEX", "")
        else:
            # An empty table makes any plan cheap; forbid sequential scans to see the choice.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "request_next_due" in plan, plan
