"""Who is on a hall's register, who sits on a body, who may act: the deliberation's scope.

A hall's register is the residents registered in it and in the halls below it (a community's
register includes its compounds'); a compound's meeting is that compound's residents.
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from yishiting.core.errors import InvalidError
from yishiting.deliberation.models import Household, Resident
from yishiting.deliberation.rules import BODY_LABELS, BodyKind, Counts
from yishiting.orgs.models import Hall, HallKind
from yishiting.orgs.scope import Actor

# Which bodies decide in which kind of hall (§9).
BODIES_BY_HALL: dict[str, frozenset[BodyKind]] = {
    HallKind.VILLAGE: frozenset(
        {BodyKind.VILLAGE_ASSEMBLY, BodyKind.VILLAGE_REPRESENTATIVES, BodyKind.PARTY_ASSEMBLY}
    ),
    HallKind.COMMUNITY: frozenset(
        {BodyKind.RESIDENTS_ASSEMBLY, BodyKind.PARTY_ASSEMBLY, BodyKind.OWNERS_ASSEMBLY}
    ),
    HallKind.COMPOUND: frozenset(
        {BodyKind.RESIDENTS_ASSEMBLY, BodyKind.PARTY_ASSEMBLY, BodyKind.OWNERS_ASSEMBLY}
    ),
}
DEFAULT_BODY: dict[str, BodyKind] = {
    HallKind.VILLAGE: BodyKind.VILLAGE_REPRESENTATIVES,
    HallKind.COMMUNITY: BodyKind.RESIDENTS_ASSEMBLY,
    HallKind.COMPOUND: BodyKind.RESIDENTS_ASSEMBLY,
}
REGISTER_KINDS = frozenset(BODIES_BY_HALL)


def body_for(hall: Hall, body: str | None) -> BodyKind:
    """The body a hall's topic or meeting goes to: the one asked for, if it fits the hall."""
    if hall.kind not in BODIES_BY_HALL:
        raise InvalidError(_("议事厅：议事在村、社区或小区议事厅进行"))
    if not body:
        return DEFAULT_BODY[hall.kind]
    try:
        kind = BodyKind(body)
    except ValueError:
        raise InvalidError(
            _("议事机构：应为 %(values)s 之一") % {"values": ", ".join(k.value for k in BodyKind)}
        ) from None
    if kind not in BODIES_BY_HALL[hall.kind]:
        raise InvalidError(
            _("议事机构：%(kind)s议事厅不设%(body)s")
            % {"kind": hall.get_kind_display(), "body": BODY_LABELS[kind]}
        )
    return kind


def residents(hall: Hall) -> QuerySet[Resident]:
    """The active residents on the hall's register (its subtree)."""
    subtree = Hall.objects.filter(path__startswith=hall.path).values("pk")
    return Resident.objects.filter(hall_id__in=subtree, active=True)


def roster(hall: Hall, body: str) -> QuerySet[Resident]:
    """Who sits on `body` in `hall`: representatives and the committee for a 村民代表会议
    (Art. 25), party members for a 党员大会, every adult resident otherwise."""
    qs = residents(hall)
    if body == BodyKind.VILLAGE_REPRESENTATIVES:
        return qs.filter(Q(representative=True) | Q(committee=True))
    if body == BodyKind.PARTY_ASSEMBLY:
        return qs.filter(party_member=True)
    return qs


def resident_of(user_id: int | None, hall: Hall) -> Resident | None:
    """The verified resident row of a user on the hall's register, if any."""
    if user_id is None:
        return None
    return residents(hall).select_related("household").filter(user_id=user_id).first()


def register_counts(hall: Hall, body: str) -> Counts:
    """The register's sizes for a body: adults, households, members, representatives."""
    everyone = residents(hall).aggregate(
        adults=Count("id"),
        households=Count("household", distinct=True),
        representatives=Count("id", filter=Q(representative=True)),
    )
    members = (
        roster(hall, body).count()
        if body in (BodyKind.VILLAGE_REPRESENTATIVES, BodyKind.PARTY_ASSEMBLY)
        else everyone["adults"]  # every adult sits on the other bodies
    )
    return Counts(
        adults=everyone["adults"],
        households=everyone["households"],
        members=members,
        representatives=everyone["representatives"],
    )


def is_officer(who: Actor, hall: Hall) -> bool:
    """Runs the hall's deliberation: its liaison or a manager above it, or a member of the
    two committees (两委) on the register of this hall or one above it."""
    if who.is_admin or who.handles_hall(hall):
        return True
    ancestors = hall.ancestor_codes()
    return Resident.objects.filter(
        user=who.user, committee=True, active=True, hall__code__in=ancestors
    ).exists()


def sees_internal(who: Actor, hall: Hall) -> bool:
    """May read the hall's internal notes: its officers and the leaders above it."""
    return is_officer(who, hall) or who.leads(hall)


def may_take_part(who: Actor, hall: Hall) -> bool:
    """A verified resident of the hall's register, or one of its officers."""
    return resident_of(who.user.pk, hall) is not None or is_officer(who, hall)


def household_of(resident: Resident) -> Household:
    """The resident's household (loaded)."""
    return resident.household
