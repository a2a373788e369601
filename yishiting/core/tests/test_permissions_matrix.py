"""The permission matrix (PRODUCT.md §2): every role × every verb of API v1, every page and every
read, × a request in the role's own hall or department, one in a sibling township of the same
county, and one in another county.

`EXPECTED` is written from PRODUCT.md §2 and §3 (not from the code): for each scenario (a verb
on a request in the state where the verb is legal) the scopes in which each role may act. A role
left out may do it nowhere. Every cell is tried through HTTP; an allowed cell must succeed
(200), a refused one must answer 403 `forbidden` (401 for anonymous) and change nothing. A
mismatch fails naming its cells. docs/security.md gives the table in words.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from yishiting.api.models import ApiToken
from yishiting.orgs.models import Department, DutyShift, Hall, HallKind, Membership, Role, User
from yishiting.requests import actions as A
from yishiting.requests.models import Attachment, Event, Request
from yishiting.testing import County, png_bytes

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "resident",
    "liaison",
    "manager",
    "dispatcher",
    "department",
    "duty",
    "leader",
    "admin",
)
# Who plays each role (all of them belong to the test county 130500).
PLAYERS = {
    "resident": "resident1",
    "liaison": "liaison1",
    "manager": "manager1",
    "dispatcher": "dispatcher1",
    "department": "dept1",
    "duty": "duty1",
    "leader": "leader1",
    "admin": "admin",
}
SCOPES = ("own", "sibling", "other")
OWN, SIB, OTH = {"own"}, {"own", "sibling"}, set(SCOPES)

# --- the expected table -------------------------------------------------------------------
# scenario -> role -> scopes where the role may do it. `verb@where` names a scenario whose
# request sits somewhere else than the default for that verb.
EXPECTED: dict[str, dict[str, set[str]]] = {
    # local work in the village hall: its liaison, its township's manager (§2)
    "acknowledge": {"liaison": OWN, "manager": OWN},
    "start": {"liaison": OWN, "manager": OWN},
    "escalate": {"liaison": OWN, "manager": OWN},
    "hold@village": {"liaison": OWN, "manager": OWN},
    "resume@village": {"liaison": OWN, "manager": OWN},
    "extend@village": {"liaison": OWN, "manager": OWN},
    "resolve@village": {"liaison": OWN, "manager": OWN},
    # a manager approves extensions for local work, rejects, reviews a local 不满意
    "approve_extension@village": {"manager": OWN},
    "deny_extension@village": {"manager": OWN},
    "reject": {"manager": OWN},
    "review_rating@village": {"manager": OWN},
    "appeal@village": {"liaison": OWN, "manager": OWN},
    # merge: liaison / manager of the hall, or the county's dispatcher
    "merge": {"liaison": OWN, "manager": OWN, "dispatcher": SIB},
    # the county's assignment hall: its dispatchers, county-wide
    "acknowledge@county": {"dispatcher": SIB},
    "dispatch": {"dispatcher": SIB},
    "reject@county": {"dispatcher": SIB},
    "hand_down": {"dispatcher": SIB},
    "review_return": {"dispatcher": SIB},
    "waive_part": {"dispatcher": SIB},
    "approve_extension": {"dispatcher": SIB},
    "deny_extension": {"dispatcher": SIB},
    "review_rating": {"dispatcher": SIB},
    # the department the request is dispatched to (own = dept1's 住建局)
    "claim": {"department": OWN},
    "return": {"department": OWN},
    "hold": {"department": OWN},
    "resume": {"department": OWN},
    "extend": {"department": OWN},
    "resolve": {"department": OWN},
    "appeal": {"department": OWN},
    # an assisting department (协办) claims and posts its part; the lead may not post one
    "claim@part": {"department": OWN},
    "post_part": {"department": OWN},
    # the reporter
    "rate": {"resident": OWN},
    "reopen": {"resident": OWN},
    # supervision: leaders and dispatchers of the county, the duty officer on shift
    "supervise": {"leader": SIB, "dispatcher": SIB, "duty": SIB},
    # 转办: the duty officer on shift, or a dispatcher
    "forward": {"dispatcher": SIB, "duty": SIB},
    # 回访: the first hall (首接负责) or the dispatcher
    "visit": {"liaison": OWN, "manager": OWN, "dispatcher": SIB},
    # comments: everyone who sees the request's inside, and its followers (the reporter)
    "comment": {
        "resident": OWN,
        "liaison": OWN,
        "manager": OWN,
        "dispatcher": SIB,
        "duty": SIB,
        "leader": SIB,
        "admin": OTH,
    },
    "comment@internal": {
        "liaison": OWN,
        "manager": OWN,
        "dispatcher": SIB,
        "duty": SIB,
        "leader": SIB,
        "admin": OTH,
    },
    "comment@department": {
        "resident": OWN,
        "liaison": OWN,
        "manager": OWN,
        "dispatcher": SIB,
        "department": OWN,
        "duty": SIB,
        "leader": SIB,
        "admin": OTH,
    },
    # 我也遇到: anyone but the reporter
    "cosign": {
        "resident": {"sibling", "other"},
        **{role: OTH for role in ROLES if role not in ("anonymous", "resident")},
    },
}
# Verbs the API offers (every verb of §3 but the system's own: submit has its own endpoint).
API_VERBS = sorted(str(v) for v in A.VERB_ACTIONS)


def test_the_table_covers_every_verb() -> None:
    covered = {key.split("@")[0] for key in EXPECTED}
    assert covered == set(API_VERBS), set(API_VERBS) ^ covered
    for key, row in EXPECTED.items():
        assert set(row) <= set(ROLES) - {"anonymous"}, key
        assert all(scopes <= set(SCOPES) for scopes in row.values()), key


# --- the world: the test county plus a sibling township's manager and a second county ------


@dataclass
class Place:
    """Where a scenario's request lives, and the people who handle it there."""

    village: Hall
    reporter: User
    liaison: User
    manager: User
    dispatcher: User
    dept: str
    officer: User
    other_dept: str
    other_officer: User


