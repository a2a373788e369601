"""The demo's deliberation (§9): the e-bike charging story as a finished project with its whole
trail in a compound of 东关镇, and topics in every stage in 东关村 (liaison1's village).

Everything goes through `deliberation.actions.do_*` (and the request engine's actions for the
department's part) with explicit `now=` times in the past, as the rest of the demo does.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from yishiting.deliberation import actions as d
from yishiting.deliberation.models import Household, Meeting, Resident, Topic
from yishiting.orgs.models import Hall, HallKind
from yishiting.orgs.scope import Actor
from yishiting.requests import actions as A

PhotoMaker = Callable[[str], io.BytesIO]
# Requests the deliberation adds to the demo's `requests` (the e-bike project's, to 供电公司).
REQUESTS = 1


def register(
    hall: Hall,
    accounts: Sequence[Actor],
    *,
    households: int,
    per_household: int = 2,
    representatives: int = 0,
    committee: int = 0,
    names: Callable[[int], str] | None = None,
) -> list[Resident]:
    """A hall's register: households of adults, the first adult of each linked to `accounts`
    in turn (then the second ones); in that order the first `committee` are 两委 members and
    the next `representatives` representatives."""
    Household.objects.bulk_create(
        [
            Household(hall=hall, number=f"{i + 1:03d}", head=names(i) if names else f"户主{i + 1}")
            for i in range(households)
        ]
    )
    homes = list(Household.objects.filter(hall=hall).order_by("number"))
    # Accounts go to the first adult of each household, then to the second ones.
    slots = [(i, k) for k in range(per_household) for i in range(len(homes))]
    account_of = {slot: accounts[n].user for n, slot in enumerate(slots[: len(accounts)])}
    rank = {slot: n for n, slot in enumerate(slots)}  # roles go in the same order
    rows = []
    for i, home in enumerate(homes):
        for k in range(per_household):
            n = rank[(i, k)]
            user = account_of.get((i, k))
            name = (user.display_name if user else "") or f"{home.head}{'家' if k else ''}{k + 1}"
            rows.append(
                Resident(
                    hall=hall,
                    household=home,
                    name=name,
                    user=user,
                    committee=n < committee,
                    representative=committee <= n < committee + representatives,
                    party_member=n < committee,
                )
            )
    Resident.objects.bulk_create(rows)
    return list(Resident.objects.filter(hall=hall).order_by("id"))


def _evening(day: datetime, hour: int = 19, minute: int = 30) -> datetime:
    return timezone.localtime(day).replace(hour=hour, minute=minute, second=0, microsecond=0)


def _meeting_through(
    meeting: Meeting,
    officer: Actor,
    voters: Sequence[Actor],
    *,
    starts: datetime,
    notified: datetime,
    yes: int,
    no: int,
    paper: Sequence[tuple[Resident, str]] = (),
    photo: PhotoMaker | None = None,
    resolution: str = "",
    dissent: str = "",
) -> Meeting:
    """Agenda, notice, session, votes (online, then a paper sheet), close."""
    d.do_agenda(meeting, actor=officer, starts_at=starts, now=notified - timedelta(minutes=10))
    d.do_notify(meeting, actor=officer, now=notified)
    d.do_open(meeting, actor=officer, now=starts)
    t = starts + timedelta(minutes=5)
    for i, voter in enumerate(voters[: yes + no]):
        d.do_vote(meeting, actor=voter, choice="yes" if i < yes else "no", now=t)
        t += timedelta(seconds=40)
    if paper and photo is not None:
        ballots = [{"resident": r.pk, "choice": c} for r, c in paper]
        d.do_tally(meeting, actor=officer, ballots=ballots, photo=photo("sheet.jpg"), now=t)
    return d.do_close(
        meeting,
        actor=officer,
        resolution=resolution,
        dissent=dissent,
        now=starts + timedelta(hours=1, minutes=30),
    )


def ebike_story(
    compound: Hall,
    *,
    liaison: Actor,
    manager: Actor,
    dispatcher: Actor,
    officer: Actor,
    residents: Sequence[Actor],
    photo: PhotoMaker,
    start: datetime,
) -> dict[str, Any]:
    """The seed's lead story, done: topic → supports cross 1/5 of households → compelled
    meeting convened and voted → published → project → 供电 request resolved with a photo →
    acceptance passed → done → results published. `residents` are on the compound's register
    (one per household first)."""
    t = start
    topic = d.do_raise_topic(
        actor=residents[0],
        hall=compound,
        title="楼道电动车充电隐患，建议建集中充电桩",
        text=(
            "不少邻居把电动车推进楼道充电，晚上还从窗口拉飞线，一旦起火后果不堪设想。"
            "建议在小区东门空地建集中充电棚，装10个智能充电桩，按度计费。"
        ),
        photos=[photo("stairwell.jpg")],
        now=t,
    )
    comments = [
        ("for", "同意！上个月3号楼就差点出事。"),
        ("for", "建议装上遮雨棚，老人下雨天也能充。"),
        ("against", "东门空地是孩子们玩的地方，能不能换个位置？"),
        ("neutral", "费用谁出？按度计费多少钱一度？"),
    ]
    for i, (stance, text) in enumerate(comments, start=1):
        d.do_comment(
            topic, actor=residents[i], text=text, stance=stance, now=t + timedelta(hours=i)
        )
    d.do_comment(
        topic,
        actor=liaison,
        text="已问过供电公司，接电需报县里派单；社区可出一半费用。",
        public=False,
        now=t + timedelta(hours=6),
    )
    meeting = None
    for i, r in enumerate(residents[:10]):
        _t, compelled = d.do_support(topic, actor=r, now=t + timedelta(hours=8, minutes=20 * i))
        meeting = meeting or compelled
    assert meeting is not None, "support did not compel the meeting"
    day = t + timedelta(days=2)
    starts = _evening(day + timedelta(days=2))
    meeting = d.do_agenda(
        meeting,
        actor=liaison,
        starts_at=starts,
        place="小区议事亭",
        preread="选址：东门空地北侧（不占儿童活动区）。10个智能充电桩，预算1.2万元，社区出一半，"
        "其余按0.6元/度收回。供电公司负责接电增容。",
        motion="在东门空地北侧建集中充电棚，装10个智能充电桩",
        now=day,
    )
    registered = list(Resident.objects.filter(hall=compound, user__isnull=True).order_by("id"))
    closed = _meeting_through(
        meeting,
        liaison,
        residents,
        starts=starts,
        notified=day + timedelta(hours=1),
        yes=len(residents) - 3,
        no=3,
        paper=[(r, "yes" if k < 10 else "abstain") for k, r in enumerate(registered[:12])],
        photo=photo,
        resolution="在东门空地北侧建集中充电棚，装10个智能充电桩，一周内完成",
        dissent="3户担心充电噪音和占用空地",
    )
    assert closed.closed_at is not None
    published: datetime = closed.closed_at + timedelta(hours=14)
    d.do_publish(closed, actor=liaison, note="决议已张贴在公开栏并发到小区群", now=published)
    t = published + timedelta(hours=2)
    project = d.do_create_project(
        actor=liaison, meeting=closed.pk, title="幸福家园集中充电桩", now=t
    )
    site = d.do_add_milestone(
        project,
        actor=liaison,
        title="充电棚基础和遮雨棚",
        cost="3800",
        now=t + timedelta(minutes=5),
    )
    piles = d.do_add_milestone(
        project,
        actor=liaison,
        title="安装10个智能充电桩",
        cost="8200",
        now=t + timedelta(minutes=6),
    )
    req = d.do_add_request(
        project,
        actor=liaison,
        title="充电桩接电增容",
        text="小区东门集中充电桩（10个）需要供电公司接电增容，已经居民会议决议。",
        now=t + timedelta(minutes=10),
    )
    u = t + timedelta(minutes=12)
    req = A.do_escalate(req, actor=liaison, note="需供电公司接电", now=u)
    for k in range(2):  # community → township → the county's assignment hall
        req = A.do_acknowledge(req, actor=manager, now=u + timedelta(minutes=3 + 10 * k))
        req = A.do_escalate(
            req, actor=manager, note="报县交办", now=u + timedelta(minutes=5 + 10 * k)
        )
    u += timedelta(hours=1)
    req = A.do_dispatch(req, actor=dispatcher, department="gongdian", now=u)
    req = A.do_claim(req, actor=officer, now=u + timedelta(minutes=20))
    d.do_complete_milestone(
        project,
        actor=liaison,
        milestone=site.pk,
        photos=[photo("shed.jpg")],
        note="基础浇筑完成，遮雨棚已搭好",
        now=t + timedelta(days=2),
    )
    A.do_resolve(
        req,
        actor=officer,
        note="已完成接电增容，新装电表一块",
        photos=[photo("meter.jpg")],
        now=t + timedelta(days=3),
    )
    d.do_complete_milestone(
        project,
        actor=liaison,
        milestone=piles.pk,
        photos=[photo("piles.jpg"), photo("piles2.jpg")],
        cost="8150",
        note="10个充电桩安装调试完毕，扫码充电",
        now=t + timedelta(days=5),
    )
    v = _evening(t + timedelta(days=6))
    vote = d.do_start_acceptance(project, actor=liaison, now=v)
    for i, r in enumerate(residents):
        d.do_vote(
            vote,
            actor=r,
            choice="yes" if i < len(residents) - 2 else "no",
            now=v + timedelta(minutes=i),
        )
    d.do_close(vote, actor=liaison, resolution="验收通过", now=v + timedelta(days=1))
    d.do_publish_results(
        project.pk,  # the acceptance vote moved it: load it afresh
        actor=liaison,
        note="充电桩已投用：费用11950元，社区出5975元，其余按度收回",
        now=v + timedelta(days=1, hours=3),
    )
    return {"topic": topic.pk, "meeting": closed.pk, "project": project.pk, "request": req.pk}


def village_stages(
    village: Hall,
    *,
    liaison: Actor,
    residents: Sequence[Actor],
    photo: PhotoMaker,
    now: datetime,
) -> dict[str, int]:
    """Topics in every stage in a village (村民代表会议 by representatives): discussed, compelled
    and late, scheduled, not adopted, withdrawn, and a project whose acceptance failed."""
    out: dict[str, int] = {}

    def topic(who: int, title: str, text: str, at: datetime) -> Topic:
        return d.do_raise_topic(actor=residents[who], hall=village, title=title, text=text, now=at)

    # Discussed: some support, below the threshold.
    t = topic(0, "村口加装减速带", "村口大车多、速度快，孩子上学不安全，建议加装减速带和警示牌。",
              now - timedelta(days=5))  # fmt: skip
    d.do_comment(t, actor=residents[1], text="支持，早该装了", stance="for",
                 now=now - timedelta(days=4))  # fmt: skip
    d.do_support(t, actor=residents[1], now=now - timedelta(days=4))
    out["open"] = t.pk
    # Compelled, and the committee missed the convene deadline: late to the township.
    t = topic(2, "重修村西排水沟", "村西排水沟堵了两年，一下雨就淹到院子里。",
              now - timedelta(days=40))  # fmt: skip
    meeting = None
    for k in range(2, 6):
        _t, m = d.do_support(t, actor=residents[k], now=now - timedelta(days=39, hours=-k))
        meeting = meeting or m
    if meeting is not None and meeting.convene_by is not None:
        d.do_late(meeting, due_at=meeting.convene_by, now=meeting.convene_by + timedelta(minutes=1))
    out["compelled"] = t.pk
    # Scheduled: a meeting notified for the coming week.
    t = topic(
        3, "文化广场安装健身器材", "广场有地方，老人想要一些健身器材。", now - timedelta(days=3)
    )
    m = d.do_create_meeting(
        actor=liaison, hall=village, title="村民代表会议：健身器材", topics=[t.pk],
        starts_at=_evening(now + timedelta(days=5)), place="村委会会议室",
        preread="拟向县体育局申请一套健身路径（8件）。", now=now - timedelta(days=2),
    )  # fmt: skip
    d.do_notify(m, actor=liaison, now=now - timedelta(days=2) + timedelta(minutes=5))
    out["scheduled"] = t.pk
    # Not adopted: the vote failed.
    t = topic(4, "村集体出资硬化入户路", "每户门口的路都硬化一遍。", now - timedelta(days=30))
    m = d.do_create_meeting(
        actor=liaison, hall=village, title="村民代表会议：入户路硬化", topics=[t.pk],
        starts_at=_evening(now - timedelta(days=25)), now=now - timedelta(days=28),
    )  # fmt: skip
    _meeting_through(m, liaison, residents, starts=m.starts_at,
                     notified=now - timedelta(days=27), yes=3, no=5,
                     resolution="资金不足，暂缓", dissent="部分代表希望分期实施")  # fmt: skip
    d.do_publish(m, actor=liaison, now=m.starts_at + timedelta(hours=20))
    out["not_adopted"] = t.pk
    # Withdrawn by whoever raised it.
    t = topic(5, "换村口路灯", "村口路灯不亮。", now - timedelta(days=20))
    d.do_withdraw_topic(t, actor=residents[5], note="已通过诉求解决", now=now - timedelta(days=19))
    out["withdrawn"] = t.pk
    # Adopted, built, acceptance failed: the project goes on.
    t = topic(
        6, "村委会门前安装路灯", "村委会门前晚上漆黑，开会回家看不见路。", now - timedelta(days=20)
    )
    m = d.do_create_meeting(
        actor=liaison, hall=village, title="村民代表会议：村委会门前路灯", topics=[t.pk],
        starts_at=_evening(now - timedelta(days=17)), now=now - timedelta(days=19),
    )  # fmt: skip
    _meeting_through(m, liaison, residents, starts=m.starts_at,
                     notified=now - timedelta(days=18), yes=8, no=1,
                     resolution="安装太阳能路灯4盏")  # fmt: skip
    d.do_publish(m, actor=liaison, now=m.starts_at + timedelta(hours=3))
    project = d.do_create_project(actor=liaison, meeting=m.pk, now=m.starts_at + timedelta(hours=4))
    step = d.do_add_milestone(project, actor=liaison, title="安装太阳能路灯4盏", cost="6400",
                              now=m.starts_at + timedelta(hours=5))  # fmt: skip
    d.do_complete_milestone(project, actor=liaison, milestone=step.pk, photos=[photo("lamp.jpg")],
                            now=now - timedelta(days=8))  # fmt: skip
    vote = d.do_start_acceptance(project, actor=liaison, now=now - timedelta(days=7))
    for i, r in enumerate(residents[:9]):
        d.do_vote(vote, actor=r, choice="no" if i < 6 else "yes",
                  now=now - timedelta(days=7, minutes=-i))  # fmt: skip
    d.do_close(vote, actor=liaison, resolution="两盏灯晚上不亮，整改后再验收",
               now=now - timedelta(days=6))  # fmt: skip
    out["reopened_project"] = project.pk
    # 四议两公开 of a major matter, four steps in.
    matter = d.do_create_matter(actor=liaison, hall=village, title="村集体土地流转",
                                now=now - timedelta(days=30))  # fmt: skip
    steps = [("branch_proposal", 5), ("committees_discuss", 7), ("party_review", 21),
             ("villagers_resolve", 11)]  # fmt: skip
    for k, (code, people) in enumerate(steps):
        d.do_record_step(
            matter, actor=liaison, step=code,
            held_on=timezone.localdate(now - timedelta(days=28 - 5 * k)), attendance=people,
            signatures=[r.user.display_name for r in residents[:people]][:people] or ["村委会"],
            now=now - timedelta(days=28 - 5 * k),
        )  # fmt: skip
    out["matter"] = matter.pk
    return out


def _head(org: Any) -> Callable[[int], str]:
    """Household heads' names: made-up, the same each run."""
    import random

    from yishiting.demo import texts

    rng = random.Random(9)
    return lambda i: texts.person_name(rng)


