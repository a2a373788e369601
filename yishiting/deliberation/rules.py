"""The law's numbers as data: fractions, quorum, majority and compel thresholds (§9).

Pure functions over a rule row (`models.Body`) and counts; the only database read is
`rule_for`, which picks the row in force on a date. Every refusal names the rule that failed,
with its source (law and article), so a liaison can read why a motion did not pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.utils import translation
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from yishiting.deliberation.models import Body


class BodyKind(StrEnum):
    """The bodies that decide (§9)."""

    VILLAGE_ASSEMBLY = "village_assembly"  # 村民会议
    VILLAGE_REPRESENTATIVES = "village_representatives"  # 村民代表会议
    RESIDENTS_ASSEMBLY = "residents_assembly"  # 居民会议
    PARTY_ASSEMBLY = "party_assembly"  # 党员大会
    OWNERS_ASSEMBLY = "owners_assembly"  # 业主大会


BODY_LABELS: dict[BodyKind, Any] = {
    BodyKind.VILLAGE_ASSEMBLY: _("村民会议"),
    BodyKind.VILLAGE_REPRESENTATIVES: _("村民代表会议"),
    BodyKind.RESIDENTS_ASSEMBLY: _("居民会议"),
    BodyKind.PARTY_ASSEMBLY: _("党员大会"),
    BodyKind.OWNERS_ASSEMBLY: _("业主大会"),
}
BODY_CHOICES = [(k.value, BODY_LABELS[k]) for k in BodyKind]
# Chinese names for messages and exports, whatever the interface language.
BODY_NAMES = {
    BodyKind.VILLAGE_ASSEMBLY: "村民会议",
    BodyKind.VILLAGE_REPRESENTATIVES: "村民代表会议",
    BodyKind.RESIDENTS_ASSEMBLY: "居民会议",
    BodyKind.PARTY_ASSEMBLY: "党员大会",
    BodyKind.OWNERS_ASSEMBLY: "业主大会",
}


class Base(StrEnum):
    """What a fraction is taken of."""

    ADULTS = "adults"  # adult residents on the register (18+)
    HOUSEHOLDS = "households"
    MEMBERS = "members"  # the body's members (representatives + committee, party members)
    REPRESENTATIVES = "representatives"
    PRESENT = "present"  # those at the meeting (majority only)


BASE_LABELS: dict[Base, Any] = {
    Base.ADULTS: _("成年居民"),
    Base.HOUSEHOLDS: _("户"),
    Base.MEMBERS: _("组成人员"),
    Base.REPRESENTATIVES: _("代表"),
    Base.PRESENT: _("到会人员"),
}
BASE_CHOICES = [(b.value, BASE_LABELS[b]) for b in Base]
BASE_NAMES = {
    Base.ADULTS: "十八周岁以上村（居）民",
    Base.HOUSEHOLDS: "户",
    Base.MEMBERS: "组成人员",
    Base.REPRESENTATIVES: "代表",
    Base.PRESENT: "到会人员",
}


# The bases as a fraction's words name them, in the interface language.
BASE_WORDS: dict[Base, Any] = {
    Base.ADULTS: pgettext_lazy("fraction", "十八周岁以上村（居）民"),
    Base.HOUSEHOLDS: pgettext_lazy("fraction", "户"),
    Base.MEMBERS: pgettext_lazy("fraction", "组成人员"),
    Base.REPRESENTATIVES: pgettext_lazy("fraction", "代表"),
    Base.PRESENT: pgettext_lazy("fraction", "到会人员"),
}


class VoteUnit(StrEnum):
    """Who holds a vote: each person, or each household (an owners' assembly)."""

    PERSON = "person"
    HOUSEHOLD = "household"


@dataclass(frozen=True)
class Fraction:
    """`num/den` of a base; `strict` is 过半数-style "more than", else "at least" (以上)."""

    num: int
    den: int
    base: Base
    strict: bool = False

    def met(self, count: int, total: int) -> bool:
        """Whether `count` out of `total` reaches the fraction (exact integer arithmetic)."""
        if total <= 0:
            return False
        if self.strict:
            return count * self.den > self.num * total
        return count * self.den >= self.num * total

    def needed(self, total: int) -> int:
        """The least count that reaches the fraction of `total`."""
        if total <= 0:
            return 1
        floor, rem = divmod(self.num * total, self.den)
        if self.strict:
            return floor + 1
        return floor + (1 if rem else 0)

    def words(self) -> str:
        """As the statute says it: 过半数, 三分之二以上, 五分之一以上 (in English: more than
        half, at least 2/3)."""
        base = BASE_WORDS[self.base]
        if self.strict and (self.num, self.den) == (1, 2):
            return gettext("%(base)s过半数") % {"base": base}
        if (translation.get_language() or "zh").startswith("zh"):
            names = {1: "一", 2: "二", 3: "三", 4: "四", 5: "五", 10: "十", 20: "二十"}
            frac = f"{names.get(self.den, self.den)}分之{names.get(self.num, self.num)}"
        else:
            frac = f"{self.num}/{self.den}"
        if self.strict:
            return gettext("%(base)s的%(frac)s以上（不含本数）") % {"base": base, "frac": frac}
        return gettext("%(base)s的%(frac)s以上") % {"base": base, "frac": frac}


@dataclass
class Counts:
    """What a meeting's register and attendance add up to."""

    adults: int = 0
    households: int = 0
    members: int = 0
    representatives: int = 0
    present: int = 0  # voices present: persons, plus households represented by proxy
    present_adults: int = 0
    present_households: int = 0
    present_members: int = 0
    present_representatives: int = 0
    yes: int = 0
    no: int = 0
    abstain: int = 0

    def total(self, base: Base) -> int:
        """The register's size for a base."""
        return {
            Base.ADULTS: self.adults,
            Base.HOUSEHOLDS: self.households,
            Base.MEMBERS: self.members,
            Base.REPRESENTATIVES: self.representatives,
            Base.PRESENT: self.present,
        }[base]

    def attending(self, base: Base) -> int:
        """How many of that base are present."""
        return {
            Base.ADULTS: self.present_adults,
            Base.HOUSEHOLDS: self.present_households,
            Base.MEMBERS: self.present_members,
            Base.REPRESENTATIVES: self.present_representatives,
            Base.PRESENT: self.present,
        }[base]


@dataclass
class Outcome:
    """A meeting's result under a rule row: quorum, majority, and why it failed if it did."""

    quorum_met: bool
    majority_met: bool
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Adopted: quorum and majority both met."""
        return self.quorum_met and self.majority_met


def quorums(rule: Body) -> list[Fraction]:
    """The rule's quorum, and the alternative one when the law gives two (Art. 22)."""
    out = [Fraction(rule.quorum_num, rule.quorum_den, Base(rule.quorum_of), rule.quorum_strict)]
    if rule.quorum_alt_of:
        out.append(
            Fraction(
                rule.quorum_alt_num or 0,
                rule.quorum_alt_den or 1,
                Base(rule.quorum_alt_of),
                rule.quorum_alt_strict,
            )
        )
    return out


def majority(rule: Body) -> Fraction:
    """The fraction of yes votes that carries a decision."""
    return Fraction(
        rule.majority_num, rule.majority_den, Base(rule.majority_of), rule.majority_strict
    )


def compels(rule: Body) -> list[Fraction]:
    """The support fractions that oblige the committee to convene this body (Art. 21, 26)."""
    out = []
    if rule.compel_of:
        out.append(Fraction(rule.compel_num or 0, rule.compel_den or 1, Base(rule.compel_of)))
    if rule.compel_alt_of:
        out.append(
            Fraction(rule.compel_alt_num or 0, rule.compel_alt_den or 1, Base(rule.compel_alt_of))
        )
    return out


def _label(kind: str) -> Any:
    """A body's name in the interface language (the code for an unknown one)."""
    return {str(k): v for k, v in BODY_LABELS.items()}.get(str(kind), kind)


def _name(rule: Body) -> str:
    return str(BODY_LABELS[BodyKind(rule.kind)])


def decide(rule: Body, counts: Counts) -> Outcome:
    """Apply the rule row to the counts: quorum (any one of the quorums), then majority."""
    failures: list[str] = []
    fractions = quorums(rule)
    quorum_met = any(q.met(counts.attending(q.base), counts.total(q.base)) for q in fractions)
    if not quorum_met:
        parts = [
            gettext("%(words)s到会（应到 %(total)s，实到 %(present)s，至少需 %(needed)s）")
            % {
                "words": q.words(),
                "total": counts.total(q.base),
                "present": counts.attending(q.base),
                "needed": q.needed(counts.total(q.base)),
            }
            for q in fractions
        ]
        failures.append(
            gettext("未达法定人数：%(body)s须有%(parts)s方可召开 — %(source)s")
            % {"body": _name(rule), "parts": gettext("，或").join(parts), "source": rule.source}
        )
    m = majority(rule)
    total = counts.total(m.base)
    majority_met = m.met(counts.yes, total)
    if not majority_met:
        failures.append(
            gettext(
                "未获法定多数同意：%(body)s的决定须经%(words)s同意（%(total)s 的应同意至少 "
                "%(needed)s，实同意 %(yes)s）— %(source)s"
            )
            % {
                "body": _name(rule),
                "words": m.words(),
                "total": total,
                "needed": m.needed(total),
                "yes": counts.yes,
                "source": rule.source,
            }
        )
    return Outcome(quorum_met, majority_met, failures)


def compel_progress(rule: Body, counts: Counts) -> list[dict[str, Any]]:
    """For each compel threshold: the base, register size, supporters, needed, reached."""
    out = []
    for f in compels(rule):
        total, have = counts.total(f.base), counts.attending(f.base)
        out.append(
            {
                "base": f.base.value,
                "fraction": f"{f.num}/{f.den}",
                "total": total,
                "count": have,
                "needed": f.needed(total),
                "reached": f.met(have, total),
            }
        )
    return out


def notice_problem(rule: Body, notified_on: date, meeting_on: date) -> str:
    """Why a notice given on `notified_on` is too late for a meeting on `meeting_on`, or ''."""
    days = (meeting_on - notified_on).days
    if days >= rule.notice_days:
        return ""
    return gettext(
        "未满通知期：%(body)s须提前 %(notice)s 天通知（%(source)s），距会议只有 %(days)s 天；"
        "确需紧急召开，请标明 urgent 并说明理由"
    ) % {"body": _name(rule), "notice": rule.notice_days, "source": rule.source, "days": days}


def rule_for(kind: BodyKind | str, on_date: date) -> Body:
    """The rule row of `kind` in force on `on_date`: the latest effective_from on or before it."""
    from yishiting.core.errors import InvalidError
    from yishiting.deliberation.models import Body

    row = (
        Body.objects.filter(kind=kind, effective_from__lte=on_date)
        .order_by("-effective_from", "-id")
        .first()
    )
    if row is None:
        raise InvalidError(
            gettext("%(date)s 没有生效的%(body)s议事规则")
            % {"date": on_date.isoformat(), "body": _label(kind)}
        )
    return row