def _user(username: str, name: str, phone: str = "") -> User:
    user = User(username=username, display_name=name, phone=phone)
    user.set_unusable_password()
    user.save()
    return user


def _member(
    user: User, role: Role, hall: Hall | None = None, dept: Department | None = None
) -> None:
    Membership.objects.create(user=user, role=role, hall=hall, department=dept)


@pytest.fixture
def places(county: County) -> dict[str, Place]:
    """own: 东关村 / 住建局 (the players' own); sibling: 西关村 (another township) / 供电公司
    (assisted requests led by 市政局); other: a second county with its own people."""
    manager2 = _user("manager2", "钱伟")
    _member(manager2, Role.MANAGER, county.township2)
    # the lead of the sibling's assisted request: a department none of the players works for
    Department.objects.create(code="shizheng", name="市政局", county=county.county)
    dept3 = _user("dept3", "郑强")
    _member(dept3, Role.DEPARTMENT, dept=Department.objects.get(code="shizheng"))
    b = Hall.objects.create(code="130600", name="乙县", kind=HallKind.COUNTY)
    bt = Hall.objects.create(code="130600001", name="乙镇", kind=HallKind.TOWNSHIP, parent=b)
    bv = Hall.objects.create(code="130600001001", name="乙村", kind=HallKind.VILLAGE, parent=bt)
    ba = Hall.objects.create(
        code="130600900", name="乙县交办厅", kind=HallKind.ASSIGNMENT, parent=b
    )
    bd1 = Department.objects.create(code="b-zhujian", name="乙县住建局", county=b)
    bd2 = Department.objects.create(code="b-gongdian", name="乙县供电", county=b)
    people = {
        "bres": _user("bres", "冯芳", "13700001111"),
        "bliaison": _user("bliaison", "卫东"),
        "bmanager": _user("bmanager", "蒋平"),
        "bdispatcher": _user("bdispatcher", "沈红"),
        "bdept1": _user("bdept1", "韩冰"),
        "bdept2": _user("bdept2", "杨帆"),
    }
    _member(people["bliaison"], Role.LIAISON, bv)
    _member(people["bmanager"], Role.MANAGER, bt)
    _member(people["bdispatcher"], Role.DISPATCHER, ba)
    _member(people["bdept1"], Role.DEPARTMENT, dept=bd1)
    _member(people["bdept2"], Role.DEPARTMENT, dept=bd2)
    # duty1 is on shift now (supervise and forward need a shift)
    now = timezone.now()
    DutyShift.objects.create(
        county=county.county,
        user=county["duty1"],
        starts_at=now - timedelta(hours=6),
        ends_at=now + timedelta(hours=6),
    )
    return {
        "own": Place(
            county.village,
            county["resident1"],
            county["liaison1"],
            county["manager1"],
            county["dispatcher1"],
            "zhujian",
            county["dept1"],
            "gongdian",
            county["dept2"],
        ),
        "sibling": Place(
            county.village3,
            county["resident2"],
            county["liaison3"],
            manager2,
            county["dispatcher1"],
            "gongdian",
            county["dept2"],
            "shizheng",
            dept3,
        ),
        "other": Place(
            bv,
            people["bres"],
            people["bliaison"],
            people["bmanager"],
            people["bdispatcher"],
            "b-zhujian",
            people["bdept1"],
            "b-gongdian",
            people["bdept2"],
        ),
    }