def seed(org: Any, now: datetime, photo: PhotoMaker) -> dict[str, Any]:
    """The demo county's deliberation: registers, the e-bike story, the village's stages."""
    township = org.townships[0]
    compound = next(c for c in org.compounds if c.path.startswith(township.path))
    village = org.villages[0]
    assert village.kind == HallKind.VILLAGE
    liaison = org.liaisons[compound.pk][0]
    manager = org.managers[township.pk][0]
    dispatcher = org.dispatchers[0]
    officer = org.officers["gongdian"][0]
    people = [r for r in org.residents[50:100]]
    register(compound, people[:30], households=40, per_household=2, names=_head(org))
    compound_people = people[:30]  # one verified adult in each of the first 30 households
    story = ebike_story(
        compound,
        liaison=liaison,
        manager=manager,
        dispatcher=dispatcher,
        officer=officer,
        residents=compound_people,
        photo=photo,
        start=now - timedelta(days=60),
    )
    villagers = [org.residents[0], *org.residents[1:14]]  # resident1 and 东关镇 neighbours
    register(
        village,
        villagers,
        households=60,
        per_household=2,
        representatives=9,
        committee=3,
        names=_head(org),
    )
    stages = village_stages(
        village, liaison=org.liaisons[village.pk][0], residents=villagers, photo=photo, now=now
    )
    return {
        "ebike": story,
        "village": stages,
        "compound": compound.code,
        "village_code": village.code,
    }
