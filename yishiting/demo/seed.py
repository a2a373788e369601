"""The demo county of PRODUCT.md §8: a Longyao-sized county and a year of requests.

`seed_demo()` builds the org tree in bulk (437 halls, about 1,300 people sharing one password
hash), then plays a year of requests through the actions (`do_submit`, `do_acknowledge`, …)
with each step's own time, and lets the deadline sweep act on every clock that runs out on
the way, exactly as it would have live. Every request therefore has its proper events and
deadlines, and replaying its events gives its state.

The last requests are "showcase" ones stopped in every open state, in the halls and
departments of the demo accounts, so that each login has something to do.

Everything runs in one transaction: a seed either happens completely or not at all, and a
second run finds the county (by its code) and does nothing.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import random
import time as _time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from yishiting.core.errors import ActionError
from yishiting.demo import deliberation
from yishiting.demo import texts as T
from yishiting.notify import outbox
from yishiting.orgs.models import (
    Category,
    ClockPolicy,
    Department,
    DutyShift,
    Hall,
    HallKind,
    Membership,
    Priority,
    Role,
    User,
    calendar_overrides,
)
from yishiting.orgs.scope import Actor
from yishiting.requests import actions as A
from yishiting.requests import clocks, sweep
from yishiting.requests.clocks import LOCAL_TZ, Basis
from yishiting.requests.models import Attachment, Channel, Event, Request
from yishiting.requests.states import OPEN, State
from yishiting.stats import rollups

DEMO_COUNTY_CODE = "130599"
DEMO_PASSWORD = "demo12345"
# The accounts PRODUCT.md §8 names (core.views.DEMO_LOGINS says what each one is).
DEMO_ACCOUNTS = (
    "resident1",
    "liaison1",
    "manager1",
    "dispatcher1",
    "dept1",
    "dept2",
    "duty1",
    "leader1",
    "admin",
)

MINUTE = 60
HOUR = 3600
DAY = 86400

# (code, name, working hours)
DEPARTMENTS = [
    ("zhujian", "县住房和城乡建设局", "08:30-12:00,13:30-17:30"),
    ("jiaotong", "县交通运输局", "08:30-12:00,13:30-17:30"),
    ("gongdian", "县供电公司", "08:00-12:00,13:00-18:00"),
    ("minzheng", "县民政局", "08:30-12:00,13:30-17:30"),
    ("jiaojing", "县公安局交通警察大队", "08:00-12:00,14:00-18:00"),
    ("huanwei", "县环境卫生服务中心", "08:00-12:00,13:30-17:30"),
    ("shizheng", "县市政工程管理处", "08:30-12:00,13:30-17:30"),
    ("shuiwu", "县水务局", "08:30-12:00,13:30-17:30"),
    ("chengguan", "县城市管理综合行政执法局", "08:30-12:00,13:30-17:30"),
    ("jiaoyu", "县教育局", "08:30-12:00,13:30-17:30"),
    ("weijian", "县卫生健康局", "08:30-12:00,13:30-17:30"),
]


@dataclass(frozen=True)
class Cat:
    """A demo category: its department and defaults, how often it comes up in each kind of
    hall (village, community, compound), and where it usually gets fixed (local, the parent
    hall, a department)."""

    code: str
    name: str
    dept: str | None
    on_site: bool
    priority: str
    keywords: str
    weights: tuple[float, float, float]
    route: tuple[float, float, float]
    months: tuple[int, ...] = ()


CATEGORIES = [
    Cat(
        "streetlight",
        "路灯照明",
        "zhujian",
        True,
        "normal",
        "路灯 灯不亮 照明",
        (3, 2, 3),
        (0.35, 0.15, 0.5),
    ),
    Cat(
        "road",
        "道路破损",
        "jiaotong",
        True,
        "normal",
        "路面 坑 破损 塌陷",
        (4, 1, 1),
        (0.2, 0.2, 0.6),
    ),
    Cat(
        "guardrail",
        "护栏及交通设施损坏",
        "jiaotong",
        True,
        "urgent",
        "护栏 标志牌 减速带",
        (1, 1, 0),
        (0.1, 0, 0.9),
    ),
    Cat(
        "power",
        "停电及电力故障",
        "gongdian",
        True,
        "urgent",
        "停电 跳闸 电压 变压器",
        (3, 1, 2),
        (0.1, 0, 0.9),
    ),
    Cat(
        "wire",
        "电力线路隐患",
        "gongdian",
        True,
        "urgent",
        "电线 电杆 私拉乱接",
        (2, 1, 1),
        (0.2, 0, 0.8),
    ),
    Cat(
        "water",
        "供水问题",
        "shuiwu",
        True,
        "urgent",
        "停水 水压 水质 漏水",
        (2, 1, 2),
        (0.3, 0.1, 0.6),
    ),
    Cat(
        "sewage",
        "污水外溢及管道堵塞",
        "shizheng",
        True,
        "urgent",
        "污水 下水道 化粪池 返水",
        (1, 2, 3),
        (0.4, 0.1, 0.5),
    ),
    Cat(
        "drainage",
        "道路积水",
        "shizheng",
        True,
        "urgent",
        "积水 排水 雨水",
        (2, 2, 1),
        (0.3, 0.2, 0.5),
        (6, 7, 8),
    ),
    Cat(
        "garbage",
        "垃圾清运",
        "huanwei",
        True,
        "normal",
        "垃圾 垃圾桶 清运 满溢",
        (4, 2, 3),
        (0.6, 0.1, 0.3),
    ),
    Cat(
        "sanitation",
        "环境卫生",
        "huanwei",
        True,
        "normal",
        "卫生 乱倒 杂物 公厕",
        (3, 1, 0.5),
        (0.6, 0.2, 0.2),
    ),
    Cat(
        "ebike",
        "电动车充电",
        "zhujian",
        True,
        "normal",
        "电动车 充电 楼道 飞线 充电桩",
        (0, 0.5, 3),
        (0.3, 0.45, 0.25),
    ),
    Cat(
        "property",
        "物业服务",
        "zhujian",
        False,
        "normal",
        "物业 电梯 门禁",
        (0, 0.5, 3),
        (0.5, 0.3, 0.2),
    ),
    Cat(
        "heating",
        "供暖问题",
        "zhujian",
        False,
        "urgent",
        "暖气 供暖 不热",
        (0, 1, 3),
        (0.2, 0, 0.8),
        (11, 12, 1, 2, 3),
    ),
    Cat(
        "appearance",
        "市容秩序",
        "chengguan",
        True,
        "normal",
        "占道 摊贩 广告 乱堆乱放",
        (1, 2, 1),
        (0.3, 0, 0.7),
    ),
    Cat(
        "illegal_build",
        "违法建设",
        "chengguan",
        True,
        "complex",
        "违建 私搭乱建 彩钢房",
        (1, 1, 1),
        (0, 0.4, 0.6),
    ),
    Cat(
        "noise",
        "噪音扰民",
        "chengguan",
        False,
        "normal",
        "噪音 扰民 广场舞 夜间施工",
        (0.5, 1, 2),
        (0.5, 0, 0.5),
    ),
    Cat(
        "traffic",
        "交通秩序",
        "jiaojing",
        False,
        "normal",
        "乱停车 拥堵 大货车",
        (1, 2, 1),
        (0.2, 0, 0.8),
    ),
    Cat(
        "signal",
        "信号灯及标线",
        "jiaojing",
        True,
        "normal",
        "红绿灯 信号灯 斑马线",
        (0.3, 1, 0.3),
        (0, 0, 1),
    ),
    Cat(
        "welfare",
        "民政救助",
        "minzheng",
        False,
        "normal",
        "低保 救助 残疾 高龄补贴",
        (2, 1, 0.5),
        (0.3, 0.4, 0.3),
    ),
    Cat(
        "school",
        "教育服务",
        "jiaoyu",
        False,
        "normal",
        "学校 上学 校车 入学",
        (1, 1, 0.5),
        (0, 0.3, 0.7),
    ),
    Cat(
        "health",
        "医疗卫生",
        "weijian",
        False,
        "normal",
        "卫生室 医生 疫苗 医保",
        (1, 1, 0.3),
        (0, 0.4, 0.6),
    ),
    Cat(
        "greening",
        "园林绿化",
        "shizheng",
        True,
        "normal",
        "树木 枯枝 绿化带",
        (1, 1, 1.5),
        (0.4, 0, 0.6),
    ),
    Cat(
        "neighbour",
        "邻里纠纷",
        None,
        False,
        "normal",
        "邻里 纠纷 矛盾 调解",
        (1.5, 0.5, 1),
        (0.7, 0.3, 0),
    ),
]
CATS = {c.code: c for c in CATEGORIES}
# Which department a dispatcher might wrongly pick instead (for returns, 退单).
CONFUSED_WITH = {
    "zhujian": ["shizheng", "chengguan"],
    "jiaotong": ["shizheng", "zhujian"],
    "gongdian": ["zhujian", "shizheng"],
    "shizheng": ["zhujian", "shuiwu"],
    "shuiwu": ["shizheng", "zhujian"],
    "huanwei": ["chengguan", "shizheng"],
    "chengguan": ["zhujian", "huanwei"],
    "jiaojing": ["jiaotong", "chengguan"],
    "minzheng": ["weijian"],
    "jiaoyu": ["jiaojing"],
    "weijian": ["minzheng"],
}

# Who assists whom (主办/协办, §3.1): candidates for the assisting department, in order.
ASSIST_WITH = {
    "zhujian": ["gongdian", "shizheng"],
    "jiaotong": ["jiaojing", "shizheng"],
    "gongdian": ["zhujian", "shizheng"],
    "shizheng": ["gongdian", "shuiwu"],
    "shuiwu": ["shizheng", "zhujian"],
    "huanwei": ["chengguan", "shizheng"],
    "chengguan": ["huanwei", "zhujian"],
    "jiaojing": ["jiaotong", "chengguan"],
    "minzheng": ["weijian", "jiaoyu"],
    "jiaoyu": ["jiaojing", "weijian"],
    "weijian": ["minzheng", "jiaoyu"],
}

# §4 defaults, one row per priority: (resolution seconds, basis).
POLICY_DEFAULTS = {
    Priority.URGENT: (DAY, Basis.CALENDAR),
    Priority.NORMAL: (3 * DAY, Basis.WORKING_DAYS),
    Priority.COMPLEX: (15 * DAY, Basis.WORKING_DAYS),
}

# How far up the tree a hall sits, for "climb until".
RANK: dict[str, int] = {
    HallKind.COMPOUND: 0,
    HallKind.VILLAGE: 1,
    HallKind.COMMUNITY: 1,
    HallKind.SCHOOL_CLASS: 1,
    HallKind.MARKET: 1,
    HallKind.TOWNSHIP: 2,
    HallKind.COUNTY: 3,
    HallKind.ASSIGNMENT: 3,
}
# How often each kind of hall raises a request, and its column in Cat.weights.
HALL_WEIGHT: dict[str, float] = {"village": 1.0, "community": 1.5, "compound": 1.2}
CATEGORY_COLUMN: dict[str, int] = {"village": 0, "community": 1, "compound": 2}
# Hourly weights of when residents write (0 h … 23 h).
HOUR_WEIGHTS = [1, 0.5, 0.3, 0.3, 0.5, 1, 3, 6, 9, 9, 8, 7, 5, 5, 7, 7, 7, 6, 6, 7, 6, 4, 3, 2]


class Stop(Exception):
    """A request's story reached `now` (or its showcase state): leave it where it is."""


