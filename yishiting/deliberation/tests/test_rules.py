"""The statute's numbers (§9): quorum, majority, notice, and the row in force on a date."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from yishiting.core.errors import IllegalTransitionError, InvalidError
from yishiting.deliberation import actions, rules, states
from yishiting.deliberation.models import Body, Meeting
from yishiting.deliberation.rules import Base, Counts, Fraction
from yishiting.deliberation.testing import Register, fill
from yishiting.testing import County

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


def test_fractions_in_exact_integers() -> None:
    two_thirds = Fraction(2, 3, Base.MEMBERS)
    assert two_thirds.met(20, 30) and not two_thirds.met(19, 30)
    assert two_thirds.needed(30) == 20 and two_thirds.needed(31) == 21
    half = Fraction(1, 2, Base.PRESENT, strict=True)
    assert half.met(11, 20) and not half.met(10, 20)
    assert half.needed(20) == 11 and half.needed(21) == 11
    assert half.words() == "到会人员过半数"


def test_fractions_and_state_refusals_speak_the_language() -> None:
    """The statute's words in Chinese; the same fraction and refusal in English."""
    two_thirds, fifth = Fraction(2, 3, Base.MEMBERS), Fraction(1, 5, Base.ADULTS)
    half = Fraction(1, 2, Base.PRESENT, strict=True)
    assert two_thirds.words() == "组成人员的三分之二以上"
    assert fifth.words() == "十八周岁以上村（居）民的五分之一以上"
    with pytest.raises(IllegalTransitionError) as zh:
        states.check("topic", "withdraw", "adopted")
    assert zh.value.message == "议题“已通过”状态下不能“撤回”"
    with translation.override("en"):
        assert two_thirds.words() == "at least 2/3 of members"
        assert half.words() == "more than half of those present"
        with pytest.raises(IllegalTransitionError) as en:
            states.check("topic", "withdraw", "adopted")
    assert en.value.message == "Topic: “Withdraw” is not allowed from “Adopted”"


def test_rule_rows_by_date() -> None:
    """2018 text from 2018-12-29; the 2026 rows from 2026-01-01; nothing before 2018."""
    old = rules.rule_for("village_assembly", date(2025, 12, 31))
    new = rules.rule_for("village_assembly", date(2026, 1, 1))
    assert old.effective_from == date(2018, 12, 29) and "第二十二条" in old.source
    assert new.effective_from == date(2026, 1, 1) and "2025" in new.source
    assert old.notice_days == new.notice_days == 10
    with pytest.raises(InvalidError):
        rules.rule_for("village_assembly", date(2018, 1, 1))


def test_an_admin_row_takes_over_from_its_date() -> None:
    """A county enters new numbers without code; meetings before that date keep the old."""
    base = rules.rule_for("village_representatives", date(2026, 6, 1))
    Body.objects.create(
        **{
            f.name: getattr(base, f.name)
            for f in Body._meta.concrete_fields
            if f.name not in ("id", "effective_from", "quorum_num", "quorum_den", "source")
        },
        effective_from=date(2026, 7, 1),
        quorum_num=3,
        quorum_den=4,
        source="某县实施办法（测试）",
    )
    assert rules.rule_for("village_representatives", date(2026, 6, 30)).pk == base.pk
    assert rules.rule_for("village_representatives", date(2026, 7, 1)).quorum_num == 3


@pytest.fixture
def reps(county: County) -> Register:
    """A village with 30 members of its 村民代表会议 (3 committee + 27 representatives), each
    verified, plus 10 ordinary villagers."""
    reg = fill(county.village, households=40, representatives=27, committee=3, accounts=40)
    return reg


def _reps_meeting(county: County, reg: Register, present: int, yes: int, now: datetime) -> Meeting:
    liaison = county["liaison1"]
    m = actions.do_create_meeting(
        actor=liaison,
        hall=county.village,
        body="village_representatives",
        title="村民代表会议",
        starts_at=now + timedelta(hours=1),
        now=now,
    )
    actions.do_notify(m.pk, actor=liaison, now=now)
    actions.do_open(m.pk, actor=liaison, now=now)
    members = reg.residents[:30]
    for i, r in enumerate(members[:present]):
        actions.do_vote(m.pk, actor=r.user, choice="yes" if i < yes else "no", now=now)
    return actions.load_meeting(m.pk)


def test_representatives_two_thirds_present_more_than_half_yes_passes(
    county: County, reps: Register
) -> None:
    m = _reps_meeting(county, reps, present=20, yes=11, now=NOW)
    closed = actions.do_close(m.pk, actor=county["liaison1"], passed=True, now=NOW)
    assert closed.passed and closed.quorum_met
    assert (closed.roster_size, closed.present, closed.yes, closed.no) == (30, 20, 11, 9)
    assert closed.rule is not None and closed.rule.effective_from == date(2026, 1, 1)


def test_representatives_exactly_half_is_no_majority(county: County, reps: Register) -> None:
    m = _reps_meeting(county, reps, present=20, yes=10, now=NOW)
    with pytest.raises(actions.RuleError, match="未获法定多数同意"):
        actions.do_close(m.pk, actor=county["liaison1"], passed=True, now=NOW)
    assert not actions.do_close(m.pk, actor=county["liaison1"], now=NOW).passed