# --- building a request in the state a scenario needs ---------------------------------------


def _later(**delta: float) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


def submitted(p: Place) -> Request:
    return A.do_submit(
        actor=p.reporter,
        hall=p.village,
        text="路灯坏了，晚上看不见路",
        reporter_name=p.reporter.display_name,
        reporter_phone=p.reporter.phone,
    )


def acknowledged(p: Place) -> Request:
    return A.do_acknowledge(submitted(p), actor=p.liaison)


def in_progress(p: Place) -> Request:
    return A.do_start(acknowledged(p), actor=p.liaison)


def resolved_locally(p: Place) -> Request:
    return A.do_resolve(in_progress(p), actor=p.liaison, note="已修好")


def at_county(p: Place) -> Request:
    """Escalated by the village and its township: waiting in the assignment hall."""
    r = A.do_escalate(acknowledged(p), actor=p.liaison)
    r = A.do_acknowledge(r, actor=p.manager)
    return A.do_escalate(r, actor=p.manager)


def dispatched(p: Place) -> Request:
    return A.do_dispatch(at_county(p), actor=p.dispatcher, department=p.dept)


def claimed(p: Place) -> Request:
    return A.do_claim(dispatched(p), actor=p.officer)


def resolved(p: Place) -> Request:
    return A.do_resolve(claimed(p), actor=p.officer, note="已修复")


def with_part(p: Place) -> Request:
    """Led by the other department, with the place's department assisting."""
    return A.do_dispatch(
        at_county(p), actor=p.dispatcher, department=p.other_dept, assisting=[p.dept]
    )


def rated_bad(r: Request, p: Place) -> Request:
    return A.do_rate(r, actor=p.reporter, rating="dissatisfied", comment="没修好")


Setup = Callable[[Place], tuple[Request, dict[str, Any]]]


def _plain(build: Callable[[Place], Request], **body: Any) -> Setup:
    return lambda p: (build(p), dict(body))


def _merge(p: Place) -> tuple[Request, dict[str, Any]]:
    primary = submitted(p)
    return submitted(p), {"into": primary.pk, "note": "重复"}


def _dispatch(p: Place) -> tuple[Request, dict[str, Any]]:
    return at_county(p), {"department": p.dept}


def _hand_down(p: Place) -> tuple[Request, dict[str, Any]]:
    return at_county(p), {"hall": p.village.code, "reason": "村里能办"}


def _waive(p: Place) -> tuple[Request, dict[str, Any]]:
    return with_part(p), {"department": p.dept, "reason": "不需要协办"}


def _forward(p: Place) -> tuple[Request, dict[str, Any]]:
    return dispatched(p), {"to": p.dept, "note": "请尽快签收"}


def _returned(p: Place) -> tuple[Request, dict[str, Any]]:
    r = A.do_return(dispatched(p), actor=p.officer, reason="非本部门", reason_code="not_ours")
    return r, {"decision": "uphold", "reason": "属本部门职责"}


