"""Registers for tests and benchmarks: households and adults of a hall, some with accounts."""

from __future__ import annotations

from dataclasses import dataclass, field

from yishiting.deliberation.models import Household, Resident
from yishiting.orgs.models import Hall, User


@dataclass
class Register:
    """What `fill` made: households and residents in order."""

    households: list[Household] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)

    def users(self) -> list[User]:
        """Accounts of the verified residents, in register order."""
        return [r.user for r in self.residents if r.user is not None]


def fill(
    hall: Hall,
    *,
    households: int,
    per_household: int = 1,
    representatives: int = 0,
    committee: int = 0,
    party: int = 0,
    accounts: int = 0,
    prefix: str = "",
) -> Register:
    """Households `1..n` of `per_household` adults each; the first residents are the
    committee, then representatives, the first `party` party members, the first `accounts`
    verified (a User each, named `<prefix><hall code>-<n>`)."""
    prefix = prefix or f"{hall.code}-"
    out = Register()
    homes = Household.objects.bulk_create(
        [
            Household(hall=hall, number=f"{i + 1:04d}", head=f"户主{i + 1}")
            for i in range(households)
        ]
    )
    out.households = list(Household.objects.filter(hall=hall).order_by("number"))
    del homes
    users: list[User] = []
    if accounts:
        users = User.objects.bulk_create(
            [User(username=f"{prefix}{n}", display_name=f"居民{n}") for n in range(accounts)]
        )
        users = list(User.objects.filter(username__startswith=prefix).order_by("id"))[:accounts]
    rows = []
    n = 0
    for home in out.households:
        for k in range(per_household):
            rows.append(
                Resident(
                    hall=hall,
                    household=home,
                    name=f"居民{home.number}-{k + 1}",
                    committee=n < committee,
                    representative=committee <= n < committee + representatives,
                    party_member=n < party,
                    user=users[n] if n < len(users) else None,
                )
            )
            n += 1
    Resident.objects.bulk_create(rows, batch_size=2000)
    out.residents = list(
        Resident.objects.filter(hall=hall).select_related("user", "household").order_by("id")
    )
    return out
