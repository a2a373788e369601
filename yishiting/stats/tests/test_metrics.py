"""The §5 figures on a told story: what counts where, and the rules of §3.1 (approved appeals
left out of 满意率 and 解决率, the weight of 基本满意, unrated shown)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from yishiting.core.errors import InvalidError
from yishiting.orgs.models import CountyRules
from yishiting.requests import actions as A
from yishiting.requests import sweep
from yishiting.stats import buckets
from yishiting.stats import metrics as m
from yishiting.stats.models import Rollup
from yishiting.stats.rollups import rebuild, tz
from yishiting.stats.tests import rows
from yishiting.testing import County, png_bytes

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=tz())  # a Monday
NOV = (m.midnight(date(2026, 11, 1)), m.midnight(date(2026, 12, 1)))


def photo() -> io.BytesIO:
    f = io.BytesIO(png_bytes())
    f.name = "fix.png"
    return f


def submit(c: County, who: str = "resident1", at: datetime = T0, hall=None, category=None):  # type: ignore[no-untyped-def]
    return A.do_submit(
        actor=c[who], hall=hall or c.village, text="村口路灯不亮", category=category, now=at
    )


def handled(c: County, at: datetime, who: str = "resident1"):  # type: ignore[no-untyped-def]
    """Acknowledged in a minute, started and resolved on time by the village."""
    r = submit(c, who, at)
    A.do_acknowledge(r, actor=c["liaison1"], now=at + timedelta(minutes=1))
    A.do_start(r, actor=c["liaison1"], now=at + timedelta(minutes=2))
    A.do_resolve(r, actor=c["liaison1"], note="已修好", now=at + timedelta(hours=2))
    return r


def both(c: County, text: str = "county", period=NOV) -> m.Metrics:  # type: ignore[no-untyped-def]
    """The rollup figures, after checking they equal the raw ones."""
    scope = m.parse_scope(text, c.county)
    fast = m.metrics(scope, *period)
    assert fast.figures() == m.metrics_from_raw(scope, *period).figures()
    return fast


@pytest.mark.django_db
def test_a_month_of_requests(county: County) -> None:
    c = county
    CountyRules.objects.filter(county=c.county).update(basic_satisfied_weight=Decimal("0.9"))
    satisfied = handled(c, T0)
    A.do_rate(satisfied, actor=c["resident1"], rating="satisfied", now=T0 + timedelta(hours=3))
    basic = handled(c, T0 + timedelta(hours=1), "resident2")
    A.do_rate(
        basic, actor=c["resident2"], rating="basically_satisfied", now=T0 + timedelta(hours=4)
    )
    # 不满意, the handler appeals, the manager approves: left out of 满意率 and 解决率.
    appealed = handled(c, T0 + timedelta(hours=2))
    at = T0 + timedelta(hours=5)
    A.do_rate(appealed, actor=c["resident1"], rating="dissatisfied", now=at)
    A.do_appeal(appealed, actor=c["liaison1"], reason="诉求超出政策", now=at + timedelta(minutes=1))
    A.do_review_rating(appealed, actor=c["manager1"], decision="approve_appeal",
                       reason="经甄别不合理", now=at + timedelta(minutes=2))  # fmt: skip
    # Nobody answers for 5 minutes: the sweep escalates it (a missed first response).
    missed = submit(c, at=T0 + timedelta(hours=6))
    sweep.run_once(T0 + timedelta(hours=6, minutes=6))
    # Rejected, and rated-then-reopened (a rebound).
    rejected = submit(c, at=T0 + timedelta(hours=7))
    A.do_reject(
        rejected,
        actor=c["manager1"],
        reason="不属于受理范围",
        now=T0 + timedelta(hours=7, minutes=2),
    )
    back = handled(c, T0 + timedelta(days=1))
    A.do_rate(back, actor=c["resident1"], rating="satisfied", now=T0 + timedelta(days=1, hours=3))
    A.do_reopen(back, actor=c["resident1"], reason="又坏了", now=T0 + timedelta(days=3))
    # Resolved, never rated: closed by the sweep when the window ends.
    unrated = handled(c, T0 + timedelta(days=2), "resident2")
    sweep.run_once(T0 + timedelta(days=10))

    mt = both(c)
    counts = mt.tally.counts
    assert counts["submitted"] == 7
    assert counts["rejected"] == 1 and counts["appeals_approved"] == 1
    # accepted: all but the rejected one and the approved appeal
    assert mt.resolution_rate.as_dict() == {"value": 0.6, "numerator": 3, "denominator": 5}
    # rated: satisfied + basically (the reopened one lost its rating; the appeal is left out)
    sat = mt.satisfaction_rate.as_dict()
    assert sat == {"value": 0.95, "numerator": 1.9, "denominator": 2}
    assert counts["unrated"] == 1 and unrated.pk
    # first responses: 6 in a minute; the escalated one missed; the rejected one in 2 minutes
    assert mt.response_rate.as_dict() == {"value": 0.8571, "numerator": 6, "denominator": 7}
    assert mt.times("first_response") == {"count": 6, "median_seconds": 60, "p90_seconds": 120}
    assert mt.on_time_rate.as_dict() == {"value": 1.0, "numerator": 5, "denominator": 5}
    # closings: satisfied, basic, the appeal, the reopened one, the unrated one; one came back
    assert mt.rebound_rate.as_dict() == {"value": 0.2, "numerator": 1, "denominator": 5}
    # missed clocks: the automatic escalation, then the township's 5 minutes, then the
    # reopened one's new resolution deadline (3 working days) passing by day 10
    assert counts["breaches"] == 3
    assert mt.figures()["volumes"]["by_hour"][9] == 3  # two at 09:00 and one on day 2
    assert missed.pk and rejected.pk


@pytest.mark.django_db
def test_late_resolution_and_extension(county: County) -> None:
    c = county
    late = submit(c)
    A.do_acknowledge(late, actor=c["liaison1"], now=T0 + timedelta(minutes=1))
    A.do_start(late, actor=c["liaison1"], now=T0 + timedelta(minutes=2))
    A.do_resolve(late, actor=c["liaison1"], note="修好", now=T0 + timedelta(days=6))
    extended = submit(c)
    A.do_acknowledge(extended, actor=c["liaison1"], now=T0 + timedelta(minutes=1))
    A.do_start(extended, actor=c["liaison1"], now=T0 + timedelta(minutes=2))
    until = T0 + timedelta(days=10)
    A.do_extend(
        extended, actor=c["liaison1"], until=until, reason="等配件", now=T0 + timedelta(days=1)
    )
    A.do_approve_extension(extended, actor=c["manager1"], now=T0 + timedelta(days=1, hours=1))
    A.do_resolve(extended, actor=c["liaison1"], note="修好", now=T0 + timedelta(days=6))
    mt = both(c)
    # the approved extension counts: one on time of two
    assert mt.on_time_rate.as_dict() == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert mt.times("resolution")["median_seconds"] == buckets.upper(
        buckets.bucket(timedelta(days=6).total_seconds())
    )


@pytest.mark.django_db
def test_department_and_category_scopes(county: County) -> None:
    c = county
    r = submit(c, category="streetlight")
    A.do_escalate(r, actor=c["liaison1"], now=T0 + timedelta(minutes=1))
    A.do_acknowledge(r, actor=c["manager1"], now=T0 + timedelta(minutes=2))
    A.do_escalate(r, actor=c["manager1"], now=T0 + timedelta(minutes=2))
    A.do_dispatch(r, actor=c["dispatcher1"], department="gongdian", now=T0 + timedelta(minutes=3))
    other = submit(c, hall=c.village3)
    assert other.pk
    assert both(c, "department:gongdian").tally.counts["submitted"] == 1
    assert both(c, "department:zhujian").tally.counts["submitted"] == 0
    # the return moves it out of the department's figures and back to "none yet"
    A.do_return(
        r, actor=c["dept2"], reason="非本部门", reason_code="not_ours", now=T0 + timedelta(hours=1)
    )
    assert both(c, "department:gongdian").tally.counts["submitted"] == 0
    county_fig = both(c).figures()
    assert county_fig["volumes"]["by_department"] == {"0": 2}
    assert county_fig["volumes"]["by_hall"] == {"130500001": 1, "130500002": 1}
    assert both(c, "category:streetlight").tally.counts["submitted"] == 1
    assert both(c, "hall:130500002").tally.counts["submitted"] == 1


@pytest.mark.django_db
def test_rebuild_gives_back_what_the_events_kept(county: County) -> None:
    c = county
    handled(c, T0)
    handled(c, T0 + timedelta(days=40))
    kept = rows.summed("submitted", "n")
    Rollup.objects.all().delete()
    assert rebuild() == len(kept)  # one row per key: the rebuild writes shard 0 only
    assert rows.summed("submitted", "n") == kept


@pytest.mark.django_db
def test_periods_start_and_end_at_local_midnights(county: County) -> None:
    scope = m.county_scope(county.county)
    with pytest.raises(InvalidError, match="midnight"):
        m.metrics(scope, T0, NOV[1])
    with pytest.raises(InvalidError, match="time zone"):
        m.metrics(scope, datetime(2026, 11, 1), NOV[1])  # noqa: DTZ001
    with pytest.raises(InvalidError, match="after"):
        m.metrics(scope, NOV[1], NOV[0])


def test_buckets_report_the_upper_edge_of_the_rank() -> None:
    assert buckets.quantile({}, 0.5) is None
    counts = {buckets.bucket(50): 3, buckets.bucket(290): 1}
    assert buckets.quantile(counts, 0.5) == 60
    assert buckets.quantile(counts, 0.9) == 300
    assert buckets.bucket(0) == 0 and buckets.bucket(10**12) == buckets.LAST