SETUPS: dict[str, Setup] = {
    "acknowledge": _plain(submitted),
    "start": _plain(acknowledged),
    "escalate": _plain(acknowledged, note="村里办不了"),
    "hold@village": _plain(in_progress, reason="等材料"),
    "resume@village": _plain(lambda p: A.do_hold(in_progress(p), actor=p.liaison, reason="等")),
    "extend@village": _plain(in_progress, until=_later(days=30), reason="工程量大"),
    "resolve@village": _plain(in_progress, note="已修好"),
    "approve_extension@village": _plain(
        lambda p: A.do_extend(
            in_progress(p), actor=p.liaison, until=timezone.now() + timedelta(days=30), reason="大"
        )
    ),
    "deny_extension@village": _plain(
        lambda p: A.do_extend(
            in_progress(p), actor=p.liaison, until=timezone.now() + timedelta(days=30), reason="大"
        )
    ),
    "reject": _plain(submitted, reason="不属于议事厅受理范围"),
    "review_rating@village": _plain(
        lambda p: rated_bad(resolved_locally(p), p), decision="redo", until=_later(days=3)
    ),
    "appeal@village": _plain(lambda p: rated_bad(resolved_locally(p), p), reason="诉求不合法"),
    "merge": _merge,
    "acknowledge@county": _plain(at_county),
    "dispatch": _dispatch,
    "reject@county": _plain(at_county, reason="不予受理"),
    "hand_down": _hand_down,
    "review_return": _returned,
    "waive_part": _waive,
    "approve_extension": _plain(
        lambda p: A.do_extend(
            claimed(p), actor=p.officer, until=timezone.now() + timedelta(days=30), reason="大"
        )
    ),
    "deny_extension": _plain(
        lambda p: A.do_extend(
            claimed(p), actor=p.officer, until=timezone.now() + timedelta(days=30), reason="大"
        )
    ),
    "review_rating": _plain(
        lambda p: rated_bad(resolved(p), p), decision="redo", until=_later(days=3)
    ),
    "claim": _plain(dispatched),
    "return": _plain(dispatched, reason="非本部门职责", reason_code="not_ours"),
    "hold": _plain(claimed, reason="等材料"),
    "resume": _plain(lambda p: A.do_hold(claimed(p), actor=p.officer, reason="等")),
    "extend": _plain(claimed, until=_later(days=30), reason="工程量大"),
    "resolve": _plain(claimed, note="已修复"),
    "appeal": _plain(lambda p: rated_bad(resolved(p), p), reason="诉求不合法"),
    "claim@part": _plain(with_part),
    "post_part": _plain(with_part, note="已配合断电"),
    "rate": _plain(resolved, rating="satisfied"),
    "reopen": _plain(resolved, reason="又坏了"),
    "supervise": _plain(dispatched, until=_later(hours=4), note="尽快"),
    "forward": _forward,
    "visit": _plain(resolved, rating="satisfied", channel="phone"),
    "comment": _plain(submitted, note="有进展吗"),
    "comment@internal": _plain(submitted, note="内部备注", public=False),
    "comment@department": _plain(claimed, note="有进展吗"),
    "cosign": _plain(submitted),
}


class Caller:
    """One person: logged in for pages, with a token for API v1; or a visitor."""

    def __init__(self, user: User | None):
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            self.headers["HTTP_AUTHORIZATION"] = f"Token {ApiToken.issue(user)[1]}"
            self.client.force_login(user)

    def verb(self, rid: int, verb: str, body: dict[str, Any]) -> Any:
        return self.client.post(
            f"/api/v1/requests/{rid}/{verb}",
            json.dumps(body),
            content_type="application/json",
            **self.headers,
        )

    def get(self, path: str) -> Any:
        return self.client.get(path, **self.headers)


@pytest.fixture
def callers(county: County, places: dict[str, Place]) -> dict[str, Caller]:
    out = {role: Caller(county[name]) for role, name in PLAYERS.items()}
    out["anonymous"] = Caller(None)
    return out


def _snapshot(rid: int) -> tuple[Any, ...]:
    r = Request.objects.get(pk=rid)
    return (
        r.version,
        r.status,
        r.hall_id,
        r.department_id,
        Event.objects.filter(request_id=rid).count(),
    )


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_verb_matrix(scenario: str, places: dict[str, Place], callers: dict[str, Caller]) -> None:
    verb = scenario.split("@")[0]
    setup = SETUPS[scenario]
    mismatches: list[str] = []
    for scope in SCOPES:
        place = places[scope]
        shared, body = setup(place)  # refused calls all try this one; allowed ones get their own
        before = _snapshot(shared.pk)
        for role in ROLES:
            allowed = scope in EXPECTED[scenario].get(role, set())
            req, data = setup(place) if allowed else (shared, body)
            response = callers[role].verb(req.pk, verb, data)
            cell = f"({scenario}, {role}, {scope})"
            if allowed:
                if response.status_code != 200:
                    mismatches.append(
                        f"{cell}: allowed, got {response.status_code} {response.content[:200]!r}"
                    )
                continue
            want = 401 if role == "anonymous" else 403
            if response.status_code != want:
                mismatches.append(
                    f"{cell}: refused, got {response.status_code} {response.content[:200]!r}"
                )
            elif role != "anonymous" and response.json()["error"]["code"] != "forbidden":
                mismatches.append(f"{cell}: refused with {response.json()}")
        if _snapshot(shared.pk) != before:
            mismatches.append(f"({scenario}, *, {scope}): a refused call changed the request")
    assert not mismatches, "\n".join(mismatches)