def test_representatives_one_member_fewer_is_below_quorum(county: County, reps: Register) -> None:
    """19 of 30 even all voting yes: refused as 'passed', naming Art. 26; stored as failed."""
    m = _reps_meeting(county, reps, present=19, yes=19, now=NOW)
    with pytest.raises(actions.RuleError) as refused:
        actions.do_close(m.pk, actor=county["liaison1"], passed=True, now=NOW)
    assert "未达法定人数" in refused.value.message and "第二十六条" in refused.value.message
    assert "实到 19" in refused.value.message and "至少需 20" in refused.value.message
    assert Meeting.objects.get(pk=m.pk).status == "in_session"  # nothing changed
    closed = actions.do_close(m.pk, actor=county["liaison1"], now=NOW)
    assert closed.passed is False and closed.quorum_met is False
    assert closed.counts["failures"][0].startswith("未达法定人数")


def test_non_members_cannot_vote_in_a_representatives_meeting(
    county: County, reps: Register
) -> None:
    from yishiting.core.errors import ForbiddenError

    m = _reps_meeting(county, reps, present=0, yes=0, now=NOW)
    villager = reps.residents[35]  # on the register, not a representative
    with pytest.raises(ForbiddenError):
        actions.do_vote(m.pk, actor=villager.user, choice="yes", now=NOW)


def _assembly(county: County, starts_at: datetime, now: datetime, **kw: object) -> Meeting:
    m = actions.do_create_meeting(
        actor=county["liaison1"],
        hall=county.village,
        body="village_assembly",
        title="村民会议",
        starts_at=starts_at,
        now=now,
    )
    return actions.do_notify(m.pk, actor=county["liaison1"], now=now, **kw)  # type: ignore[arg-type]


def test_village_assembly_with_nine_days_notice_is_refused(county: County) -> None:
    with pytest.raises(actions.RuleError, match="提前 10 天通知") as refused:
        _assembly(county, NOW + timedelta(days=9), NOW)
    assert "第二十一条" in refused.value.message
    assert Meeting.objects.get().status == "draft"
    ten = _assembly(county, NOW + timedelta(days=10), NOW)
    assert ten.status == "notified" and ten.rule is not None and ten.rule.notice_days == 10


def test_urgent_meeting_needs_a_reason(county: County) -> None:
    with pytest.raises(InvalidError, match="理由"):
        _assembly(county, NOW + timedelta(days=2), NOW, urgent=True)
    m = _assembly(county, NOW + timedelta(days=2), NOW, urgent=True, reason="汛期抢险")
    assert m.urgent and m.urgent_reason == "汛期抢险"


def test_a_meeting_in_2025_uses_the_2018_row_and_in_2026_the_2026_row(county: County) -> None:
    then = datetime(2025, 11, 1, 9, 0, tzinfo=TZ)
    m2025 = _assembly(county, datetime(2025, 12, 1, 9, 0, tzinfo=TZ), then)
    m2026 = _assembly(county, datetime(2026, 1, 5, 9, 0, tzinfo=TZ), then)
    assert m2025.rule is not None and m2025.rule.effective_from == date(2018, 12, 29)
    assert m2026.rule is not None and m2026.rule.effective_from == date(2026, 1, 1)


def test_assembly_quorum_by_households_when_adults_fall_short() -> None:
    """Art. 22: more than half of the adults, OR two thirds of the households."""
    rule = rules.rule_for("village_assembly", date(2026, 3, 1))
    counts = Counts(adults=100, households=30, present_adults=40, present_households=20)
    counts.present, counts.yes = 40, 21
    assert rules.decide(rule, counts).passed
    counts.present_households = 19
    outcome = rules.decide(rule, counts)
    assert not outcome.quorum_met and "户" in outcome.failures[0]


def test_party_assembly_majority_is_of_members_not_present() -> None:
    rule = rules.rule_for("party_assembly", date(2026, 3, 1))
    counts = Counts(members=20, present_members=12, present=12, yes=10)
    assert not rules.decide(rule, counts).passed  # 10 of 20 members is not more than half
    counts.yes = 11
    assert rules.decide(rule, counts).passed


def test_a_third_of_the_representatives_compel_a_villagers_assembly(county: County) -> None:
    """Art. 21: 1/3 of the representatives (here 3 of 9) compel a 村民会议, well before 1/10
    of the 60 adults (6) have signed."""
    reg = fill(county.village, households=30, per_household=2, representatives=9, accounts=60)
    topic = actions.do_raise_topic(
        actor=reg.users()[20], hall=county.village, body="village_assembly",
        title="村集体收益分配", text="请召开村民会议讨论", now=NOW,
    )  # fmt: skip
    reps = reg.users()[:9]
    for user in reps[:2]:
        assert actions.do_support(topic.pk, actor=user, now=NOW)[1] is None
    topic, meeting = actions.do_support(topic.pk, actor=reps[2], now=NOW)
    assert meeting is not None and topic.status == "compelled"
    assert meeting.body == "village_assembly" and meeting.convene_by == NOW + timedelta(days=15)
    assert (topic.supporters, topic.supporting_representatives) == (3, 3)
    with pytest.raises(InvalidError):
        actions.do_raise_topic(
            actor=reg.users()[0], hall=county.village, body="owners_assembly", title="t",
            text="t", now=NOW,
        )  # fmt: skip