# --- the org tree ------------------------------------------------------------------------------


@dataclass
class Org:
    """The seeded county, with every person as a ready Actor (memberships loaded once)."""

    county: Hall
    assignment: Hall
    halls: dict[int, Hall]
    townships: list[Hall]
    villages: list[Hall]
    communities: list[Hall]
    compounds: list[Hall]
    departments: dict[str, Department]
    categories: dict[str, Category]
    liaisons: dict[int, list[Actor]]
    managers: dict[int, list[Actor]]
    leaders: dict[int, list[Actor]]
    dispatchers: list[Actor]
    officers: dict[str, list[Actor]]
    residents: list[Actor]
    home: dict[int, list[Actor]]
    actors: dict[str, Actor]
    shifts: list[tuple[datetime, datetime, Actor]]


def _path(parent: Hall | None, code: str) -> str:
    return (parent.path if parent else "/") + code + "/"


def _halls(parent: Hall | None, rows: Sequence[tuple[str, str, str]]) -> list[Hall]:
    """Bulk-create halls under one parent (bulk_create skips save(), so set path here)."""
    halls = [
        Hall(code=code, name=name, kind=kind, parent=parent, path=_path(parent, code))
        for code, name, kind in rows
    ]
    return Hall.objects.bulk_create(halls)


def _township_code(index: int, name: str, street: bool) -> str:
    # Township codes: 街道 0xx, 镇 1xx, 乡 2xx, as county statistics codes run.
    base = 0 if street else (100 if name.endswith("镇") else 200)
    return f"{DEMO_COUNTY_CODE}{base + index:03d}"


