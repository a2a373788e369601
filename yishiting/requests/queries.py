"""Reading requests: what a person may see, and how much of it (§2, §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from yishiting.core.errors import NotFoundError
from yishiting.core.prepared import Prepared
from yishiting.orgs.models import Department, Hall, Role
from yishiting.orgs.scope import Actor
from yishiting.requests.models import Event, Follower, Part, Request, Voice
from yishiting.requests.states import PART_CURRENT, ReturnDecision, Verb

# What a request's views read besides its row, in a fixed number of queries however many rows.
RELATED = ("hall", "origin_hall", "department", "category", "reporter", "voice")
PREFETCH = "parts__department"


def with_relations() -> QuerySet[Request]:
    """Requests with what their views read (halls, department, category, reporter, voice,
    parts)."""
    return Request.objects.select_related(*RELATED).prefetch_related(PREFETCH)


# Every call reads its request and its parts this way: compiled once (core.prepared).
_by_id = Prepared(lambda pk: Request.objects.select_related(*RELATED).filter(pk=pk), int)
_parts_of = Prepared(
    lambda pk: Part.objects.filter(request_id=pk).select_related("department"), int
)


def visible_requests(who: Actor) -> QuerySet[Request]:
    """Requests in a person's scope: their halls' (or subtrees'), county, department, or the
    ones they follow as a resident."""
    qs = with_relations()
    if who.is_admin:
        return qs
    scope = Q(pk__in=Follower.objects.filter(user=who.user).values("request_id"))
    for m in who.memberships:
        if m.role == Role.DEPARTMENT and m.department_id:
            scope |= Q(department_id=m.department_id) | Q(
                pk__in=Part.objects.filter(
                    department_id=m.department_id, status__in=PART_CURRENT
                ).values("request_id")
            )
        elif m.hall is None or m.role == Role.REPRESENTATIVE:
            continue
        elif m.role == Role.LIAISON:
            scope |= Q(hall_id=m.hall_id) | Q(origin_hall_id=m.hall_id)
        elif m.role in (Role.DISPATCHER, Role.DUTY):
            county = f"/{m.hall.county_code}/"
            scope |= Q(hall__path__startswith=county)
        else:
            scope |= Q(hall__path__startswith=m.hall.path) | Q(
                origin_hall__path__startswith=m.hall.path
            )
    return qs.filter(scope)


def get_request(pk: int) -> Request:
    """A request by id (anyone may read its public view), or NotFoundError."""
    rows = _by_id(int(pk))
    if not rows:
        raise NotFoundError(_("找不到诉求 %(id)s") % {"id": pk})
    req = rows[0]
    hold_parts(req, _parts_of(req.pk))
    return req


def hold_parts(req: Request, parts: list[Part]) -> None:
    """Let `req.parts.all()` answer with `parts`, as `prefetch_related(PREFETCH)` would have
    (for a verb that just wrote them, or a read that has them). A new dict, so that a copy of
    the request made before keeps its own parts."""
    held = Part.objects.filter(request_id=req.pk)
    held._result_cache = sorted(parts, key=lambda p: p.pk)
    held._prefetch_done = True  # type: ignore[attr-defined]
    req._prefetched_objects_cache = {  # type: ignore[attr-defined]
        **getattr(req, "_prefetched_objects_cache", {}),
        "parts": held,
    }


def sees_personal_data(who: Actor | None, req: Request) -> bool:
    """Handlers (and the reporter) see names and phones; others a masked view."""
    if who is None:
        return False
    return req.reporter_id == who.user.pk or sees_internal_notes(who, req)


def sees_internal_notes(who: Actor | None, req: Request) -> bool:
    """Internal notes (and their photos) are for the request's handlers only: its reporter
    sees their own personal data, not what the handlers tell each other."""
    if who is None:
        return False
    if who.sees_internal(req.hall, req.origin_hall, req.department_id):
        return True
    # an assisting department's officers work on it too (协办)
    ids = [d.pk for d in who.departments]
    return (
        bool(ids)
        and Part.objects.filter(
            request_id=req.pk, department_id__in=ids, status__in=PART_CURRENT
        ).exists()
    )


def voice_of(req: Request, who: Actor | None) -> Voice:
    """The request's voice message for someone who may hear it (its handlers and its reporter,
    as `sees_personal_data` says); NotFoundError for everyone else, as if there were none."""
    voice = Voice.objects.filter(request_id=req.pk).first()
    if voice is None or not sees_personal_data(who, req):
        raise NotFoundError(_("这件诉求没有您可以收听的语音留言"))
    return voice


def returns_by_department(
    county: Hall | str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Returns (退单) per department between `since` and `until` for §5's monthly notice: how
    many each department made, how many the dispatcher upheld as wrong (驳回) and how many it
    redispatched elsewhere. Lead and assisting returns alike; departments with none are left
    out."""
    code = county.code if isinstance(county, Hall) else county
    rows = Event.objects.filter(
        verb__in=(Verb.RETURN, Verb.REVIEW_RETURN),
        created_at__gte=since,
        created_at__lt=until,
        request__hall__path__startswith=f"/{code}/",
    ).values_list("verb", "data")
    counts: dict[str, dict[str, int]] = {}
    for verb, data in rows:
        dept = data.get("returned_by") or data.get("department")
        if not dept:
            continue
        row = counts.setdefault(dept, {"returns": 0, "upheld": 0, "redispatched": 0})
        if verb == Verb.RETURN:
            row["returns"] += 1
        elif data.get("decision") == ReturnDecision.UPHOLD:
            row["upheld"] += 1
        elif data.get("decision") == ReturnDecision.REDISPATCH and data.get("returned_by"):
            row["redispatched"] += 1
    names = dict(Department.objects.filter(code__in=counts).values_list("code", "name"))
    return [
        {"department": dept, "name": names.get(dept, dept), **counts[dept]}
        for dept in sorted(counts)
    ]
