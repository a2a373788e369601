"""Reading requests: what a person may see, and how much of it (§2, §6)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from yishiting.core.errors import NotFoundError
from yishiting.orgs.models import Role
from yishiting.orgs.scope import Actor
from yishiting.requests.models import Follower, Part, Request
from yishiting.requests.states import PART_CURRENT


def visible_requests(who: Actor) -> QuerySet[Request]:
    """Requests in a person's scope: their halls' (or subtrees'), county, department, or the
    ones they follow as a resident."""
    qs = Request.objects.select_related(
        "hall", "origin_hall", "department", "category"
    ).prefetch_related("parts__department")
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
    try:
        return (
            Request.objects.select_related("hall", "origin_hall", "department", "category")
            .prefetch_related("parts__department")
            .get(pk=pk)
        )
    except Request.DoesNotExist:
        raise NotFoundError(f"request {pk} not found") from None


def sees_personal_data(who: Actor | None, req: Request) -> bool:
    """Handlers (and the reporter) see names, phones and internal notes; others a masked view."""
    if who is None:
        return False
    if req.reporter_id == who.user.pk:
        return True
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