def build_org(rng: random.Random, now: datetime) -> Org:
    """Create the county's halls, departments, categories, clock policies, people and roster."""
    county = _halls(None, [(DEMO_COUNTY_CODE, T.COUNTY_NAME, HallKind.COUNTY)])[0]
    assignment = _halls(
        county, [(f"{DEMO_COUNTY_CODE}900", T.ASSIGNMENT_NAME, HallKind.ASSIGNMENT)]
    )[0]
    township_rows = [
        (_township_code(i, name, street), name, HallKind.TOWNSHIP)
        for i, (name, street, _v, _c) in enumerate(T.TOWNSHIPS, start=1)
    ]
    townships = _halls(county, township_rows)

    village_names = T.village_names(rng, sum(t[2] for t in T.TOWNSHIPS))
    villages: list[Hall] = []
    communities: list[Hall] = []
    names = iter(village_names)
    community_names = iter(T.COMMUNITIES)
    for township, (_name, _street, n_villages, n_communities) in zip(
        townships, T.TOWNSHIPS, strict=True
    ):
        villages += _halls(
            township,
            [
                (f"{township.code}{200 + j:03d}", next(names), HallKind.VILLAGE)
                for j in range(1, n_villages + 1)
            ],
        )
        communities += _halls(
            township,
            [
                (f"{township.code}{j:03d}", next(community_names), HallKind.COMMUNITY)
                for j in range(1, n_communities + 1)
            ],
        )
    compound_names = iter(T.compound_names(rng, sum(T.COMPOUNDS_PER_COMMUNITY)))
    compounds: list[Hall] = []
    for community, count in zip(communities, T.COMPOUNDS_PER_COMMUNITY, strict=True):
        compounds += _halls(
            community,
            [
                (f"{community.code}{k:03d}", next(compound_names), HallKind.COMPOUND)
                for k in range(1, count + 1)
            ],
        )

    departments = {
        code: Department(code=code, name=name, county=county, working_hours=hours)
        for code, name, hours in DEPARTMENTS
    }
    Department.objects.bulk_create(departments.values())
    categories = {
        c.code: Category(
            code=c.code,
            name=c.name,
            department=departments[c.dept] if c.dept else None,
            on_site=c.on_site,
            default_priority=c.priority,
            keywords=c.keywords,
        )
        for c in CATEGORIES
    }
    Category.objects.bulk_create(categories.values())
    for priority, (seconds, basis) in POLICY_DEFAULTS.items():
        ClockPolicy.objects.get_or_create(
            category=None,
            priority=priority,
            defaults={
                "first_response_seconds": 5 * MINUTE,
                "parent_response_seconds": 5 * MINUTE,
                "claim_seconds": 30 * MINUTE,
                "claim_basis": Basis.WORKING_HOURS,
                "resolution_seconds": seconds,
                "resolution_basis": basis,
                "rating_window_seconds": 7 * DAY,
                "reopen_window_seconds": 30 * DAY,
            },
        )

    # People: (username, name, phone, role, hall, department).
    people: list[tuple[str, str, str, Role | None, Hall | None, Department | None]] = []
    fixed = {
        "resident1": "王秀兰",
        "liaison1": "张丽",
        "manager1": "刘志刚",
        "dispatcher1": "陈静",
        "dept1": "周明",
        "dept2": "吴磊",
        "duty1": "郑华",
        "leader1": "马建军",
    }

    def name_of(username: str) -> str:
        return fixed.get(username) or T.person_name(rng)

    counter = Counter[str]()

    def add(
        prefix: str, role: Role | None, hall: Hall | None = None, dept: Department | None = None
    ) -> None:
        counter[prefix] += 1
        username = f"{prefix}{counter[prefix]}"
        people.append((username, name_of(username), T.phone(rng), role, hall, dept))

    for village in villages:
        for _ in range(3):
            add("liaison", Role.LIAISON, village)
    for community in communities:
        for _ in range(3):
            add("liaison", Role.LIAISON, community)
    for i, compound in enumerate(compounds):
        for _ in range(2 if i < 7 else 1):
            add("liaison", Role.LIAISON, compound)
    for township in townships:
        add("manager", Role.MANAGER, township)
        add("manager", Role.MANAGER, township)
    for community in communities:
        add("manager", Role.MANAGER, community)
    for _ in range(3):
        add("dispatcher", Role.DISPATCHER, assignment)
    # dept1 is 住建, dept2 供电 (as in the test county); then a second officer each, then the rest.
    order = ["zhujian", "gongdian"] + [
        d for d, _n, _h in DEPARTMENTS if d not in ("zhujian", "gongdian")
    ]
    for code in order[:2]:
        add("dept", Role.DEPARTMENT, dept=departments[code])
    for code in order[:2]:
        add("dept", Role.DEPARTMENT, dept=departments[code])
    for code in order[2:]:
        add("dept", Role.DEPARTMENT, dept=departments[code])
        add("dept", Role.DEPARTMENT, dept=departments[code])
    for _ in range(6):
        add("duty", Role.DUTY, county)
    add("leader", Role.LEADER, county)
    add("leader", Role.LEADER, county)
    for township in townships:
        add("leader", Role.LEADER, township)
    for _ in range(200):
        add("resident", None)

    password = make_password(DEMO_PASSWORD)  # hashed once: PBKDF2 is slow on purpose
    joined = now - timedelta(days=400)
    users = [
        User(username=u, display_name=n, phone=p, password=password, date_joined=joined)
        for u, n, p, *_rest in people
    ]
    users.append(
        User(
            username="admin",
            display_name="系统管理员",
            password=password,
            is_staff=True,
            is_superuser=True,
            date_joined=joined,
        )
    )
    User.objects.bulk_create(users)
    by_name = {u.username: u for u in users}
    memberships = [
        Membership(user=by_name[u], role=role, hall=hall, department=dept)
        for u, _n, _p, role, hall, dept in people
        if role is not None
    ]
    Membership.objects.bulk_create(memberships)

    halls = {h.pk: h for h in [county, assignment, *townships, *villages, *communities, *compounds]}
    # What Actor.of would load (memberships with their halls), without a query per person.
    actors: dict[str, Actor] = {u.username: Actor(u, []) for u in users}
    for m in memberships:
        actors[m.user.username].memberships.append(m)

    org = Org(
        county=county,
        assignment=assignment,
        halls=halls,
        townships=townships,
        villages=villages,
        communities=communities,
        compounds=compounds,
        departments=departments,
        categories=categories,
        liaisons={},
        managers={},
        leaders={},
        dispatchers=[],
        officers={},
        residents=[],
        home={},
        actors=actors,
        shifts=[],
    )
    duty: list[Actor] = []
    for m in memberships:
        actor = actors[m.user.username]
        hall_pk = m.hall.pk if m.hall else 0
        match m.role:
            case Role.LIAISON:
                org.liaisons.setdefault(hall_pk, []).append(actor)
            case Role.MANAGER:
                org.managers.setdefault(hall_pk, []).append(actor)
            case Role.LEADER:
                org.leaders.setdefault(hall_pk, []).append(actor)
            case Role.DISPATCHER:
                org.dispatchers.append(actor)
            case Role.DEPARTMENT:
                assert m.department is not None
                org.officers.setdefault(m.department.code, []).append(actor)
            case Role.DUTY:
                duty.append(actor)
    org.residents = [actors[f"resident{i}"] for i in range(1, 201)]
    # Residents live somewhere: resident1 in 东关村 (liaison1's village); others spread out,
    # a good share of them in the demo accounts' township and the town's compounds.
    dongguan = [v for v in villages if v.parent_id == townships[0].pk]
    for i, resident in enumerate(org.residents):
        if i == 0:
            hall = villages[0]
        elif i < 50:
            hall = rng.choice(dongguan)
        elif i < 100:
            hall = rng.choice(compounds)
        else:
            hall = rng.choice(villages + communities + compounds)
        org.home.setdefault(hall.pk, []).append(resident)
    org.shifts = _roster(rng, county, duty, now)
    return org


def _roster(
    rng: random.Random, county: Hall, duty: list[Actor], now: datetime
) -> list[tuple[datetime, datetime, Actor]]:
    """Nights of working days and whole rest days, from a year back to four weeks ahead."""
    cal = clocks.WorkCalendar(calendar_overrides())
    today = now.astimezone(LOCAL_TZ).date()
    day = today - timedelta(days=370)
    shifts: list[tuple[datetime, datetime, Actor]] = []
    turn = 0

    def at(d: Any, hh: int, mm: int) -> datetime:
        return datetime.combine(d, time(hh, mm), tzinfo=LOCAL_TZ)

    while day <= today + timedelta(days=28):
        nxt = day + timedelta(days=1)
        spans = [(at(day, 17, 30), at(nxt, 8, 30))]
        if not cal.is_workday(day):
            spans.insert(0, (at(day, 8, 30), at(day, 17, 30)))
        for start, end in spans:
            shifts.append((start, end, duty[turn % len(duty)]))
            turn += 1
        day = nxt
    # duty1 takes the shift running now, or, in working hours, a day shift today: the demo's
    # duty officer can then supervise at once.
    duty1 = next(a for a in duty if a.user.username == "duty1")
    current = [i for i, (s, e, _a) in enumerate(shifts) if s <= now < e]
    if current:
        s, e, _a = shifts[current[0]]
        shifts[current[0]] = (s, e, duty1)
    else:
        shifts.append((at(today, 0, 0), at(today + timedelta(days=1), 8, 30), duty1))
    shifts.sort(key=lambda s: s[0])
    DutyShift.objects.bulk_create(
        DutyShift(county=county, user=a.user, starts_at=s, ends_at=e) for s, e, a in shifts
    )
    return shifts


# --- photos ---------------------------------------------------------------------------------------


def make_photos(rng: random.Random, count: int = 6) -> list[bytes]:
    """Small JPEGs (a coloured scene with a shape): stand-ins for residents' and fixers' photos."""
    from PIL import Image, ImageDraw

    photos = []
    palette = [
        (92, 128, 84),
        (130, 130, 128),
        (96, 140, 190),
        (170, 150, 110),
        (70, 90, 120),
        (150, 110, 90),
    ]
    for i in range(count):
        image = Image.new("RGB", (480, 360), palette[i % len(palette)])
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 240, 480, 360), fill=(120, 115, 105))
        for _ in range(4):
            x, y = rng.randint(20, 400), rng.randint(40, 260)
            colour = tuple(rng.randint(30, 230) for _ in range(3))
            if rng.random() < 0.5:
                draw.ellipse((x, y, x + rng.randint(30, 90), y + rng.randint(30, 90)), fill=colour)
            else:
                draw.rectangle(
                    (x, y, x + rng.randint(20, 120), y + rng.randint(10, 80)), fill=colour
                )
        draw.line((rng.randint(0, 480), 0, rng.randint(0, 480), 360), fill=(240, 240, 240), width=4)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=70)
        photos.append(out.getvalue())
    return photos


# --- the year of requests -----------------------------------------------------------------------


@dataclass
class Plan:
    """How one request's story goes; `Sim.play` acts it out."""

    created: datetime
    hall: Hall
    cat: Cat | None
    route: str  # local | mid | dept | reject_local | reject_county
    title: str
    text: str
    where: str
    reporter: Actor | None = None
    capturer: Actor | None = None
    name: str = ""
    phone: str = ""
    anonymous: bool = False
    rating: str | None = "satisfied"
    flags: set[str] = field(default_factory=set)
    reason: str = ""
    stop: tuple[str, str | None] | None = None
    fast: bool = False
    dept: str | None = None
    photo: bool = False
    known_category: bool = True
    case: T.Case | None = None


