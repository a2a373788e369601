"""The per-robot limiter and the digests: nothing dropped, order kept, limits never exceeded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from yishiting.notify.channels import Message, MessageKind
from yishiting.notify.ratelimit import (
    DINGTALK,
    FEISHU,
    LIMITS,
    WECOM,
    RobotLimiter,
    RobotLimits,
    Window,
    capacity,
    digest,
    next_free,
    plan,
)

T0 = 1_700_000_000.0


def pending(n: int, start: int = 0) -> list[tuple[int, Message]]:
    return [
        (i, Message.news(f"诉求{i}", f"第{i}条诉求的内容", f"https://yst.example.gov.cn/r/{i}"))
        for i in range(start, start + n)
    ]


def test_published_limits() -> None:
    assert set(LIMITS) == {"wecom", "dingtalk", "feishu"}
    assert [(w.limit, round(w.seconds)) for w in WECOM.windows] == [(20, 61)]
    assert [(w.limit, round(w.seconds)) for w in DINGTALK.windows] == [(20, 61)]
    assert [(w.limit, round(w.seconds)) for w in FEISHU.windows] == [(100, 61), (5, 1)]
    assert DINGTALK.penalty == 600


def test_capacity_and_next_free_wecom() -> None:
    assert capacity(WECOM, [], T0) == 20
    sent = [T0 + i for i in range(20)]  # one a second
    now = T0 + 20
    assert capacity(WECOM, sent, now) == 0
    assert next_free(WECOM, sent, now) == T0 + 61  # the first leaves the window
    assert capacity(WECOM, sent, T0 + 61) == 1
    assert capacity(WECOM, sent, T0 + 62) == 2
    assert next_free(WECOM, sent[:5], now) == now


def test_capacity_feishu_takes_the_tighter_window() -> None:
    assert capacity(FEISHU, [], T0) == 5
    assert capacity(FEISHU, [T0] * 5, T0) == 0
    assert next_free(FEISHU, [T0] * 5, T0) == T0 + 1.1
    busy_minute = [T0 + i * 0.25 for i in range(100)]
    now = T0 + 25
    assert capacity(FEISHU, busy_minute, now) == 0
    assert next_free(FEISHU, busy_minute, now) == T0 + 61


def test_blocked_robot_has_no_room() -> None:
    assert capacity(DINGTALK, [], T0, blocked_until=T0 + 600) == 0
    assert next_free(DINGTALK, [], T0, blocked_until=T0 + 600) == T0 + 600
    assert capacity(DINGTALK, [], T0 + 600, blocked_until=T0 + 600) == 20


def test_within_capacity_each_message_goes_alone() -> None:
    result = plan(pending(3), WECOM, [], T0)
    assert [s.keys for s in result.sends] == [(0,), (1,), (2,)]
    assert [s.message for s in result.sends] == [m for _, m in pending(3)]
    assert result.deferred == () and result.wait_until is None


def test_over_capacity_messages_fold_into_digests() -> None:
    sent = [T0 - 30 + i for i in range(18)]  # room for 2 more
    result = plan(pending(30), WECOM, sent, T0)
    assert [len(s.keys) for s in result.sends] == [20, 10]
    assert [k for s in result.sends for k in s.keys] == list(range(30))
    first = result.sends[0].message
    assert first.kind is MessageKind.MARKDOWN
    assert first.title == "议事厅通知汇总（20条）"
    lines = first.body.split("\n")
    assert lines[0] == ("1. **诉求0** 第0条诉求的内容 [查看](https://yst.example.gov.cn/r/0)")
    assert lines[-1].startswith("20. **诉求19**")
    assert result.deferred == ()


def test_no_room_defers_everything_until_the_next_slot() -> None:
    sent = [T0 - 10] * 20
    result = plan(pending(5), WECOM, sent, T0)
    assert result.sends == ()
    assert result.deferred == (0, 1, 2, 3, 4)
    assert result.wait_until == T0 - 10 + 61


def test_more_digests_than_room_defers_the_rest_in_order() -> None:
    result = plan(pending(100), FEISHU, [T0 - 0.5] * 3, T0)  # 2 slots this second
    assert [len(s.keys) for s in result.sends] == [20, 20]
    assert result.deferred == tuple(range(40, 100))
    assert result.wait_until == T0 - 0.5 + 1.1


def test_a_digest_respects_the_robot_size() -> None:
    big = [(i, Message.markdown(f"标题{i}", "很" * 3000, url="https://x.cn/r")) for i in range(8)]
    # A digest line is about 220 bytes here (the summary is cut to 60 characters): two fit.
    small = RobotLimits("tiny", (Window(1, 60),), penalty=60, digest_max_bytes=500)
    result = plan(big, small, [], T0)
    assert [s.keys for s in result.sends] == [(0, 1)]
    assert len(result.sends[0].message.body.encode()) <= 500
    assert result.deferred == tuple(range(2, 8))


def test_an_oversized_message_still_goes_on_its_own() -> None:
    huge = Message.text("很" * 10_000)
    small = RobotLimits("tiny", (Window(1, 60),), penalty=60, digest_max_bytes=100)
    result = plan([(1, huge), (2, huge)], small, [], T0)
    assert [s.keys for s in result.sends] == [(1,)]
    assert result.sends[0].message is huge
    assert result.deferred == (2,)


def test_digest_of_one_is_the_message_and_mentions_are_kept() -> None:
    one = Message.text("x", mention_mobiles=("13800001111",))
    assert digest([one]) is one
    two = digest([one, Message.text("y", mention_mobiles=("13800001111", "13900002222"))])
    assert two.mention_mobiles == ("13800001111", "13900002222")


def _respects(limits: RobotLimits, times: list[float]) -> bool:
    """No stretch of a window's length (without our margin) holds more than its limit."""
    exact = [Window(w.limit, float(round(w.seconds))) for w in limits.windows]
    times = sorted(times)
    for w in exact:
        for i, t in enumerate(times):
            inside = [u for u in times[i:] if u < t + w.seconds]
            if len(inside) > w.limit:
                return False
    return True


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(LIMITS)),
    arrivals=st.lists(st.floats(min_value=0, max_value=300), min_size=1, max_size=150),
    step=st.sampled_from([0.05, 0.5, 1.0, 7.0]),
)
def test_simulation_delivers_everything_in_order_within_limits(
    name: str, arrivals: list[float], step: float
) -> None:
    """Messages arrive over five minutes; a worker plans every ``step`` seconds (or when told
    to wait) and sends what the plan says. Every message goes out exactly once, in arrival
    order, and the robot never sees more than its limits."""
    limits = LIMITS[name]
    limiter = RobotLimiter(limits)
    arrivals = sorted(arrivals)
    queue: list[tuple[int, Message]] = []
    delivered: list[int] = []
    send_times: list[float] = []
    now, nxt = 0.0, 0
    while nxt < len(arrivals) or queue:
        while nxt < len(arrivals) and arrivals[nxt] <= now:
            queue.extend(pending(1, nxt))
            nxt += 1
        result = limiter.plan(queue, now)
        for send in result.sends:
            limiter.sent(now)
            send_times.append(now)
            delivered.extend(send.keys)
        queue = [item for item in queue if item[0] in set(result.deferred)]
        assert [k for k, _ in queue] == list(result.deferred)
        upcoming = [now + step]
        if nxt < len(arrivals):
            upcoming.append(arrivals[nxt])
        if result.wait_until is not None:
            upcoming.append(result.wait_until)
        now = max(min(upcoming), now + 1e-3)
    assert delivered == list(range(len(arrivals)))
    assert _respects(limits, send_times)


def test_limiter_refused_holds_the_robot() -> None:
    limiter = RobotLimiter(DINGTALK)
    limiter.refused(T0)
    assert limiter.capacity(T0 + 599) == 0
    assert limiter.capacity(T0 + 600) == 20
    limiter.refused(T0 + 600, retry_after=30)
    assert limiter.plan(pending(2), T0 + 610).wait_until == T0 + 630
