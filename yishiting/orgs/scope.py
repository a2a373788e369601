"""Who someone is in the hall tree: the one place that answers scope questions (§2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from yishiting.orgs import config
from yishiting.orgs.models import Department, DutyShift, Hall, HallKind, Membership, Role, User


@dataclass
class Actor:
    """A user with their memberships loaded once; every permission check goes through it."""

    user: User
    memberships: list[Membership] = field(default_factory=list)

    @classmethod
    def of(cls, user: User) -> Actor:
        """A user with their memberships, halls and departments (this process's copy while
        the configuration stamp stands: a role given or taken counts from the next read)."""
        rows = config.cached(
            f"memberships:{user.pk}",
            lambda: list(
                Membership.objects.filter(user=user).select_related("hall", "department__county")
            ),
        )
        return cls(user, list(rows))

    def _halls(self, *roles: Role) -> list[Hall]:
        return [m.hall for m in self.memberships if m.role in roles and m.hall is not None]

    @cached_property
    def departments(self) -> list[Department]:
        """Departments this person works for."""
        return [m.department for m in self.memberships if m.department is not None]

    @property
    def is_admin(self) -> bool:
        """System administrators (superusers)."""
        return bool(self.user.is_superuser)

    @property
    def is_staff_member(self) -> bool:
        """Anyone with a staff role (not only a resident or representative)."""
        return any(m.role != Role.REPRESENTATIVE for m in self.memberships)

    def roles(self) -> set[str]:
        """Role codes, with `resident` for everyone and `admin` for superusers."""
        out = {m.role for m in self.memberships} | {"resident"}
        if self.is_admin:
            out.add("admin")
        return out

    def handles_hall(self, hall: Hall) -> bool:
        """Liaison of this very hall, or manager of it or of a hall above it."""
        if any(h.pk == hall.pk for h in self._halls(Role.LIAISON)):
            return True
        return any(h.contains(hall) for h in self._halls(Role.MANAGER))

    def manages_hall(self, hall: Hall) -> bool:
        """Manager of this hall or of a hall above it."""
        return any(h.contains(hall) for h in self._halls(Role.MANAGER))

    def dispatches_for(self, hall: Hall) -> bool:
        """Dispatcher in the county `hall` belongs to."""
        return any(h.county_code == hall.county_code for h in self._halls(Role.DISPATCHER))

    def officer_of(self, department_id: int | None) -> bool:
        """Officer of that department."""
        return department_id is not None and any(d.pk == department_id for d in self.departments)

    def leads(self, hall: Hall) -> bool:
        """Leader of this hall or of a hall above it."""
        return any(h.contains(hall) for h in self._halls(Role.LEADER))

    def on_duty(self, hall: Hall, now: datetime) -> bool:
        """On a duty shift covering `hall`'s county at `now`."""
        if not any(h.county_code == hall.county_code for h in self._halls(Role.DUTY)):
            return False
        return self.user.pk in DutyShift.on_duty(hall.county_code, now)

    def sees_internal(self, hall: Hall, origin: Hall, department_id: int | None) -> bool:
        """May read internal notes and personal data of a request with these coordinates."""
        return (
            self.is_admin
            or self.handles_hall(hall)
            or self.handles_hall(origin)
            or self.dispatches_for(hall)
            or self.officer_of(department_id)
            or self.leads(hall)
            or self.leads(origin)
            or any(h.county_code == hall.county_code for h in self._halls(Role.DUTY))
        )

    def staff_halls(self) -> list[Hall]:
        """Halls in whose subtree this person may see requests (departments aside)."""
        return self._halls(Role.LIAISON, Role.MANAGER, Role.LEADER, Role.DISPATCHER, Role.DUTY)


def assignment_hall(county_code: str) -> Hall:
    """The county's assignment hall (部门集中交办厅): where escalations from a township land."""
    hall = (
        Hall.objects.filter(kind=HallKind.ASSIGNMENT, path__startswith=f"/{county_code}/")
        .order_by("code")
        .first()
    )
    if hall is None:
        raise Hall.DoesNotExist(f"county {county_code} has no assignment hall")
    return hall


def escalation_target(hall: Hall) -> Hall | None:
    """Where escalating from `hall` lands: the parent, or from a township up the assignment hall."""
    if hall.kind == HallKind.ASSIGNMENT:
        return None
    if hall.kind in (HallKind.TOWNSHIP, HallKind.COUNTY) or hall.parent is None:
        return assignment_hall(hall.county_code)
    return hall.parent