# Showcase requests: the state each stops in, its hall, category, route, age and reporter.
# Halls: "v1" 东关村 (liaison1), "v" another 东关镇 village, "c" a compound, "t" 东关镇 itself.
SHOWCASE: list[dict[str, Any]] = [
    {
        "stop": ("submitted", None),
        "hall": "v1",
        "cat": "streetlight",
        "route": "dept",
        "age": (60, 200),
        "reporter": "resident1",
    },
    {"stop": ("submitted", None), "hall": "c", "cat": "ebike", "route": "mid", "age": (30, 240)},
    {
        "stop": ("acknowledged", None),
        "hall": "v1",
        "cat": "garbage",
        "route": "local",
        "age": (1200, 7200),
    },
    {
        "stop": ("in_progress", None),
        "hall": "v1",
        "cat": "sanitation",
        "route": "local",
        "age": (3 * HOUR, 20 * HOUR),
        "reporter": "resident1",
    },
    {
        "stop": ("in_progress", None),
        "hall": "v",
        "cat": "road",
        "route": "local",
        "age": (4 * HOUR, DAY),
    },
    {
        "stop": ("in_progress", None),
        "hall": "c",
        "cat": "ebike",
        "route": "mid",
        "age": (DAY, 3 * DAY),
    },
    {
        "stop": ("escalated", "township"),
        "hall": "v1",
        "cat": "water",
        "route": "dept",
        "age": (20 * MINUTE, HOUR),
    },
    {
        "stop": ("escalated", "assignment"),
        "hall": "v",
        "cat": "road",
        "route": "dept",
        "age": (HOUR, 2 * HOUR),
    },
    {
        "stop": ("dispatched", None),
        "hall": "v",
        "cat": "streetlight",
        "route": "dept",
        "age": (HOUR, 2 * HOUR),
    },
    {
        "stop": ("dispatched", None),
        "hall": "v",
        "cat": "power",
        "route": "dept",
        "age": (HOUR, 2 * HOUR),
    },
    {
        "stop": ("claimed", None),
        "hall": "c",
        "cat": "ebike",
        "route": "dept",
        "age": (DAY, 2 * DAY),
    },
    {
        "stop": ("claimed", None),
        "hall": "v",
        "cat": "wire",
        "route": "dept",
        "age": (2 * HOUR, 6 * HOUR),
    },
    {
        "stop": ("claimed", None),
        "hall": "v1",
        "cat": "streetlight",
        "route": "dept",
        "age": (6 * DAY, 7 * DAY),
        "flags": {"supervise_leader"},
    },
    {
        "stop": ("on_hold", None),
        "hall": "c",
        "cat": "heating",
        "route": "dept",
        "age": (DAY, 3 * DAY),
        "flags": {"hold"},
    },
    {
        "stop": ("resolved", None),
        "hall": "v1",
        "cat": "garbage",
        "route": "local",
        "age": (5 * HOUR, 20 * HOUR),
        "reporter": "resident1",
    },
    {
        "stop": ("resolved", None),
        "hall": "v",
        "cat": "power",
        "route": "dept",
        "age": (DAY, 2 * DAY),
    },
    {
        "stop": None,
        "hall": "v1",
        "cat": "road",
        "route": "dept",
        "age": (5 * DAY, 6 * DAY),
        "reporter": "resident1",
    },
    {
        "stop": ("escalated", "township"),
        "hall": "v",
        "cat": "drainage",
        "route": "dept",
        "age": (2 * HOUR, 5 * HOUR),
    },
]


