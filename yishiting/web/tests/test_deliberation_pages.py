"""The deliberation pages (议事) with Django's test client: each page for its role, the forms
through the `do_*` functions, refusals with their status and nothing changed, masked names."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from yishiting.deliberation import actions as d
from yishiting.deliberation.models import Comment, Matter, Meeting, Project, Support, Topic
from yishiting.deliberation.testing import fill
from yishiting.orgs.models import Hall, HallKind, Membership, Role, User
from yishiting.requests import sweep
from yishiting.testing import County, png_bytes

pytestmark = pytest.mark.django_db


def photo(name: str = "p.png") -> io.BytesIO:
    f = io.BytesIO(png_bytes())
    f.name = name
    return f


def as_user(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def w(county: County) -> dict[str, Any]:
    """幸福小区 (20 households, one adult each, all verified) and 和平小区 next door."""
    community = Hall.objects.create(
        code="130500001100", name="东关社区", kind=HallKind.COMMUNITY, parent=county.township
    )
    xingfu = Hall.objects.create(
        code="130500001101", name="幸福小区", kind=HallKind.COMPOUND, parent=community
    )
    heping = Hall.objects.create(
        code="130500001102", name="和平小区", kind=HallKind.COMPOUND, parent=community
    )
    liaison = User.objects.create(username="liaison_xf", display_name="高敏")
    Membership.objects.create(user=liaison, role=Role.LIAISON, hall=xingfu)
    reg = fill(xingfu, households=20, accounts=20)
    User.objects.filter(pk__in=[u.pk for u in reg.users()]).update(display_name="王秀英")
    other = fill(heping, households=3, accounts=3)
    return {
        "hall": xingfu,
        "reg": reg,
        "users": reg.users(),
        "liaison": liaison,
        "stranger": other.users()[0],
        "county": county,
    }


def raise_topic(w: dict[str, Any], title: str = "楼道充电隐患，建集中充电桩") -> Topic:
    return d.do_raise_topic(
        actor=w["users"][0], hall=w["hall"], title=title, text="电动车在楼道里充电，太危险。"
    )


def closed_meeting(w: dict[str, Any], votes: int = 12) -> Meeting:
    """A topic supported past 1/5, its compelled meeting convened, voted and closed."""
    topic = raise_topic(w)
    meeting = None
    for u in w["users"][:4]:
        _t, meeting = d.do_support(topic, actor=u)
    assert meeting is not None
    d.do_agenda(meeting, actor=w["liaison"], starts_at=timezone.now() + timedelta(minutes=30))
    d.do_notify(meeting, actor=w["liaison"])
    d.do_open(meeting, actor=w["liaison"])
    for i, u in enumerate(w["users"][:votes]):
        d.do_vote(meeting, actor=u, choice="yes" if i < votes - 2 else "no")
    return d.do_close(meeting, actor=w["liaison"])


# --- topics -----------------------------------------------------------------------------------


def test_hall_topics_page_for_visitors_residents_and_officers(w: dict[str, Any]) -> None:
    raise_topic(w)
    url = f"/h/{w['hall'].code}/topics/"
    visitor = Client().get(url).content.decode()
    assert "楼道充电隐患" in visitor and 'id="raise-topic"' not in visitor
    resident = as_user(w["users"][1]).get(url).content.decode()
    assert 'id="raise-topic"' in resident and 'id="new-meeting"' not in resident
    officer = as_user(w["liaison"]).get(url).content.decode()
    assert 'id="new-meeting"' in officer
    assert Client().get("/h/130500/topics/").status_code == 404  # a county does not deliberate
    assert Client().get("/h/13%00/topics/").status_code == 404
    # The hall page, the workspace and the inbox link to it.
    assert f'href="{url}"' in Client().get(f"/h/{w['hall'].code}/").content.decode()
    assert f'href="{url}"' in as_user(w["liaison"]).get("/w/").content.decode()
    assert f'href="{url}"' in as_user(w["liaison"]).get("/inbox/").content.decode()
    assert f'href="{url}"' in as_user(w["users"][1]).get("/w/").content.decode()


def test_a_resident_raises_a_topic_and_a_stranger_cannot(w: dict[str, Any]) -> None:
    url = f"/h/{w['hall'].code}/topics/"
    form = {"title": "加装路灯", "text": "东门太黑", "photos": [photo()]}
    response = as_user(w["users"][3]).post(url, form)
    topic = Topic.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/topics/{topic.pk}/"
    assert topic.raised_by == w["users"][3] and topic.events.get().photos.count() == 1
    page = Client().get(f"/topics/{topic.pk}/").content.decode()
    assert "/dphotos/" in page
    refused = as_user(w["stranger"]).post(url, {"title": "x", "text": "y"})
    assert refused.status_code == 403 and Topic.objects.count() == 1
    blank = as_user(w["users"][3]).post(url, {"title": "", "text": "y"})
    assert blank.status_code == 422 and Topic.objects.count() == 1


def test_supports_cross_the_threshold_and_compel_a_meeting(w: dict[str, Any]) -> None:
    topic = raise_topic(w)
    url = f"/topics/{topic.pk}/"
    first = as_user(w["users"][1]).get(url).content.decode()
    assert 'id="support-btn"' in first and "0 / 4" in first
    for u in w["users"][1:4]:
        assert as_user(u).post(f"{url}do/support/").status_code == 302
    again = as_user(w["users"][1]).post(f"{url}do/support/")
    assert again.status_code == 409 and Support.objects.count() == 3
    page = as_user(w["users"][1]).get(url).content.decode()
    assert 'id="supported"' in page and "3 / 4" in page and 'id="support-btn"' not in page
    as_user(w["users"][5]).post(f"{url}do/support/")
    topic.refresh_from_db()
    assert topic.status == "compelled"
    meeting = Meeting.objects.get(compelled_by=topic)
    page = Client().get(url).content.decode()
    assert f'href="/meetings/{meeting.pk}/"' in page and "召集期限" in page
    # Someone of the compound next door may not support it.
    stranger = as_user(w["stranger"]).post(f"{url}do/support/")
    assert stranger.status_code == 403 and Support.objects.count() == 4
    # The live fragment carries the counts.
    fragment = Client().get(f"{url}?fragment=1").content.decode()
    assert 'data-delib="topic.' in fragment and 'id="supporters">4<' in fragment


def test_comments_with_stance_internal_notes_and_masked_names(w: dict[str, Any]) -> None:
    topic = raise_topic(w)
    url = f"/topics/{topic.pk}/"
    ok = as_user(w["users"][2]).post(f"{url}do/comment/", {"text": "同意", "stance": "for"})
    assert ok.status_code == 302
    as_user(w["users"][3]).post(f"{url}do/comment/", {"text": "担心噪音", "stance": "against"})
    as_user(w["liaison"]).post(
        f"{url}do/comment/", {"text": "预算内部讨论", "stance": "neutral", "internal": "1"}
    )
    assert Comment.objects.filter(public=False).count() == 1
    resident = as_user(w["users"][5]).get(url).content.decode()
    assert "st-for" in resident and "st-against" in resident
    assert "预算内部讨论" not in resident
    assert "王**" in resident and "王秀英" not in resident  # names masked for residents
    officer = as_user(w["liaison"]).get(url).content.decode()
    assert "预算内部讨论" in officer and "王秀英" in officer
    # A resident cannot write an internal note, nor a stranger a comment.
    assert (
        as_user(w["users"][2])
        .post(f"{url}do/comment/", {"text": "x", "stance": "for", "internal": "1"})
        .status_code
        == 403
    )
    assert (
        as_user(w["stranger"]).post(f"{url}do/comment/", {"text": "x", "stance": "for"}).status_code
        == 403
    )
    bad = as_user(w["users"][2]).post(f"{url}do/comment/", {"text": "x", "stance": "maybe"})
    assert bad.status_code == 422 and Comment.objects.count() == 3
    assert as_user(w["users"][2]).post(f"{url}do/nonsense/").status_code == 404
    assert Client().get("/topics/999999/").status_code == 404


# --- meetings ---------------------------------------------------------------------------------


def test_an_officer_runs_a_meeting_through_the_page(w: dict[str, Any]) -> None:
    topic = raise_topic(w)
    liaison = as_user(w["liaison"])
    starts = timezone.localtime(timezone.now() + timedelta(days=3))
    response = liaison.post(
        f"/h/{w['hall'].code}/meetings/new/",
        {
            "title": "业主大会：充电桩",
            "body": "owners_assembly",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "topics": [str(topic.pk)],
            "preread": "预算1.2万元",
        },
    )
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/meetings/{meeting.pk}/"
    url = f"/meetings/{meeting.pk}/"
    page = liaison.get(url).content.decode()
    assert 'id="notify-form"' in page and "提前通知 15 天" in page
    # Three days' notice for an owners' assembly (15 days) is refused, naming the rule.
    too_late = liaison.post(f"{url}do/notify/")
    assert too_late.status_code == 409 and "15" in too_late.content.decode()
    meeting.refresh_from_db()
    assert meeting.status == "draft"
    # Urgent needs a reason; with one it goes out.
    assert liaison.post(f"{url}do/notify/", {"urgent": "1"}).status_code == 422
    assert (
        liaison.post(f"{url}do/notify/", {"urgent": "1", "reason": "雨季前必须装好"}).status_code
        == 302
    )
    meeting.refresh_from_db()
    assert meeting.status == "notified" and meeting.urgent_reason == "雨季前必须装好"
    # A resident sees the notice but none of the officers' tools, nor the QR code.
    resident = as_user(w["users"][4])
    page = resident.get(url).content.decode()
    assert "预算1.2万元" in page and 'id="officer-tools"' not in page
    assert resident.get(f"{url}qr.svg").status_code == 404
    assert liaison.get(f"{url}qr.svg")["Content-Type"] == "image/svg+xml"
    assert resident.post(f"{url}do/open/").status_code == 403


def test_sign_in_by_qr_vote_tally_and_the_resolution(w: dict[str, Any]) -> None:
    topic = raise_topic(w)
    meeting = None
    for u in w["users"][:4]:
        _t, meeting = d.do_support(topic, actor=u)
    assert meeting is not None
    liaison = as_user(w["liaison"])
    url = f"/meetings/{meeting.pk}/"
    starts = timezone.localtime(timezone.now() + timedelta(minutes=30))
    liaison.post(f"{url}do/agenda/", {"starts_at": starts.strftime("%Y-%m-%dT%H:%M")})
    assert liaison.post(f"{url}do/notify/").status_code == 302
    assert liaison.post(f"{url}do/open/").status_code == 302
    meeting.refresh_from_db()
    # Sign in with the QR code's link, once.
    resident = as_user(w["users"][0])
    page = resident.get(f"{url}?t={meeting.sign_in_token}").content.decode()
    assert 'id="sign-in-btn"' in page and 'id="vote-form"' in page
    assert resident.post(f"{url}do/sign_in/", {"token": "wrong"}).status_code == 403
    assert resident.post(f"{url}do/sign_in/", {"token": meeting.sign_in_token}).status_code == 302
    assert 'id="signed-in"' in resident.get(url).content.decode()
    # Votes online; a second vote is refused.
    for i, u in enumerate(w["users"][:6]):
        assert (
            as_user(u).post(f"{url}do/vote/", {"choice": "yes" if i < 5 else "no"}).status_code
            == 302
        )
    assert resident.post(f"{url}do/vote/", {"choice": "no"}).status_code == 409
    assert 'id="my-vote"' in resident.get(url).content.decode()
    # A stranger cannot vote.
    assert as_user(w["stranger"]).post(f"{url}do/vote/", {"choice": "no"}).status_code == 403
    # The officer signs one in and enters a paper sheet with its photo.
    residents = w["reg"].residents
    assert liaison.post(f"{url}do/sign_in/", {"resident": residents[10].pk}).status_code == 302
    sheet = {f"choice_{r.pk}": "yes" for r in residents[10:16]}
    assert liaison.post(f"{url}do/tally/", sheet).status_code == 422  # no photo
    assert (
        liaison.post(f"{url}do/tally/", {**sheet, "photo": photo("sheet.png")}).status_code == 302
    )
    twice = liaison.post(
        f"{url}do/tally/", {f"choice_{residents[0].pk}": "no", "photo": photo("s2.png")}
    )
    assert twice.status_code == 409  # voted online already
    page = liaison.get(url).content.decode()
    assert 'id="ballots">12<' in page and "签字表照片" in page
    # 12 of 20 present: a fail cannot be declared when the votes carried it.
    refused = liaison.post(f"{url}do/close/", {"passed": "no"})
    assert refused.status_code == 409
    assert (
        liaison.post(
            f"{url}do/close/", {"resolution": "建充电桩10个", "dissent": "1户反对"}
        ).status_code
        == 302
    )
    page = Client().get(url).content.decode()
    assert 'id="r-roster">20<' in page and 'id="r-present">12<' in page
    assert 'id="r-yes">11<' in page and 'id="r-no">1<' in page and 'id="r-abstain">0<' in page
    assert "居民会议" in page and "2026-01-01" in page and "城市居民委员会组织法" in page
    assert 'id="publish-btn"' in liaison.get(url).content.decode()
    assert liaison.post(f"{url}do/publish/").status_code == 302
    meeting.refresh_from_db()
    assert meeting.published_at is not None
    # Tally photos (signatures) are for the officers only.
    photo_ids = [p.pk for e in meeting.events.filter(verb="tally") for p in e.photos.all()]
    assert liaison.get(f"/dphotos/{photo_ids[0]}").status_code == 200
    assert resident.get(f"/dphotos/{photo_ids[0]}").status_code == 404


def test_below_quorum_the_page_says_which_rule_failed(w: dict[str, Any]) -> None:
    meeting = closed_meeting(w, votes=5)  # 5 of 20 present: below quorum
    page = Client().get(f"/meetings/{meeting.pk}/").content.decode()
    assert "表决未通过" in page and 'id="r-failures"' in page and "未达法定人数" in page
    assert (
        'id="project-btn"'
        not in as_user(w["liaison"]).get(f"/meetings/{meeting.pk}/").content.decode()
    )


# --- projects ---------------------------------------------------------------------------------


def test_project_page_milestones_requests_and_acceptance(w: dict[str, Any]) -> None:
    meeting = closed_meeting(w)
    liaison = as_user(w["liaison"])
    murl = f"/meetings/{meeting.pk}/"
    assert 'id="project-btn"' in liaison.get(murl).content.decode()
    assert as_user(w["users"][1]).post(f"{murl}do/project/").status_code == 403
    response = liaison.post(f"{murl}do/project/", {"title": "幸福小区集中充电桩"})
    project = Project.objects.get()
    url = f"/projects/{project.pk}/"
    assert response["Location"] == url
    assert (
        liaison.post(f"{url}do/milestone/", {"title": "安装充电桩", "cost": "abc"}).status_code
        == 422
    )
    assert (
        liaison.post(
            f"{url}do/milestone/", {"title": "安装充电桩", "cost": "12000", "due_on": "2026-12-20"}
        ).status_code
        == 302
    )
    step = project.milestones.get()
    assert (
        liaison.post(
            f"{url}do/add_request/", {"title": "接电增容", "text": "需要供电公司接电"}
        ).status_code
        == 302
    )
    req = project.requests.get()
    assert liaison.post(f"{url}do/complete_milestone/", {"milestone": step.pk}).status_code == 422
    done = liaison.post(
        f"{url}do/complete_milestone/", {"milestone": step.pk, "photos": [photo("piles.png")]}
    )
    assert done.status_code == 302
    # Acceptance waits for the department's request.
    refused = liaison.post(f"{url}do/start_acceptance/")
    assert refused.status_code == 409 and req.number in refused.content.decode()
    page = as_user(w["users"][3]).get(url).content.decode()
    assert 'id="progress">100%<' in page and "12000.00" in page and f'href="/r/{req.pk}/"' in page
    assert "/dphotos/" in page and 'id="officer-tools"' not in page
    assert as_user(w["users"][3]).post(f"{url}do/milestone/", {"title": "x"}).status_code == 403
    assert as_user(w["stranger"]).post(f"{url}do/follow/").status_code == 403
    assert as_user(w["users"][9]).post(f"{url}do/follow/").status_code == 302
    assert project.followers.filter(pk=w["users"][9].pk).exists()


# --- 四议两公开, the late list ----------------------------------------------------------------


def test_matters_in_order_with_export_for_village_officers(county: County) -> None:
    liaison = as_user(county["liaison1"])
    base = f"/h/{county.village.code}/matters/"
    assert liaison.post(base, {"title": "修村道"}).status_code == 302
    matter = Matter.objects.get()
    url = f"/matters/{matter.pk}/"
    page = liaison.get(url).content.decode()
    assert "党支部提议" in page
    today = timezone.localdate().isoformat()
    step = {"held_on": today, "attendance": "5", "signatures": "张三，李四"}
    out_of_order = liaison.post(url, {**step, "step": "party_review"})
    assert out_of_order.status_code == 409 and matter.steps.count() == 0
    assert liaison.post(url, {**step, "step": "branch_proposal"}).status_code == 302
    assert "两委商议" in liaison.get(url).content.decode()
    xlsx = liaison.get(f"{url}export.xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Disposition"].startswith("attachment")
    assert liaison.get(f"{url}export.pdf").status_code == 200
    # Residents and other villages' liaisons are refused.
    assert as_user(county["resident1"]).get(url).status_code == 403
    assert as_user(county["liaison2"]).get(f"{url}export.xlsx").status_code == 403
    assert as_user(county["liaison2"]).post(base, {"title": "x"}).status_code == 403


def test_township_sees_late_meetings_and_publicity(w: dict[str, Any]) -> None:
    county = w["county"]
    topic = raise_topic(w)
    for u in w["users"][:4]:
        _t, meeting = d.do_support(topic, actor=u)
    assert meeting is not None
    with time_machine.travel(timezone.now() + timedelta(days=16)):
        sweep.run_pass()
        page = as_user(county["manager1"]).get("/late/").content.decode()
    assert f'href="/meetings/{meeting.pk}/"' in page
    assert as_user(w["users"][0]).get("/late/").status_code == 403
    # Another township's manager does not see it.
    other = User.objects.create(username="manager2", display_name="钱")
    Membership.objects.create(user=other, role=Role.MANAGER, hall=county.township2)
    assert f"/meetings/{meeting.pk}/" not in as_user(other).get("/late/").content.decode()
    assert 'href="/late/"' in as_user(county["manager1"]).get("/w/").content.decode()


# --- live ---------------------------------------------------------------------------------------


def test_a_support_is_pushed_to_the_topic_and_its_halls(
    w: dict[str, Any], django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from yishiting.web import delib_live, live

    sent: list[tuple[set[str], dict[str, Any]]] = []
    monkeypatch.setattr(live, "send", lambda groups, message: sent.append((groups, message)))
    topic = raise_topic(w)
    with django_capture_on_commit_callbacks(execute=True):
        d.do_support(topic, actor=w["users"][1])
    groups, message = sent[-1]
    assert f"topic.{topic.pk}" in groups and f"delib.{w['hall'].code}" in groups
    assert "hall.130500001" in groups  # the township's staff pages hear of it too
    assert message["kind"] == "delib" and message["verb"] == "support"
    # Only public deliberation groups may be watched by any page.
    assert delib_live.WATCHABLE.match("topic.5") and delib_live.WATCHABLE.match("delib.130500")
    assert not delib_live.WATCHABLE.match("hall.130500") and not delib_live.WATCHABLE.match("req.1")
