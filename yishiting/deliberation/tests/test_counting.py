"""One person, one vote (§9): random mixes of online votes, paper tallies, household proxies
and repeated sign-ins never count a person or a household twice, and the stored resolution
always equals a recount from the ballots."""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yishiting.core.errors import ActionError
from yishiting.deliberation import actions
from yishiting.deliberation.models import Attendance, Ballot, Meeting
from yishiting.deliberation.testing import Register, fill
from yishiting.testing import County, png_bytes

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
HOUSEHOLDS, PER = 5, 2
PEOPLE = HOUSEHOLDS * PER

person = st.integers(0, PEOPLE - 1)
home = st.integers(0, HOUSEHOLDS - 1)
choice = st.sampled_from(["yes", "no", "abstain"])
op = st.one_of(
    st.tuples(st.just("qr"), person),
    st.tuples(st.just("officer"), person),
    st.tuples(st.just("vote"), person, choice),
    st.tuples(st.just("proxy_in"), person, home),
    st.tuples(st.just("proxy_vote"), person, home, choice),
    st.tuples(
        st.just("tally"),
        st.lists(st.tuples(person, choice, st.one_of(st.none(), home)), min_size=1, max_size=4),
    ),
)


@pytest.fixture
def village(county: County) -> Register:
    return fill(county.village, households=HOUSEHOLDS, per_household=PER, accounts=PEOPLE)


def _sheet() -> io.BytesIO:
    photo = io.BytesIO(png_bytes())
    photo.name = "sheet.png"
    return photo


def _apply(m: Meeting, county: County, reg: Register, step: tuple[Any, ...]) -> None:
    liaison = county["liaison1"]
    r = reg.residents
    match step:
        case ("qr", i):
            actions.do_sign_in(m.pk, actor=r[i].user, token=m.sign_in_token, now=NOW)
        case ("officer", i):
            actions.do_sign_in(m.pk, actor=liaison, resident=r[i].pk, now=NOW)
        case ("vote", i, c):
            actions.do_vote(m.pk, actor=r[i].user, choice=c, now=NOW)
        case ("proxy_in", i, h):
            actions.do_sign_in(
                m.pk, actor=liaison, resident=r[i].pk, proxy_for=reg.households[h].pk, now=NOW
            )
        case ("proxy_vote", i, h, c):
            actions.do_vote(
                m.pk, actor=r[i].user, choice=c, proxy_for=reg.households[h].pk, now=NOW
            )
        case ("tally", rows):
            ballots = [
                {
                    "resident": r[i].pk,
                    "choice": c,
                    **({"proxy_for": reg.households[h].pk} if h is not None else {}),
                }
                for i, c, h in rows
            ]
            actions.do_tally(m.pk, actor=liaison, ballots=ballots, photo=_sheet(), now=NOW)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(op, max_size=14))
def test_nobody_counts_twice_and_totals_equal_a_recount(
    county: County, village: Register, steps: list[tuple[Any, ...]]
) -> None:
    liaison = county["liaison1"]
    m = actions.do_create_meeting(
        actor=liaison,
        hall=county.village,
        body="village_assembly",
        title="村民会议",
        starts_at=NOW + timedelta(days=10),
        now=NOW,
    )
    actions.do_notify(m.pk, actor=liaison, now=NOW)
    m = actions.do_open(m.pk, actor=liaison, now=NOW + timedelta(days=10))
    for step in steps:
        # A refused step may leave nothing half-done behind: checked below.
        with contextlib.suppress(ActionError):
            _apply(m, county, village, step)

    rows = list(Attendance.objects.filter(meeting=m))
    persons = [a.resident_id for a in rows if not a.proxy]
    assert len(persons) == len(set(persons)), "a person signed in twice"
    proxied = {a.household_id for a in rows if a.proxy}
    in_person = {a.household_id for a in rows if not a.proxy}
    assert not proxied & in_person, "a household both present and represented by proxy"
    ballots = list(Ballot.objects.filter(meeting=m))
    keys = [b.key for b in ballots]
    assert len(keys) == len(set(keys)), "a voice voted twice"
    assert set(keys) <= {a.key for a in rows}, "a ballot without a sign-in"
    assert all(a.key == f"r:{a.resident_id}" for a in rows if not a.proxy)
    assert all(a.key == f"h:{a.household_id}" for a in rows if a.proxy)

    closed = actions.do_close(m.pk, actor=liaison, now=NOW + timedelta(days=10))
    tally = Counter(b.choice for b in ballots)
    assert (closed.yes, closed.no, closed.abstain) == (tally["yes"], tally["no"], tally["abstain"])
    assert closed.present == len(rows)
    assert closed.counts["present_adults"] == len(persons)
    assert closed.counts["present_households"] == len(proxied | in_person)
    recount = actions.recount(closed)
    assert (recount.yes, recount.no, recount.abstain, recount.present) == (
        closed.yes,
        closed.no,
        closed.abstain,
        closed.present,
    )


def test_a_paper_sheet_with_an_online_voter_is_refused_whole(
    county: County, village: Register
) -> None:
    liaison = county["liaison1"]
    m = actions.do_create_meeting(
        actor=liaison, hall=county.village, body="village_assembly", title="村民会议",
        starts_at=NOW + timedelta(days=10), now=NOW,
    )  # fmt: skip
    actions.do_notify(m.pk, actor=liaison, now=NOW)
    actions.do_open(m.pk, actor=liaison, now=NOW + timedelta(days=10))
    r = village.residents
    actions.do_vote(m.pk, actor=r[0].user, choice="no", now=NOW)
    with pytest.raises(ActionError, match="已在线上或其他计票单上投过票") as refused:
        actions.do_tally(
            m.pk,
            actor=liaison,
            ballots=[
                {"resident": r[1].pk, "choice": "yes"},
                {"resident": r[0].pk, "choice": "yes"},
            ],
            photo=_sheet(),
            now=NOW,
        )
    assert refused.value.status == 409 and r[0].name in refused.value.message
    assert Ballot.objects.filter(meeting=m).count() == 1  # the sheet added nothing
    with pytest.raises(ActionError, match="照片：须附签名计票单的照片"):
        actions.do_tally(
            m.pk, actor=liaison, ballots=[{"resident": r[1].pk, "choice": "yes"}], photo=None
        )
    actions.do_tally(
        m.pk, actor=liaison, ballots=[{"resident": r[1].pk, "choice": "yes"}], photo=_sheet()
    )
    with pytest.raises(ActionError, match="已经投过票（线上或纸质）：一人一票"):
        actions.do_vote(m.pk, actor=r[1].user, choice="no", now=NOW)