# --- pages and reads --------------------------------------------------------------------------

LOGGED_IN = {role for role in ROLES if role != "anonymous"}
DASHBOARD = {"leader", "dispatcher", "duty", "admin"}
# page -> roles that get it (200); the others get 403, or the log-in page when anonymous.
PAGES: dict[str, set[str]] = {
    "/w/": LOGGED_IN,
    "/inbox/": {"liaison", "manager"},
    "/capture/": {"liaison", "manager"},
    "/dispatch/": {"dispatcher"},
    "/dept/": {"department"},
    "/duty/": {"duty"},
    "/leader/": DASHBOARD,
    "/leader/requests/": DASHBOARD,
    "/leader/wall/": DASHBOARD,
    "/leader/figures/": DASHBOARD,
    "/leader/rankings/": DASHBOARD,
    "/messages/": LOGGED_IN,
    # public pages: everyone, visitors too
    "/": set(ROLES),
    "/my/": set(ROLES),
    "/follow/": set(ROLES),
    "/h/130500001001/": set(ROLES),
    "/h/130500001001/board/": set(ROLES),
    "/h/130600001001/board/": set(ROLES),
    "/h/130500001001/qr.svg": set(ROLES),
    "/accounts/login/": set(ROLES),
    # reads of API v1 (anonymous: 401)
    "/api/v1/me": LOGGED_IN,
    "/api/v1/halls": LOGGED_IN,
    "/api/v1/halls/130500001001": LOGGED_IN,
    "/api/v1/departments": LOGGED_IN,
    "/api/v1/categories": LOGGED_IN,
    "/api/v1/requests": LOGGED_IN,
    "/api/v1/policies": LOGGED_IN,
    "/api/v1/tokens": {"admin"},
    "/api/v1/requests.xlsx": LOGGED_IN,
    "/h/130500001001/similar/?text=路灯坏了": set(ROLES),
    "/api/v1/stats": DASHBOARD,
    "/open311/v2/services.json?jurisdiction_id=130500": set(ROLES),
    "/open311/v2/requests.json?jurisdiction_id=130500": set(ROLES),
    # the admin site: superusers only (others are sent to its log-in)
    "/admin/": {"admin"},
    "/admin/requests/event/": {"admin"},
}
# Drilling into a hall: (own township, other county) -> roles that get it.
DRILL: dict[str, dict[str, set[str]]] = {
    "/leader/?hall={}": {"own": DASHBOARD, "other": {"admin"}},
    "/leader/requests/?hall={}": {"own": DASHBOARD, "other": {"admin"}},
    "/api/v1/stats?scope=hall:{}": {"own": DASHBOARD | {"manager"}, "other": {"admin"}},
}
DRILL_HALLS = {"own": "130500001", "other": "130600001"}


def _refused(role: str, path: str, response: Any) -> bool:
    """A refusal as the interface gives it: 401 / log-in redirect for visitors, else 403."""
    if role == "anonymous":
        if path.startswith("/api/"):
            return response.status_code == 401
        return response.status_code == 302 and "login" in response["Location"]
    if path.startswith("/admin/"):
        return response.status_code == 302 and "/admin/login/" in response["Location"]
    return response.status_code == 403


def test_page_and_read_matrix(places: dict[str, Place], callers: dict[str, Caller]) -> None:
    submitted(places["own"])
    mismatches = []
    for path, allowed in PAGES.items():
        for role in ROLES:
            response = callers[role].get(path)
            if role in allowed:
                if response.status_code != 200:
                    mismatches.append(f"({path}, {role}): allowed, got {response.status_code}")
            elif not _refused(role, path, response):
                mismatches.append(f"({path}, {role}): refused, got {response.status_code}")
    for pattern, by_scope in DRILL.items():
        for scope, code in DRILL_HALLS.items():
            path = pattern.format(code)
            for role in ROLES:
                response = callers[role].get(path)
                if role in by_scope[scope]:
                    if response.status_code != 200:
                        mismatches.append(
                            f"({path}, {role}, {scope}): allowed, got {response.status_code}"
                        )
                elif not _refused(role, path, response):
                    mismatches.append(
                        f"({path}, {role}, {scope}): refused, got {response.status_code}"
                    )
    assert not mismatches, "\n".join(mismatches)


