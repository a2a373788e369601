"""Hotspots: clusters of one problem, ranked by reporters, co-signs and growth (issue 6)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
import scipy.sparse as sp
from django.utils import timezone

from yishiting.requests.actions import do_cosign, do_submit
from yishiting.routing.hotspots import (
    Message,
    _join,
    cluster,
    county_hotspots,
    find_hotspots,
    numbered_names,
    numbered_places,
)
from yishiting.routing.tests.conftest import need_data
from yishiting.testing import County

T0 = datetime(2024, 5, 1, 9, 0)  # noqa: DTZ001 - CSV times are naive local times

MIXER = [
    "锦绣家园小区附近搅拌站噪音扰民，晚上睡不着",
    "投诉锦绣家园旁边的搅拌站，粉尘太大",
    "锦绣家园附近违建搅拌站，彻夜施工噪音大",
    "锦绣家园小区附近搅拌站粉尘噪音严重影响生活",
]
PARKING = [
    "翠湖名苑捆绑销售车位，强买强卖",
    "投诉翠湖名苑开发商捆绑销售车位",
    "翠湖名苑买房必须买车位，是否合法",
]
OTHERS = [
    "学校门口早上堵车严重，需要交警疏导",
    "医保报销比例是多少，怎么办理",
    "公积金贷款额度怎么计算",
    "村里自来水浑浊，有异味",
    "公交车发车间隔太长，等车一小时",
]


def messages() -> list[Message]:
    out = []
    for i, text in enumerate(MIXER + PARKING + OTHERS):
        out.append(
            Message(
                id=str(i),
                reporter=f"u{i}",
                title=text[:12],
                text=text,
                time=T0 + timedelta(days=i),
            )
        )
    return out


def test_same_problem_in_other_words_is_one_cluster() -> None:
    groups = cluster(messages())
    by_text = {frozenset(messages()[i].text for i in g) for g in groups}
    assert frozenset(MIXER) in by_text
    assert frozenset(PARKING) in by_text
    assert sum(len(g) for g in groups) == len(messages())


def test_ranked_by_reporters_cosigns_and_growth() -> None:
    spots = find_hotspots(messages(), top=2, growth_days=0)  # no growth: reporters decide
    assert [len(s.messages) for s in spots] == [4, 3]
    mixer = spots[0]
    assert mixer.reporters == 4 and mixer.cosigns == 0
    # A single message with a crowd of co-signers can outrank a small cluster.
    crowd = Message("x", "u99", "菜市场占道经营", "菜市场占道经营，车辆过不去", T0, cosigns=2000)
    assert find_hotspots([*messages(), crowd], top=1, growth_days=0)[0].messages == [crowd]


def test_growth_counts_reporters_of_the_last_days() -> None:
    spots = find_hotspots(messages(), top=10, until=T0 + timedelta(days=7), growth_days=3)
    parking = next(s for s in spots if s.messages[0].text in PARKING)
    # Parking messages are on days 4, 5 and 6: all within the last three days before day 7.
    assert parking.growth == 3


def test_one_reporter_repeating_himself_counts_once() -> None:
    same = [Message(str(i), "u1", "路灯坏了", "村口路灯坏了", T0, 0) for i in range(5)]
    spot = find_hotspots(same, top=1)[0]
    assert (len(spot.messages), spot.reporters) == (5, 1)


def test_nothing_in_nothing_out() -> None:
    assert find_hotspots([], top=5) == []


@pytest.mark.django_db
def test_county_hotspots_from_requests_with_cosigns(county: County) -> None:
    now = timezone.now()
    halls = [county.village, county.village2, county.village3, county.village]
    for i, (hall, text) in enumerate(zip(halls, MIXER, strict=True)):
        req = do_submit(actor=county[f"resident{i % 2 + 1}"], hall=hall, text=text, now=now)
    do_cosign(req, actor=county["resident1"], now=now)  # the last was filed by resident2
    do_submit(actor=county["resident2"], hall=county.village, text=OTHERS[0], now=now)
    spots = county_hotspots(county.county, now - timedelta(days=1), now + timedelta(seconds=1))
    assert len(spots[0].messages) == 4
    assert spots[0].cosigns == 1
    assert spots[0].reporters == 2
    assert set(spots[0].halls) == {county.village.code, county.village2.code, county.village3.code}


def test_real_board_top_clusters_are_about_one_place() -> None:
    """On the real message board, the two biggest campaigns come first, each with at least
    30 messages that (nearly) all name the same place: some 4 characters shared by 90%."""
    from collections import Counter

    from yishiting.routing.hotspots import read_messages_csv

    spots = find_hotspots(read_messages_csv(need_data("hotspots/messages.csv")), top=2)
    for spot in spots:
        assert len(spot.messages) >= 30
        grams: Counter[str] = Counter()
        for m in spot.messages:
            text = m.title + m.text
            grams.update({text[i : i + 4] for i in range(len(text) - 3)})
        assert grams.most_common(1)[0][1] >= 0.9 * len(spot.messages)


EAST6 = [
    "问问经开区东六线以西闲置厂房的规划，什么时候开发",
    "经开区东六线以西闲置厂房有什么规划，请回复",
    "问问经开区东六线以西的闲置厂房规划",
]
EAST4 = [
    "问问经开区东四线以西闲置土地的规划，什么时候开发",
    "经开区东四线以西闲置土地有什么规划，请回复",
]


def titled(texts: list[str]) -> list[Message]:
    """Messages titled by their first clause."""
    return [
        Message(str(i), f"u{i}", t.split("，")[0], t, T0 + timedelta(days=i))
        for i, t in enumerate(texts)
    ]


def test_numbered_places_are_read_from_titles() -> None:
    assert numbered_places("东六路下穿长永高速") == {("东", 6)}
    assert numbered_places("东六线以西的规划") == numbered_places("东六路以西")
    assert numbered_places("地铁３号线松雅站出入口") == {("", 3)}
    assert numbered_places("二十一路公交和西二环") == {("", 21), ("西", 2)}
    assert numbered_places("小区3号楼漏水") == frozenset()


def test_titles_naming_different_numbered_roads_are_different_problems() -> None:
    texts = EAST6 + EAST4 + OTHERS
    groups = {frozenset(texts[i] for i in g) for g in cluster(titled(texts))}
    assert frozenset(EAST6) in groups
    assert frozenset(EAST4) in groups
    # The same road under another suffix (东六路 / 东六线) is not a conflict.
    same = [*EAST6, "经开区东六路以西闲置厂房的规划，请回复"]
    texts = same + OTHERS
    groups = {frozenset(texts[i] for i in g) for g in cluster(titled(texts))}
    assert frozenset(same) in groups


def test_numbered_names_are_read_from_titles() -> None:
    assert numbered_names("请关注58车贷案的进展") == {"58车贷"}
    assert numbered_names("拨打１２３４５热线无人接") == {"12345热线"}
    assert numbered_names("2019年补贴没发，3号楼漏水，500元罚款") == frozenset()
    assert numbered_names("A4区58车贷") == {"58车贷"}


def test_loosely_alike_clusters_sharing_a_numbered_name_are_joined() -> None:
    # Two clusters whose centres' cosine is 0.25: below MERGE_SIMILARITY, above LOOSE.
    x = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 0.0], [0.25, 0.968], [0.25, 0.968]]))
    labels = np.array([0, 0, 1, 1])
    none = sp.csr_matrix((4, 4), dtype=bool)
    name = sp.csr_matrix(np.array([[1.0], [1.0], [1.0], [0.0]]))  # in 2/2 and 1/2 titles
    assert len(set(_join(labels, x, name, none))) == 1
    rare = sp.csr_matrix(np.array([[1.0], [1.0], [0.0], [0.0]]))  # in one cluster only
    assert len(set(_join(labels, x, rare, none))) == 2
    # A conflicting pair between them keeps them apart.
    conflict = sp.csr_matrix(([True, True], ([0, 2], [2, 0])), shape=(4, 4))
    assert len(set(_join(labels, x, name, conflict))) == 2
    # Texts not even loosely alike are not joined by a name.
    far = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 0.0], [0.1, 0.995], [0.1, 0.995]]))
    assert len(set(_join(labels, far, name, none))) == 2
