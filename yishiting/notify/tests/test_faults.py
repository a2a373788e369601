"""Robots that are down, then back: failures say "try again", nothing is lost or doubled."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from yishiting.notify.channels import (
    Channel,
    DeliveryResult,
    DingTalkRobot,
    FeishuRobot,
    Message,
    WeComRobot,
)
from yishiting.notify.ratelimit import LIMITS, RobotLimiter
from yishiting.notify.testing import (
    FakeClock,
    FakeDingTalkServer,
    FakeFeishuServer,
    FakeRobotServer,
    FakeWeComServer,
)


@pytest.fixture(params=["wecom", "dingtalk", "feishu"])
def robot(request: pytest.FixtureRequest) -> Iterator[tuple[str, FakeRobotServer, FakeClock]]:
    clock = FakeClock()
    server: FakeRobotServer
    if request.param == "wecom":
        server = FakeWeComServer(clock=clock)
    elif request.param == "dingtalk":
        server = FakeDingTalkServer(clock=clock)
    else:
        server = FakeFeishuServer(clock=clock)
    with server:
        yield request.param, server, clock


def client(name: str, server: FakeRobotServer, clock: FakeClock, timeout: float = 5.0) -> Channel:
    if isinstance(server, FakeWeComServer):
        return WeComRobot(server.webhook_url(), timeout=timeout)
    if isinstance(server, FakeDingTalkServer):
        return DingTalkRobot(server.webhook_url(), "SECtest-secret", timeout=timeout, clock=clock)
    assert isinstance(server, FakeFeishuServer)
    return FeishuRobot(server.webhook_url(), "test-secret", timeout=timeout, clock=clock)


def test_refused_then_back(robot: tuple[str, FakeRobotServer, FakeClock]) -> None:
    name, server, clock = robot
    channel = client(name, server, clock)
    server.down("refuse")
    result = channel.send(Message.text("一"))
    assert (result.ok, result.retry, result.rate_limited) == (False, True, False)
    assert "connection refused" in result.error
    assert "test-" not in result.error  # the key and the hook id stay out of messages
    server.up()
    assert channel.send(Message.text("一")).ok
    assert len(server.received) == 1


def test_gateway_errors_then_back(robot: tuple[str, FakeRobotServer, FakeClock]) -> None:
    name, server, clock = robot
    channel = client(name, server, clock)
    for status in (502, 503, 504):
        server.down("error", status=status)
        result = channel.send(Message.text("一"))
        assert (result.ok, result.retry, result.error) == (False, True, f"HTTP {status}")
    server.up()
    assert channel.send(Message.text("一")).ok
    assert len(server.received) == 1


def test_hanging_server_times_out(robot: tuple[str, FakeRobotServer, FakeClock]) -> None:
    name, server, clock = robot
    channel = client(name, server, clock, timeout=0.2)
    server.down("hang")
    result = channel.send(Message.text("一"))
    assert (result.ok, result.retry) == (False, True)
    assert "timed out" in result.error
    server.up()
    assert channel.send(Message.text("二")).ok
    assert [r.body for r in server.received if "二" in str(r.body)] != []
    assert not any("一" in str(r.body) for r in server.received)


def test_which_failures_may_have_delivered(robot: tuple[str, FakeRobotServer, FakeClock]) -> None:
    """``uncertain`` is set only when the message may have arrived after all."""
    name, server, clock = robot
    channel = client(name, server, clock, timeout=0.2)
    outcomes = {}
    for how, status in [("refuse", 0), ("error", 502), ("error", 504), ("hang", 0)]:
        server.down(how, status=status or 502)
        outcomes[how, status] = channel.send(Message.text(f"{how}{status}")).uncertain
        server.up()
    assert outcomes == {
        ("refuse", 0): False,
        ("error", 502): False,
        ("error", 504): True,
        ("hang", 0): True,
    }
    assert server.received == []

    server.down("lose-reply")
    result = channel.send(Message.text("到了吗"))
    assert (result.ok, result.retry, result.uncertain) == (False, True, True)
    assert len(server.received) == 1  # it did reach the group
    server.up()
    assert channel.send(Message.text("到了吗")).ok
    assert len(server.received) == 2  # so retrying an uncertain failure may show it twice


KEY = re.compile(r"诉求(\d+)")


def keys_in(body: object) -> list[int]:
    return [int(k) for k in KEY.findall(str(body))]


@pytest.mark.parametrize("name", ["wecom", "dingtalk", "feishu"])
def test_outage_and_burst_deliver_everything_once_in_order(name: str) -> None:
    """A burst of 60 notifications while the robot is down, refused, then failing, then back:
    a worker loop that follows the limiter's plans and retries what failed gets every one
    through exactly once, in order, without a single rate-limit refusal."""
    clock = FakeClock()
    servers = {
        "wecom": lambda: FakeWeComServer(clock=clock),
        "dingtalk": lambda: FakeDingTalkServer(clock=clock),
        "feishu": lambda: FakeFeishuServer(clock=clock),
    }
    with servers[name]() as server:
        channel = client(name, server, clock)
        limiter = RobotLimiter(LIMITS[name])
        queue = [
            (i, Message.news(f"诉求{i}", f"第{i}条", f"https://yst.example.gov.cn/r/{i}"))
            for i in range(60)
        ]
        outage: dict[int, tuple[str, int]] = {0: ("refuse", 0), 5: ("error", 503), 12: ("up", 0)}
        backoff = 1.0
        for step in range(200):
            if step in outage:
                how, status = outage[step]
                if how == "up":
                    server.up()
                else:
                    server.down(how, status=status or 502)
            if not queue:
                break
            now = clock()
            result_plan = limiter.plan(queue, now)
            failed: DeliveryResult | None = None
            done: set[int] = set()
            for send in result_plan.sends:
                limiter.sent(now)
                result = channel.send(send.message)
                if not result.ok:
                    failed = result
                    break
                done.update(send.keys)
            queue = [item for item in queue if item[0] not in done]
            if failed is not None:
                assert failed.retry and not failed.rate_limited, failed
                clock.advance(backoff)
                backoff = min(backoff * 2, 60.0)
            else:
                backoff = 1.0
                wait = result_plan.wait_until
                clock.advance(max((wait or clock()) - clock(), 0.5))
        assert queue == []
        delivered = [k for r in server.received for k in keys_in(r.body)]
        assert delivered == list(range(60))
        assert any("汇总" in str(r.body) for r in server.received)  # the burst was folded
        assert all(a.code in (0, None) for a in server.answers), [
            a for a in server.answers if a.code not in (0, None)
        ]