# Who sees a request's inside (the reporter's name and phone, internal notes) and finds it in
# their list: its handlers and the reporter (§2, §6). Everyone else reads the public view.
INSIDE: dict[str, dict[str, set[str]]] = {
    "submitted": {
        "resident": OWN,
        "liaison": OWN,
        "manager": OWN,
        "dispatcher": SIB,
        "duty": SIB,
        "leader": SIB,
        "admin": OTH,
    },
    "dispatched": {
        "resident": OWN,
        "liaison": OWN,
        "manager": OWN,
        "dispatcher": SIB,
        "department": OWN,
        "duty": SIB,
        "leader": SIB,
        "admin": OTH,
    },
}


@pytest.mark.parametrize("stage", sorted(INSIDE))
def test_who_sees_the_inside(
    stage: str, places: dict[str, Place], callers: dict[str, Caller]
) -> None:
    build = {"submitted": submitted, "dispatched": dispatched}[stage]
    mismatches = []
    for scope in SCOPES:
        p = places[scope]
        r = build(p)
        photo = io.BytesIO(png_bytes())
        photo.name = "inside.png"
        A.do_comment(
            r.pk,
            actor=p.liaison if stage == "submitted" else p.dispatcher,
            note="内部：电工老李明天到",
            public=False,
            photos=[photo],
        )
        internal = Attachment.objects.filter(request_id=r.pk).latest("id").pk
        personal = (p.reporter.phone, p.reporter.display_name)
        note = "电工老李"
        for role in ROLES:
            inside = scope in INSIDE[stage].get(role, set())
            caller = callers[role]
            reads = {
                "api": caller.get(f"/api/v1/requests/{r.pk}"),
                "events": caller.get(f"/api/v1/requests/{r.pk}/events"),
                "page": caller.get(f"/r/{r.pk}/"),
            }
            for where, response in reads.items():
                if role == "anonymous" and where != "page":
                    if response.status_code != 401:
                        mismatches.append(
                            f"({stage}, {role}, {scope}, {where}): got {response.status_code}"
                        )
                    continue
                if response.status_code != 200:
                    mismatches.append(
                        f"({stage}, {role}, {scope}, {where}): got {response.status_code}"
                    )
                    continue
                text = response.content.decode()
                if where != "page":  # JSON escapes non-ASCII
                    text = json.dumps(response.json(), ensure_ascii=False)
                # the detail shows the reporter, the timeline the internal note, the page both;
                # the reporter sees their own data but not the handlers' internal notes
                wanted = {"api": personal, "events": (note,), "page": (*personal, note)}[where]
                if role == "resident":
                    wanted = tuple(w for w in wanted if w != note)
                found = [s for s in (*personal, note) if s in text]
                if inside and not set(wanted) <= set(found):
                    mismatches.append(
                        f"({stage}, {role}, {scope}, {where}): inside, missing "
                        f"{set(wanted) - set(found)}"
                    )
                elif inside and role == "resident" and note in found:
                    mismatches.append(
                        f"({stage}, {role}, {scope}, {where}): the reporter sees an internal note"
                    )
                if not inside and found:
                    mismatches.append(
                        f"({stage}, {role}, {scope}, {where}): outside, shows {found}"
                    )
            # the internal comment's photo: handlers only (the reporter too is refused)
            sees_photo = inside and role != "resident"
            for path in (f"/photos/{internal}", f"/api/v1/attachments/{internal}"):
                got = caller.get(path).status_code
                want = (
                    200 if sees_photo else (401 if role == "anonymous" and "api" in path else 404)
                )
                if got != want:
                    mismatches.append(f"({stage}, {role}, {scope}, {path}): got {got}, want {want}")
            if role != "anonymous":
                listed = r.pk in [
                    x["id"] for x in caller.get("/api/v1/requests?page_size=100").json()["results"]
                ]
                if listed != inside:
                    mismatches.append(f"({stage}, {role}, {scope}, list): listed={listed}")
    assert not mismatches, "\n".join(mismatches)
