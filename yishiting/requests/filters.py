"""The request-list filters of API v1 (§7), shared by the API, the ledger and its command."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from yishiting.core.errors import InvalidError
from yishiting.core.prepared import Prepared
from yishiting.orgs.models import Department, Hall
from yishiting.requests.models import Part, Request
from yishiting.requests.states import PART_CURRENT, State

# The one order every list and ledger uses: newest first, the id breaking ties (stable pages).
ORDERING = ("-created_at", "-id")
_OFFSET_SPACE = re.compile(r" (\d{2}:?\d{2})$")

# Every filtered list looks its hall or department up by code: compiled once (core.prepared).
_hall = Prepared(lambda code: Hall.objects.filter(code=code), str)
_department = Prepared(lambda code: Department.objects.filter(code=code).values_list("pk"), str)


def _one_hall(code: str) -> Hall:
    halls = _hall(code)
    if not halls:
        raise InvalidError(_("议事厅：没有编码为 %(code)r 的议事厅") % {"code": code})
    return halls[0]


def aware(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time with its time zone, or InvalidError saying what is expected.

    A '+' sent unencoded in a query string arrives as a space; it is put back."""
    if not value:
        return None
    text = _OFFSET_SPACE.sub(r"+\1", value.strip())
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidError(
            _("%(name)s：%(value)r 不是 ISO 8601 时间，应带时区，如 2026-10-01T00:00+08:00")
            % {"name": name, "value": value}
        )
    if parsed.tzinfo is None:
        raise InvalidError(
            _("%(name)s：%(value)r 没有时区，应带时区，如 2026-10-01T00:00+08:00")
            % {"name": name, "value": value}
        )
    return parsed


@dataclass
class RequestFilters:
    """`hall` (raised in or now in its subtree), `at` (now in exactly that hall: its work
    queue), `status` (comma list), `department`, `overdue`, `since`/`until` (submission time,
    since inclusive, until exclusive)."""

    hall: str | None = None
    at: str | None = None
    status: str | None = None
    department: str | None = None
    overdue: bool | None = None
    since: str | None = None
    until: str | None = None

    def apply(self, qs: QuerySet[Request]) -> QuerySet[Request]:
        """`qs` narrowed by every filter given, in the stable order; InvalidError on bad input."""
        for name in ("hall", "at", "status", "department", "since", "until"):
            if "\x00" in (getattr(self, name) or ""):
                raise InvalidError(_("%(name)s：不允许 NUL 字符") % {"name": name})
        if self.hall:
            hall = _one_hall(self.hall)
            qs = qs.filter(
                Q(hall__path__startswith=hall.path) | Q(origin_hall__path__startswith=hall.path)
            )
        if self.at:
            qs = qs.filter(hall_id=_one_hall(self.at).pk)
        if self.status:
            wanted = [s.strip() for s in self.status.split(",") if s.strip()]
            bad = [s for s in wanted if s not in State.__members__.values()]
            if bad:
                raise InvalidError(
                    _("状态：未知的 %(bad)s（应为 %(values)s 中的一个或多个）")
                    % {"bad": ", ".join(bad), "values": ", ".join(State)}
                )
            qs = qs.filter(status__in=wanted)
        if self.department:
            if not _department(self.department):
                raise InvalidError(
                    _("部门：没有编码为 %(code)r 的部门") % {"code": self.department}
                )
            # the lead department's requests and those it assists on (主办/协办)
            assists = Part.objects.filter(
                department__code=self.department, status__in=PART_CURRENT
            ).values("request_id")
            qs = qs.filter(Q(department__code=self.department) | Q(pk__in=assists))
        if self.overdue is not None:
            qs = qs.filter(overdue=self.overdue)
        since = aware(self.since, "since")
        until = aware(self.until, "until")
        if since and until and until <= since:
            raise InvalidError(_("截止时间：须晚于开始时间"))
        if since:
            qs = qs.filter(created_at__gte=since)
        if until:
            qs = qs.filter(created_at__lt=until)
        return qs.order_by(*ORDERING)