class Sim:
    """Acts out plans through the actions, one request at a time, with the sweep in between."""

    def __init__(self, org: Org, rng: random.Random, now: datetime) -> None:
        self.org = org
        self.rng = rng
        self.now = now
        self.cal = clocks.WorkCalendar(calendar_overrides())
        self.photos = make_photos(rng)
        self.shift_starts = [s for s, _e, _a in org.shifts]
        self.req: Request | None = None
        self.t = now
        self.plan: Plan | None = None
        self.side: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.seq = 0
        self.supervised = False
        self.officer: Actor | None = None
        self.created = 0

    # -- helpers ------------------------------------------------------------------------------

    def secs(self, lo: float, hi: float) -> timedelta:
        return timedelta(seconds=self.rng.uniform(lo, hi))

    def skewed(self, lo: float, hi: float) -> timedelta:
        """Mostly near `lo`, sometimes up to `hi` (a long tail, as real handling times have)."""
        return timedelta(seconds=lo + (hi - lo) * self.rng.random() ** 2.2)

    def awake(self, t: datetime) -> datetime:
        """People act between 07:00 and 22:00; later than that, the next morning."""
        if self.plan is not None and self.plan.fast:
            return t
        local = t.astimezone(LOCAL_TZ)
        if 7 <= local.hour < 22:
            return t
        day = local.date() if local.hour < 7 else local.date() + timedelta(days=1)
        return datetime.combine(day, time(7, 0), tzinfo=LOCAL_TZ) + self.secs(0, 90 * MINUTE)

    def working(
        self, t: datetime, seconds: float, dept: str | None = None, *, fast: bool = True
    ) -> datetime:
        """`seconds` of working time after `t` (the department's hours, or the default);
        showcase stories skip ahead in minutes unless `fast` is off."""
        if fast and self.plan is not None and self.plan.fast:
            return t + timedelta(seconds=min(seconds, 4 * MINUTE) + 1)
        hours = self.org.departments[dept].hours() if dept else clocks.DEFAULT_HOURS
        return clocks.add(t, int(seconds), Basis.WORKING_HOURS, self.cal, hours)

    def photo(self) -> list[io.BytesIO]:
        f = io.BytesIO(self.rng.choice(self.photos))
        f.name = "photo.jpg"
        return [f]

    def hall(self) -> Hall:
        assert self.req is not None
        return self.org.halls[self.req.hall_id]

    def handler(self, hall: Hall) -> Actor:
        """Someone who may act in `hall` where it stands."""
        if hall.kind == HallKind.ASSIGNMENT:
            return self.dispatcher()
        liaisons = self.org.liaisons.get(hall.pk)
        managers = self.org.managers.get(hall.pk)
        if liaisons and (not managers or self.rng.random() < 0.8):
            return liaisons[0] if self.rng.random() < 0.7 else self.rng.choice(liaisons)
        if managers:
            return self.rng.choice(managers)
        return self.manager_over(hall)

    def manager_over(self, hall: Hall) -> Actor:
        """A manager of this hall or the nearest hall above it."""
        h: Hall | None = hall
        while h is not None:
            if self.org.managers.get(h.pk):
                return self.rng.choice(self.org.managers[h.pk])
            h = self.org.halls.get(h.parent_id) if h.parent_id else None
        raise LookupError(f"no manager above {hall}")

    def leader_over(self, hall: Hall) -> Actor:
        h: Hall | None = hall
        while h is not None:
            if self.org.leaders.get(h.pk) and (
                h.kind == HallKind.COUNTY or self.rng.random() < 0.7
            ):
                return self.rng.choice(self.org.leaders[h.pk])
            h = self.org.halls.get(h.parent_id) if h.parent_id else None
        return self.org.actors["leader1"]

    def dispatcher(self) -> Actor:
        d = self.org.dispatchers
        return d[0] if self.rng.random() < 0.5 else self.rng.choice(d)

    def on_duty(self, t: datetime) -> Actor | None:
        """The duty officer whose shift covers `t`, if any (shifts may overlap a little)."""
        i = bisect_right(self.shift_starts, t) - 1
        for start, end, actor in reversed(self.org.shifts[max(0, i - 3) : i + 1]):
            if start <= t < end:
                return actor
        return None

    def note(self, options: list[str], **kw: str) -> str:
        return self.rng.choice(options).format(**kw)

    # -- time and the sweep -------------------------------------------------------------------

    def at_stop(self) -> bool:
        p = self.plan
        if p is None or p.stop is None or self.req is None:
            return False
        state, kind = p.stop
        return self.req.status == state and (kind is None or self.hall().kind == kind)

    def goto(self, at: datetime) -> datetime:
        """Move the clock to `at`: the sweep and side events act on the way; Stop at `now`."""
        at = max(at, self.t + timedelta(seconds=self.rng.randint(5, 40)))
        if at >= self.now or self.at_stop():
            raise Stop
        self.advance(at)
        if self.at_stop():
            raise Stop
        self.t = at
        return at

    def advance(self, to: datetime) -> None:
        """Run every deadline and side event due up to `to`, in time order."""
        assert self.req is not None
        while True:
            due = self.req.next_due_at
            side = self.side[0][0] if self.side else None
            if due is not None and due <= to and (side is None or due <= side):
                before = self.req.status
                if not sweep.handle(self.req.pk, due):
                    return
                self.refresh()
                self.t = max(self.t, due)
                if self.req.status == before and before in OPEN and not self.supervised:
                    self.maybe_supervise(due)
            elif side is not None and side <= to:
                when, _seq, fn = heapq.heappop(self.side)
                when = max(when, self.t + timedelta(seconds=1))
                if when < self.now:
                    with contextlib.suppress(ActionError):  # e.g. no longer open
                        fn(when)  # side events keep self.req current themselves
                    self.t = max(self.t, when)
            else:
                return

    def later(self, when: datetime, fn: Callable[[datetime], None]) -> None:
        self.seq += 1
        heapq.heappush(self.side, (when, self.seq, fn))

    def refresh(self) -> None:
        assert self.req is not None
        self.req = Request.objects.get(pk=self.req.pk)

    def do(self, fn: Callable[..., Request], actor: Actor | None, **kw: Any) -> Request:
        assert self.req is not None
        self.req = fn(self.req, actor=actor, now=self.t, **kw)
        return self.req

    def maybe_supervise(self, breach: datetime) -> None:
        """After a missed clock: often a supervision order — by the duty officer on shift,
        else the dispatcher (county stage) or a leader."""
        p = self.plan
        assert p is not None
        forced = "supervise_leader" in p.flags
        if not forced and self.rng.random() > 0.3:
            return
        self.supervised = True
        when = breach + self.skewed(10 * MINUTE, 3 * HOUR)

        def supervise(t: datetime) -> None:
            assert self.req is not None
            hall = self.hall()
            actor = None if forced else self.on_duty(t)
            role = "duty"
            if actor is None:
                county_stage = hall.kind == HallKind.ASSIGNMENT or self.req.department_id
                if county_stage and not forced:
                    actor, role = self.dispatcher(), "dispatcher"
                else:
                    actor = self.org.actors["leader1"] if forced else self.leader_over(hall)
                    role = "leader"
            # Until the next working morning for a response, a working day for a fix.
            escalated = self.req.status == State.ESCALATED
            until = self.working(t, 2 * HOUR if escalated else 8 * HOUR, fast=False)
            self.req = A.do_supervise(
                self.req, actor=actor, until=until, note=self.note(T.SUPERVISE_NOTES[role]), now=t
            )

        self.later(when, supervise)

    # -- plans ---------------------------------------------------------------------------------

    def pick_hall(self) -> Hall:
        org = self.org
        if not hasattr(self, "_hall_weights"):
            halls = org.villages + org.communities + org.compounds
            weights = []
            for h in halls:
                w = HALL_WEIGHT[h.kind]
                if h.parent_id == org.townships[0].pk:
                    w *= 2
                if h.pk == org.villages[0].pk:
                    w *= 6
                weights.append(w)
            self._halls_list, self._hall_weights = halls, weights
        return self.rng.choices(self._halls_list, self._hall_weights)[0]

    def pick_cat(self, hall: Hall, month: int) -> Cat:
        col = CATEGORY_COLUMN[hall.kind]
        weights = []
        for c in CATEGORIES:
            w = c.weights[col]
            if c.months:
                w *= 3 if month in c.months else 0.05
            weights.append(w)
        return self.rng.choices(CATEGORIES, weights)[0]

    def pick_route(self, cat: Cat) -> str:
        return self.rng.choices(["local", "mid", "dept"], cat.route)[0]

    def pick_reporter(self, p: Plan, resident1_share: float = 0.4) -> None:
        org = self.org
        if self.rng.random() < 0.1:
            p.capturer = self.handler(p.hall)
            p.name, p.phone = T.person_name(self.rng), T.phone(self.rng)
            p.rating = None
            return
        if p.hall.pk == org.villages[0].pk and self.rng.random() < resident1_share:
            p.reporter = org.actors["resident1"]
        else:
            home = org.home.get(p.hall.pk)
            p.reporter = (
                self.rng.choice(home)
                if home and self.rng.random() < 0.8
                else self.rng.choice(org.residents[1:])
            )
        p.anonymous = self.rng.random() < 0.03
        r = self.rng.random()
        if r < 0.05:
            p.rating = None
        elif r < 0.05 + 0.95 * 0.025:
            p.rating = "dissatisfied"
        elif r < 0.05 + 0.95 * 0.10:
            p.rating = "basically_satisfied"
        else:
            p.rating = "satisfied"

    def new_plan(self, created: datetime, hall: Hall, cat: Cat, route: str) -> Plan:
        tx = T.request_text(self.rng, cat.code, str(hall.kind), hall.name)
        p = Plan(created, hall, cat, route, tx.title, tx.text, tx.where, case=tx.case)
        p.photo = cat.on_site and self.rng.random() < 0.2
        # Residents often leave the category out; the dispatcher sets it when dispatching.
        p.known_category = route != "dept" or self.rng.random() < 0.9
        return p

    def history_times(self, count: int) -> list[datetime]:
        start = self.now - timedelta(days=365)
        span_days = 364.5
        out = []
        for _ in range(count):
            day = (
                (start + timedelta(days=self.rng.uniform(0, span_days))).astimezone(LOCAL_TZ).date()
            )
            hour = self.rng.choices(range(24), HOUR_WEIGHTS)[0]
            t = datetime.combine(day, time(hour, 0), tzinfo=LOCAL_TZ) + self.secs(0, HOUR)
            if t < self.now - timedelta(hours=12):
                out.append(t)
            else:
                out.append(self.now - timedelta(hours=12) - self.secs(0, 10 * DAY))
        return sorted(out)

    def make_plans(self, n: int) -> list[Plan]:
        rng = self.rng
        org = self.org
        showcase = SHOWCASE[: max(0, min(len(SHOWCASE), n // 3))]
        n_dup = max(1, round(0.03 * n)) if n >= 10 else 0
        n_hist = max(0, n - len(showcase) - n_dup)
        plans: list[Plan] = []
        for created in self.history_times(n_hist):
            hall = self.pick_hall()
            cat = self.pick_cat(hall, created.astimezone(LOCAL_TZ).month)
            p = self.new_plan(created, hall, cat, self.pick_route(cat))
            self.pick_reporter(p)
            night = not 7 <= created.astimezone(LOCAL_TZ).hour < 22
            if rng.random() < (0.12 if night else 0.03):
                p.flags.add("late_first")
            if rng.random() < 0.08:
                p.flags.add("cosign")
            if rng.random() < 0.1:
                p.flags.add("internal")
            if p.cat and p.cat.dept is None and p.route == "dept":
                p.route = "mid"
            plans.append(p)

        old = [p for p in plans if p.created < self.now - timedelta(days=40)]
        rng.shuffle(old)
        used: set[int] = set()

        def take(count: int, ok: Callable[[Plan], bool]) -> list[Plan]:
            chosen: list[Plan] = []
            for p in old:
                if len(chosen) >= count:
                    break
                if id(p) not in used and ok(p):
                    used.add(id(p))
                    chosen.append(p)
            return chosen

        h = len(plans)
        for p in take(max(1, round(0.02 * h)), lambda p: True):
            p.route = "reject_local"
            p.text, p.reason = T.reject_text(rng, county_level=False)
            p.title, p.cat, p.case, p.photo = T.short_title(p.text), None, None, False
        for p in take(max(1, round(0.01 * h)), lambda p: True):
            p.route = "reject_county"
            p.text, p.reason = T.reject_text(rng, county_level=True)
            p.title, p.cat, p.case, p.photo = T.short_title(p.text), None, None, False
        for p in take(n_dup, lambda p: p.route == "dept"):
            p.flags.add("duplicate")
        for p in take(
            max(1, round(0.025 * h)), lambda p: p.reporter is not None and p.route != "dept"
        ):
            p.flags.add("reopen")
            p.rating = "satisfied"
        for p in take(
            max(1, round(0.01 * h)), lambda p: p.reporter is not None and p.route == "dept"
        ):
            p.flags.add("reopen")
            p.rating = "satisfied"
        for p in take(max(1, round(0.03 * h)), lambda p: p.route in ("dept", "local", "mid")):
            p.flags.add("hold")
        for p in take(
            max(1, round(0.02 * h)),
            lambda p: p.route == "dept" and p.cat is not None and p.cat.priority != Priority.URGENT,
        ):
            p.flags.add("extend")
        for p in take(max(1, round(0.02 * h)), lambda p: p.route == "dept"):
            p.flags.add("return")
        # §3.1: an upheld return (驳回), lead and assisting departments, a hand-down, visits
        for p in take(max(1, round(0.01 * h)), lambda p: p.route == "dept"):
            p.flags.add("uphold")
        for mode, share in (("assist_post", 0.03), ("assist_waive", 0.01), ("assist_uphold", 0.01)):
            for p in take(max(1, round(share * h)), lambda p: p.route == "dept"):
                p.flags.add(mode)
        for p in take(max(1, round(0.01 * h)), lambda p: p.route == "dept"):
            p.flags.add("hand_down")
        for p in take(
            max(1, round(0.02 * h)),
            lambda p: p.reporter is None and p.route in ("local", "mid", "dept"),
        ):
            p.flags.add("visit")
        for p in plans:
            if p.route == "dept":
                if rng.random() < 0.05:
                    p.flags.add("late_claim")
                if rng.random() < 0.06:
                    p.flags.add("late_fix")
                if rng.random() < 0.25:
                    p.flags.add("progress")
            elif p.route in ("local", "mid") and rng.random() < 0.03:
                p.flags.add("late_fix")

        # The showcase: the newest requests, one per open state, in the demo accounts' halls.
        dongguan = org.townships[0]
        dongguan_villages = [v for v in org.villages if v.parent_id == dongguan.pk]
        for spec in showcase:
            hall = {
                "v1": org.villages[0],
                "v": rng.choice(dongguan_villages[1:]),
                "c": rng.choice(org.compounds[:30]),
                "t": dongguan,
            }[spec["hall"]]
            age = rng.uniform(*spec["age"])
            p = self.new_plan(
                self.now - timedelta(seconds=age), hall, CATS[spec["cat"]], spec["route"]
            )
            p.known_category = True
            self.pick_reporter(p, resident1_share=0)
            if spec.get("reporter"):
                p.reporter, p.capturer, p.anonymous = org.actors[spec["reporter"]], None, False
            if p.reporter is None:  # showcase stories end rated: give them a resident
                p.reporter, p.capturer = rng.choice(org.residents[1:]), None
            p.rating = "satisfied"
            p.stop = spec["stop"]
            p.fast = True
            p.flags |= set(spec.get("flags", ()))
            plans.append(p)
        plans.sort(key=lambda p: p.created)
        return plans

    # -- acting a plan out -----------------------------------------------------------------------

    def play(self, p: Plan) -> None:
        self.plan = p
        self.req = None
        self.side = []
        self.supervised = False
        self.officer = None
        self.t = p.created
        try:
            self.submit(p)
            self.story(p)
        except Stop:
            pass
        if self.req is not None:
            self.advance(self.now)  # what the sweep has done since, up to now

    def submit(self, p: Plan) -> None:
        category = self.org.categories[p.cat.code] if p.cat and p.known_category else None
        kw: dict[str, Any] = {
            "hall": p.hall,
            "text": p.text,
            "title": p.title,
            "category": category,
            "address": p.where if p.cat else "",
            "photos": self.photo() if p.photo else None,
            "now": p.created,
        }
        if p.capturer is not None:
            self.req = A.do_submit(
                actor=p.capturer,
                channel=Channel.CAPTURE,
                reporter_name=p.name,
                reporter_phone=p.phone,
                **kw,
            )
        else:
            self.req = A.do_submit(actor=p.reporter, anonymous=p.anonymous, **kw)
        self.created += 1

    def delay(self, lo: float, hi: float) -> timedelta:
        """A step's delay; showcase stories move in minutes."""
        if self.plan is not None and self.plan.fast:
            return self.secs(40, 4 * MINUTE)  # within every 5-minute clock
        return self.skewed(lo, hi)

    def story(self, p: Plan) -> None:
        rng = self.rng
        # First response: within 5 minutes, or missed and escalated by the sweep.
        if "late_first" in p.flags and not p.fast:
            self.goto(p.created + timedelta(seconds=301))
            self.goto(self.awake(self.t + self.skewed(MINUTE, 15 * MINUTE)))
        else:
            self.goto(
                p.created
                + timedelta(
                    seconds=rng.uniform(40, 240) if rng.random() < 0.9 else rng.uniform(240, 295)
                )
            )
        hall = self.hall()
        self.do(
            A.do_acknowledge,
            self.handler(hall),
            note=self.note(T.ACK_NOTES.get(str(hall.kind), [""])),
        )
        if "cosign" in p.flags:
            for _ in range(rng.randint(1, 3)):
                self.later(self.t + self.skewed(HOUR, 2 * DAY), self.cosign)
        if "duplicate" in p.flags:
            self.later(self.t + self.skewed(10 * MINUTE, 3 * HOUR), self.duplicate)
        if "internal" in p.flags:
            self.later(self.t + self.skewed(5 * MINUTE, 2 * HOUR), self.internal_note)

        if p.route == "reject_local":
            self.goto(self.awake(self.t + self.skewed(10 * MINUTE, 4 * HOUR)))
            self.do(A.do_reject, self.manager_over(self.hall()), reason=p.reason)
            return
        target_rank = (
            3 if p.route in ("dept", "reject_county") else RANK[p.hall.kind] + (p.route == "mid")
        )
        while RANK[self.hall().kind] < target_rank:
            here = self.hall()
            if p.fast:
                self.goto(self.t + self.delay(0, 0))
            elif here.kind == HallKind.TOWNSHIP and p.cat and p.cat.priority != Priority.URGENT:
                # Township staff pass work to the county in office hours.
                self.goto(self.working(self.t, self.skewed(5 * MINUTE, 2 * HOUR).total_seconds()))
            elif RANK[here.kind] >= 2:
                self.goto(self.awake(self.t + self.delay(5 * MINUTE, 2 * HOUR)))
            else:
                self.goto(self.awake(self.t + self.delay(10 * MINUTE, 4 * HOUR)))
            self.do(
                A.do_escalate,
                self.handler(here),
                note=self.note(T.ESCALATE_NOTES.get(str(here.kind), [""])),
            )
            up = self.hall()
            if up.kind == HallKind.ASSIGNMENT:
                break
            if p.fast:
                self.goto(self.t + self.delay(0, 0))
            elif up.kind == HallKind.TOWNSHIP:
                late = rng.random() < 0.08
                wait = self.secs(6 * MINUTE, 40 * MINUTE) if late else self.secs(40, 290)
                self.goto(self.awake(self.t + wait))
            else:
                self.goto(self.t + self.secs(40, 280))
            self.do(
                A.do_acknowledge,
                self.handler(up),
                note=self.note(T.ACK_NOTES.get(str(up.kind), [""])),
            )
        if p.route == "reject_county":
            self.goto(self.working(self.t, rng.uniform(10 * MINUTE, 3 * HOUR)))
            self.do(A.do_reject, self.dispatcher(), reason=p.reason)
            return
        if self.hall().kind == HallKind.ASSIGNMENT:
            self.department(p)
        else:
            self.local(p)
        self.rate(p)

    def local(self, p: Plan) -> None:
        """The hall where the request now is fixes it itself."""
        rng = self.rng
        hall = self.hall()
        actor = self.handler(hall)
        self.goto(self.awake(self.t + self.delay(MINUTE, 40 * MINUTE)))
        self.do(A.do_start, actor, note=self.note(T.START_NOTES))
        if "hold" in p.flags:
            self.goto(self.awake(self.t + self.delay(HOUR, 6 * HOUR)))
            reason, resume = self.rng.choice(T.HOLDS["local"])
            self.do(A.do_hold, actor, reason=reason)
            self.goto(self.awake(self.t + self.secs(DAY, 5 * DAY)))
            self.do(A.do_resume, actor, note=resume)
        code = p.cat.code if p.cat else ""
        township = hall.kind == HallKind.TOWNSHIP
        if "late_fix" in p.flags:
            span = (4 * DAY, 7 * DAY)
        elif code == "ebike" and hall.kind == HallKind.COMMUNITY:
            span = (3 * DAY, 7 * DAY)  # the story of §9: charging piles up within a week
        elif code == "garbage":
            span = (30 * MINUTE, 4 * HOUR)
        elif code == "sewage":
            span = (2 * HOUR, 12 * HOUR)
        elif township:
            span = (2 * HOUR, 2 * DAY)
        else:
            span = (30 * MINUTE, DAY)
        self.goto(self.awake(self.t + self.delay(*span)))
        self.do(
            A.do_resolve,
            actor,
            note=T.resolve_note(rng, p.case, local=True),
            photos=self.photo() if p.cat and p.cat.on_site else None,
        )

    def department(self, p: Plan) -> None:
        """The assignment hall dispatches; a department claims, fixes and shows the photo."""
        rng = self.rng
        assert p.cat is not None and p.cat.dept is not None
        urgent = p.cat.priority == Priority.URGENT
        right = p.cat.dept
        first = right
        if "return" in p.flags:
            first = rng.choice(CONFUSED_WITH[right])
        dispatcher = self.dispatcher()
        if p.fast or urgent:
            self.goto(self.t + self.delay(MINUTE, 15 * MINUTE))
        elif rng.random() < 0.75:  # the assignment hall's 5-minute clock, in working hours
            self.goto(self.working(self.t, rng.uniform(40, 290)))
        else:
            self.goto(self.working(self.t, rng.uniform(5 * MINUTE, 40 * MINUTE)))
        if rng.random() < 0.1:
            self.do(A.do_acknowledge, dispatcher, note=self.note(T.ACK_NOTES["assignment"]))
            self.goto(self.t + self.delay(2 * MINUTE, 20 * MINUTE))
        if "hand_down" in p.flags:
            self.hand_down(p, dispatcher)
            return
        category = None if self.req is None or self.req.category_id else p.cat.code
        dept = self.org.departments[first]
        helper = None
        if {"assist_post", "assist_waive", "assist_uphold"} & p.flags:
            helper = next(d for d in ASSIST_WITH[right] if d not in (first, right))
        note = self.note(T.DISPATCH_NOTES, dept=dept.name)
        if helper is not None:
            helper_name = self.org.departments[helper].name
            note = self.note(T.ASSIST_DISPATCH_NOTES, lead=dept.name, helper=helper_name)
        self.do(
            A.do_dispatch,
            dispatcher,
            department=first,
            assisting=[helper] if helper else None,
            category=category,
            note=note,
        )
        self.claim(p, first, urgent)
        if "uphold" in p.flags and "return" not in p.flags:
            # a wrong return (驳回): the dispatcher sends it back to the same department
            self.goto(self.working(self.t, rng.uniform(20 * MINUTE, 3 * HOUR), first))
            self.do(
                A.do_return, self.officer, reason_code="incomplete", reason=T.UPHOLD_RETURN_REASON
            )
            self.goto(self.working(self.t, rng.uniform(10 * MINUTE, HOUR)))
            self.do(
                A.do_review_return,
                dispatcher,
                decision="uphold",
                reason=self.note(T.UPHOLD_NOTES, dept=dept.name),
            )
            self.claim(p, first, urgent)
        if "return" in p.flags:
            self.goto(self.working(self.t, rng.uniform(20 * MINUTE, 4 * HOUR), first))
            self.do(
                A.do_return,
                self.officer,
                reason_code="not_ours",
                reason=T.RETURN_REASON.format(right=self.org.departments[right].name),
            )
            self.goto(self.working(self.t, rng.uniform(10 * MINUTE, HOUR)))
            self.do(
                A.do_review_return,
                dispatcher,
                decision="redispatch",
                department=right,
                reason=self.note(T.REDISPATCH_NOTES, dept=self.org.departments[right].name),
            )
            self.claim(p, right, urgent)
        if helper is not None:
            self.assist(p, helper, dispatcher)
        officer = self.officer
        assert self.req is not None
        if "hold" in p.flags:
            self.goto(self.working(self.t, self.delay(HOUR, 6 * HOUR).total_seconds(), right))
            reason, resume = rng.choice(T.HOLDS["department"])
            self.do(A.do_hold, officer, reason=reason)
            self.goto(self.working(self.t + self.secs(DAY, 5 * DAY), 0, right))
            self.do(A.do_resume, officer, note=resume)
            fix = self.working(self.t, rng.uniform(HOUR, 8 * HOUR), right)
        elif "extend" in p.flags and self.req.resolve_by is not None:
            deadline = self.req.resolve_by
            self.goto(self.working(self.t, rng.uniform(HOUR, 6 * HOUR), right))
            if deadline <= self.t:
                fix = self.working(self.t, rng.uniform(HOUR, 4 * HOUR), right)
            else:
                until = deadline + timedelta(days=rng.randint(3, 6))
                self.do(A.do_extend, officer, until=until, reason=self.note(T.EXTEND_REASONS))
                self.goto(self.working(self.t, rng.uniform(10 * MINUTE, 90 * MINUTE)))
                if rng.random() < 0.85:
                    self.do(
                        A.do_approve_extension, self.dispatcher(), note=self.note(T.APPROVE_NOTES)
                    )
                    fix = deadline + (until - deadline) * rng.uniform(0.2, 0.8)
                    fix = self.working(fix, 0, right)
                else:
                    self.do(A.do_deny_extension, self.dispatcher(), note=self.note(T.DENY_NOTES))
                    fix = self.working(self.t, rng.uniform(HOUR, 6 * HOUR), right)
        else:
            fix = self.fix_time(p, urgent, right)
        if "progress" in p.flags and fix - self.t > timedelta(hours=3):
            self.goto(self.t + (fix - self.t) * rng.uniform(0.2, 0.6))
            self.do(A.do_comment, officer, note=self.note(T.PROGRESS_NOTES))
        self.goto(fix)
        self.do(
            A.do_resolve,
            officer,
            note=T.resolve_note(rng, p.case, local=False),
            photos=self.photo() if p.cat.on_site else None,
        )

    def assist(self, p: Plan, helper: str, dispatcher: Actor) -> None:
        """The assisting department's part (协办): posted, waived, or returned, upheld and then
        posted; the lead resolves after it."""
        rng = self.rng
        officer = self.org.officers[helper][0]
        name = self.org.departments[helper].name
        if "assist_waive" in p.flags:
            self.goto(self.working(self.t, rng.uniform(HOUR, 5 * HOUR)))
            self.do(
                A.do_waive_part, dispatcher, department=helper, reason=self.note(T.WAIVE_REASONS)
            )
            return
        if "assist_uphold" in p.flags:
            self.goto(self.working(self.t, rng.uniform(20 * MINUTE, 3 * HOUR), helper))
            self.do(A.do_return, officer, reason_code="not_ours", reason=T.ASSIST_RETURN_REASON)
            self.goto(self.working(self.t, rng.uniform(10 * MINUTE, HOUR)))
            self.do(
                A.do_review_return,
                dispatcher,
                part=helper,
                decision="uphold",
                reason=self.note(T.ASSIST_UPHOLD_NOTES, helper=name),
            )
        self.goto(
            self.working(self.t, self.skewed(2 * MINUTE, 28 * MINUTE).total_seconds(), helper)
        )
        self.do(A.do_claim, officer, note=self.note(T.CLAIM_NOTES))
        self.goto(self.working(self.t, rng.uniform(HOUR, 6 * HOUR), helper))
        self.do(
            A.do_post_part,
            officer,
            note=self.note(T.ASSIST_POST_NOTES),
            photos=self.photo() if p.cat and p.cat.on_site else None,
        )

    def hand_down(self, p: Plan, dispatcher: Actor) -> None:
        """下沉: the dispatcher hands it down to the hall it came from, which fixes it."""
        self.do(A.do_hand_down, dispatcher, hall=p.hall, reason=self.note(T.HAND_DOWN_REASONS))
        self.goto(self.awake(self.t + self.delay(MINUTE, 30 * MINUTE)))
        hall = self.hall()
        self.do(
            A.do_acknowledge,
            self.handler(hall),
            note=self.note(T.ACK_NOTES.get(str(hall.kind), [""])),
        )
        self.local(p)

    def claim(self, p: Plan, dept: str, urgent: bool) -> None:
        rng = self.rng
        officers = self.org.officers[dept]
        self.officer = officers[0] if rng.random() < 0.6 else rng.choice(officers)
        if p.fast:
            self.goto(self.t + self.delay(0, 0))
        elif urgent:
            self.goto(self.t + self.skewed(3 * MINUTE, 40 * MINUTE))
        elif "late_claim" in p.flags:
            self.goto(self.working(self.t, rng.uniform(40 * MINUTE, 3 * HOUR), dept))
        else:
            self.goto(
                self.working(self.t, self.skewed(2 * MINUTE, 28 * MINUTE).total_seconds(), dept)
            )
        self.do(A.do_claim, self.officer, note=self.note(T.CLAIM_NOTES))

    def fix_time(self, p: Plan, urgent: bool, dept: str) -> datetime:
        assert p.cat is not None
        rng = self.rng
        late = "late_fix" in p.flags
        if p.fast:
            return self.t + self.secs(20 * MINUTE, 2 * HOUR)
        if p.cat.code == "guardrail" and not late:
            return self.t + self.secs(40 * MINUTE, 3 * HOUR)
        if p.cat.code == "ebike":
            return self.awake(self.t + self.secs(3 * DAY, (12 if late else 7) * DAY))
        if urgent:
            return self.t + (
                self.secs(26 * HOUR, 40 * HOUR) if late else self.skewed(40 * MINUTE, 14 * HOUR)
            )
        if p.cat.priority == Priority.COMPLEX:
            work = rng.uniform(16, 22) * 8 * HOUR if late else rng.uniform(3, 13) * 8 * HOUR
        else:
            work = (
                rng.uniform(26, 45) * HOUR if late else self.skewed(HOUR, 18 * HOUR).total_seconds()
            )
        return self.working(self.t, work, dept)

    def rate(self, p: Plan) -> None:
        """The reporter rates (or lets the window run out); sometimes the problem comes back."""
        rng = self.rng
        if p.reporter is None and "visit" in p.flags and self.req is not None:
            # 回访: the first hall's liaison asks the resident by phone or in person
            self.goto(self.awake(self.t + self.delay(HOUR, DAY)))
            self.do(
                A.do_visit,
                self.handler(self.org.halls[self.req.origin_hall_id]),
                rating=rng.choice(["satisfied", "satisfied", "basically_satisfied"]),
                channel=rng.choice(["phone", "in_person"]),
                note=self.note(T.VISIT_NOTES),
            )
            return
        if p.reporter is None or p.rating is None:
            return
        wait = self.delay(10 * MINUTE, 2 * DAY)
        self.goto(self.awake(self.t + wait))
        self.do(
            A.do_rate, p.reporter, rating=p.rating, comment=self.note(T.RATING_COMMENTS[p.rating])
        )
        if p.rating == "dissatisfied":
            self.review_dissatisfied(p)
            return
        if "reopen" not in p.flags or self.req is None or self.req.status != State.CLOSED:
            return
        self.goto(self.awake(self.t + self.secs(2 * DAY, 25 * DAY)))
        self.do(A.do_reopen, p.reporter, reason=self.note(T.REOPEN_REASONS))
        dept = self.req.department_id is not None
        actor = self.officer if dept else self.handler(self.hall())
        if dept:
            self.goto(
                self.working(self.t, rng.uniform(HOUR, 12 * HOUR), p.cat.dept if p.cat else None)
            )
        else:
            self.goto(self.awake(self.t + self.skewed(HOUR, DAY)))
        self.do(
            A.do_resolve,
            actor,
            note="已再次处理：" + T.resolve_note(rng, p.case, local=not dept),
            photos=self.photo() if p.cat and p.cat.on_site else None,
        )
        self.goto(self.awake(self.t + self.skewed(30 * MINUTE, DAY)))
        again = "satisfied" if rng.random() < 0.8 else "basically_satisfied"
        self.do(A.do_rate, p.reporter, rating=again, comment=self.note(T.RATING_COMMENTS[again]))

    def review_dissatisfied(self, p: Plan) -> None:
        """不满意 is reviewed (§3.1): mostly a redo (重办); sometimes the handler's appeal
        (甄别申请) that the demand cannot lawfully be met, approved or denied."""
        rng = self.rng
        assert self.req is not None and p.reporter is not None
        dept = self.req.department_id is not None
        handler = self.officer if dept else self.handler(self.hall())
        reviewer = self.dispatcher() if dept else self.manager_over(self.hall())
        self.goto(self.working(self.t, rng.uniform(30 * MINUTE, 4 * HOUR)))
        if rng.random() < 0.3:
            self.do(A.do_appeal, handler, reason=self.note(T.APPEAL_REASONS))
            self.goto(self.working(self.t, rng.uniform(HOUR, 8 * HOUR)))
            if rng.random() < 0.7:
                self.do(
                    A.do_review_rating,
                    reviewer,
                    decision="approve_appeal",
                    reason=self.note(T.APPEAL_APPROVED),
                )
                return
            self.do(
                A.do_review_rating,
                reviewer,
                decision="deny_appeal",
                reason=self.note(T.APPEAL_DENIED),
            )
            self.goto(self.working(self.t, rng.uniform(10 * MINUTE, HOUR)))
        self.do(
            A.do_review_rating,
            reviewer,
            decision="redo",
            until=self.t + timedelta(days=3),
            reason=self.note(T.REDO_NOTES),
        )
        self.goto(self.working(self.t, rng.uniform(2 * HOUR, 2 * DAY)))
        self.do(
            A.do_resolve,
            handler,
            note="重办：" + T.resolve_note(rng, p.case, local=not dept),
            photos=self.photo() if p.cat and p.cat.on_site else None,
        )
        self.goto(self.awake(self.t + self.skewed(30 * MINUTE, DAY)))
        again = "satisfied" if rng.random() < 0.7 else "basically_satisfied"
        self.do(A.do_rate, p.reporter, rating=again, comment=self.note(T.RATING_COMMENTS[again]))

    # -- side events -------------------------------------------------------------------------------

    def cosign(self, t: datetime) -> None:
        assert self.req is not None and self.plan is not None
        pool = self.org.home.get(self.plan.hall.pk) or self.org.residents
        who = self.rng.choice(pool)
        if who.user.pk == self.req.reporter_id:
            return
        self.req = A.do_cosign(self.req, actor=who, note=self.note(T.COSIGN_NOTES), now=t)

    def internal_note(self, t: datetime) -> None:
        assert self.req is not None
        actor = self.handler(self.hall())
        self.req = A.do_comment(
            self.req, actor=actor, note=self.note(T.INTERNAL_NOTES), public=False, now=t
        )

    def duplicate(self, t: datetime) -> None:
        """Someone else reports the same thing; the hall's liaison merges it into this one."""
        primary = self.req
        p = self.plan
        assert primary is not None and p is not None and p.cat is not None
        if primary.status not in OPEN and primary.status != State.RESOLVED:
            return
        others = [
            r
            for r in (self.org.home.get(p.hall.pk) or self.org.residents)
            if r.user.pk != primary.reporter_id
        ]
        reporter = self.rng.choice(others or self.org.residents)
        tx = T.request_text(
            self.rng, p.cat.code, str(p.hall.kind), p.hall.name, case=p.case, where=p.where
        )
        dup = A.do_submit(
            actor=reporter,
            hall=p.hall,
            text=tx.text,
            title=tx.title,
            category=self.org.categories[p.cat.code],
            address=p.where,
            now=t,
        )
        self.created += 1
        merger = self.handler(p.hall)
        A.do_merge(
            dup,
            actor=merger,
            into=primary,
            note=self.note(T.MERGE_NOTES, num=primary.number),
            now=t + self.secs(MINUTE, 4 * MINUTE),
        )


# --- entry point ----------------------------------------------------------------------------------


def counts(county_code: str = DEMO_COUNTY_CODE) -> dict[str, Any]:
    """What the demo county holds now."""
    halls = Hall.objects.filter(path__startswith=f"/{county_code}/")
    requests = Request.objects.filter(origin_hall__path__startswith=f"/{county_code}/")
    by_state = Counter(requests.values_list("status", flat=True))
    return {
        "halls": dict(Counter(halls.values_list("kind", flat=True))),
        "users": User.objects.count(),
        "liaisons": Membership.objects.filter(role=Role.LIAISON, hall__in=halls).count(),
        "departments": Department.objects.filter(county__code=county_code).count(),
        "categories": Category.objects.count(),
        "duty_shifts": DutyShift.objects.filter(county__code=county_code).count(),
        "requests": requests.count(),
        "states": {s.value: by_state.get(s.value, 0) for s in State},
        "overdue": requests.filter(overdue=True).count(),
        "events": Event.objects.filter(request__in=requests).count(),
        "attachments": Attachment.objects.filter(request__in=requests).count(),
    }


def _named(photo: io.BytesIO, name: str) -> io.BytesIO:
    photo.name = name
    return photo


def seed_demo(
    requests: int = 1000, now: datetime | None = None, *, log: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Seed the demo county with `requests` requests over the year ending `now`.

    Returns the counts, with `seeded` False when the county was already there (nothing done).
    """
    if Hall.objects.filter(code=DEMO_COUNTY_CODE).exists():
        return {"seeded": False, **counts()}
    now = now or timezone.now()
    rng = random.Random(2026)
    started = _time.monotonic()
    # The demo's year of history happened in the past: nobody is notified of it, and its
    # statistics are built once at the end rather than event by event.
    with rollups.deferred(), transaction.atomic(), outbox.muted():
        org = build_org(rng, now)
        if log:
            took = _time.monotonic() - started
            log(f"org tree: {len(org.halls)} halls, {len(org.actors)} people ({took:.1f} s)")
        sim = Sim(org, rng, now)
        plans = sim.make_plans(requests)
        for i, plan in enumerate(plans, start=1):
            sim.play(plan)
            if log and i % 200 == 0:
                log(f"requests: {sim.created} ({_time.monotonic() - started:.1f} s)")
        took = _time.monotonic()
        deliberation.seed(org, now, lambda name: _named(sim.photo()[0], name))
        if log:
            log(
                "deliberation: the e-bike story and the village's topics "
                f"({_time.monotonic() - took:.1f} s)"
            )
    result = {"seeded": True, **counts(), "seconds": round(_time.monotonic() - started, 1)}
    return result
