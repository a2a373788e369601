"""Each robot client against its local fake: the exact request, the signature, the answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

import pytest

from yishiting.notify.channels import DingTalkRobot, FeishuRobot, Message, WeComRobot
from yishiting.notify.channels.base import post_json
from yishiting.notify.testing import (
    FakeClock,
    FakeDingTalkServer,
    FakeFeishuServer,
    FakeWeComServer,
)

URL = "https://yst.example.gov.cn/r/42"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def wecom(clock: FakeClock) -> Iterator[FakeWeComServer]:
    with FakeWeComServer(keys=["k-1", "k-2"], clock=clock) as server:
        yield server


@pytest.fixture
def ding(clock: FakeClock) -> Iterator[FakeDingTalkServer]:
    robots = {"t-signed": "SECabc123", "t-plain": None}
    with FakeDingTalkServer(robots, clock=clock) as server:
        yield server


@pytest.fixture
def lark(clock: FakeClock) -> Iterator[FakeFeishuServer]:
    with FakeFeishuServer({"h-signed": "s3cret", "h-plain": None}, clock=clock) as server:
        yield server


# --- WeCom ------------------------------------------------------------------------------------


def test_wecom_text(wecom: FakeWeComServer) -> None:
    robot = WeComRobot(wecom.webhook_url("k-1"))
    message = Message.text("东关村有新诉求：路灯不亮", url=URL, mention_mobiles=("13800001111",))
    assert robot.send(message).ok
    [got] = wecom.received
    assert got.path == "/cgi-bin/webhook/send"
    assert got.query == {"key": "k-1"}
    assert got.headers["content-type"] == "application/json; charset=utf-8"
    assert got.body == {
        "msgtype": "text",
        "text": {
            "content": f"东关村有新诉求：路灯不亮\n详情：{URL}",
            "mentioned_mobile_list": ["13800001111"],
        },
    }


def test_wecom_markdown_and_news(wecom: FakeWeComServer) -> None:
    robot = WeComRobot(wecom.webhook_url("k-2"))
    assert robot.send(Message.markdown("诉求超时", "**路灯不亮** 已超时 5 分钟", url=URL)).ok
    assert robot.send(Message.news("路灯不亮", "东关村 3 号路灯", URL)).ok
    markdown, news = (r.body for r in wecom.received)
    assert markdown == {
        "msgtype": "markdown",
        "markdown": {"content": f"**诉求超时**\n**路灯不亮** 已超时 5 分钟\n[查看详情]({URL})"},
    }
    assert news == {
        "msgtype": "news",
        "news": {"articles": [{"title": "路灯不亮", "description": "东关村 3 号路灯", "url": URL}]},
    }


def test_wecom_long_texts_are_cut_to_the_limits(wecom: FakeWeComServer) -> None:
    robot = WeComRobot(wecom.webhook_url("k-1"))
    long = "很长的诉求内容" * 1000
    assert robot.send(Message.text(long)).ok
    assert robot.send(Message.markdown("标题", long, url=URL)).ok
    assert robot.send(Message.news("标" * 100, long, URL)).ok
    text, markdown, news = (r.body for r in wecom.received)
    assert len(text["text"]["content"].encode()) <= 2048
    assert len(markdown["markdown"]["content"].encode()) <= 4096
    assert markdown["markdown"]["content"].endswith(f"[查看详情]({URL})")
    article = news["news"]["articles"][0]
    assert len(article["title"].encode()) <= 128
    assert len(article["description"].encode()) <= 512


def test_wecom_bad_key_is_permanent_and_does_not_leak(wecom: FakeWeComServer) -> None:
    result = WeComRobot(wecom.webhook_url("k-secret-wrong")).send(Message.text("hi"))
    assert (result.ok, result.retry) == (False, False)
    assert "93000" in result.error
    assert "k-secret-wrong" not in result.error
    assert "k-secret-wrong" not in repr(WeComRobot(wecom.webhook_url("k-secret-wrong")))


def test_wecom_rate_limit_45009(wecom: FakeWeComServer, clock: FakeClock) -> None:
    robot = WeComRobot(wecom.webhook_url("k-1"))
    for i in range(20):
        assert robot.send(Message.text(f"第{i}条")).ok
        clock.advance(1)
    refused = robot.send(Message.text("第21条"))
    assert (refused.ok, refused.retry, refused.rate_limited) == (False, True, True)
    assert refused.retry_after == 60
    assert "45009" in refused.error
    # Another robot has its own minute.
    assert WeComRobot(wecom.webhook_url("k-2")).send(Message.text("别的群")).ok
    clock.advance(40)  # the first send is now more than a minute old
    assert robot.send(Message.text("第21条")).ok
    assert len(wecom.received) == 22


def test_wecom_fake_checks_the_format(wecom: FakeWeComServer) -> None:
    url = wecom.webhook_url("k-1")
    cases = [
        ({"msgtype": "txt", "txt": {"content": "x"}}, 40008),
        ({"msgtype": "text", "text": {"content": ""}}, 40058),
        ({"msgtype": "text", "text": {"content": "x", "mentioned": []}}, 40058),
        ({"msgtype": "text", "text": {"content": "x"}, "extra": 1}, 40058),
        ({"msgtype": "news", "news": {"articles": []}}, 40058),
        ({"msgtype": "news", "news": {"articles": [{"title": "t", "url": "ftp://x"}]}}, 40058),
        ({"msgtype": "markdown", "markdown": {"content": "x" * 4097}}, 40058),
    ]
    for body, code in cases:
        reply = post_json(url, body, timeout=5).json()
        assert reply is not None and reply["errcode"] == code, body
    assert wecom.received == []


# --- DingTalk ---------------------------------------------------------------------------------


def test_dingtalk_signed_text(ding: FakeDingTalkServer, clock: FakeClock) -> None:
    robot = DingTalkRobot(ding.webhook_url("t-signed"), "SECabc123", clock=clock)
    message = Message.text("西关村有新诉求", url=URL, mention_mobiles=("13800001111",))
    assert robot.send(message).ok
    [got] = ding.received
    assert got.path == "/robot/send"
    assert got.query["access_token"] == "t-signed"
    assert got.query["timestamp"] == str(int(clock.now * 1000))
    assert got.body == {
        "msgtype": "text",
        "text": {"content": f"西关村有新诉求\n详情：{URL} @13800001111"},
        "at": {"atMobiles": ["13800001111"], "isAtAll": False},
    }


def test_dingtalk_markdown_action_card_and_link(ding: FakeDingTalkServer, clock: FakeClock) -> None:
    robot = DingTalkRobot(ding.webhook_url("t-signed"), "SECabc123", clock=clock)
    assert robot.send(Message.markdown("日报", "第一行\n第二行")).ok
    assert robot.send(Message.markdown("诉求超时", "**路灯不亮**", url=URL)).ok
    assert robot.send(Message.news("路灯不亮", "东关村", URL, picurl=URL + ".jpg")).ok
    markdown, card, link = (r.body for r in ding.received)
    assert markdown == {
        "msgtype": "markdown",
        "markdown": {"title": "日报", "text": "#### 日报\n\n第一行\n\n第二行"},
        "at": {"atMobiles": [], "isAtAll": False},
    }
    assert card == {
        "msgtype": "actionCard",
        "actionCard": {
            "title": "诉求超时",
            "text": "#### 诉求超时\n\n**路灯不亮**",
            "btnOrientation": "0",
            "singleTitle": "查看详情",
            "singleURL": URL,
        },
    }
    assert link == {
        "msgtype": "link",
        "link": {"title": "路灯不亮", "text": "东关村", "messageUrl": URL, "picUrl": URL + ".jpg"},
    }


def test_dingtalk_unsigned_robot(ding: FakeDingTalkServer, clock: FakeClock) -> None:
    robot = DingTalkRobot(ding.webhook_url("t-plain"), clock=clock)
    assert robot.send(Message.text("hi")).ok
    assert set(ding.received[0].query) == {"access_token"}


def test_dingtalk_wrong_secret_or_stale_clock(ding: FakeDingTalkServer, clock: FakeClock) -> None:
    wrong = DingTalkRobot(ding.webhook_url("t-signed"), "SECwrong", clock=clock)
    result = wrong.send(Message.text("hi"))
    assert (result.ok, result.retry) == (False, False)
    assert "310000" in result.error and "sign not match" in result.error
    assert "SECwrong" not in result.error

    behind = FakeClock(clock.now - 3601)
    stale = DingTalkRobot(ding.webhook_url("t-signed"), "SECabc123", clock=behind)
    result = stale.send(Message.text("hi"))
    assert (result.ok, result.retry) == (False, False)
    assert "invalid timestamp" in result.error
    behind.advance(2)  # within the hour again
    assert stale.send(Message.text("hi")).ok


def test_dingtalk_unknown_token(ding: FakeDingTalkServer, clock: FakeClock) -> None:
    result = DingTalkRobot(ding.webhook_url("nope"), clock=clock).send(Message.text("hi"))
    assert (result.ok, result.retry) == (False, False)


def test_dingtalk_keywords(clock: FakeClock) -> None:
    with FakeDingTalkServer({"t": None}, keywords=["议事厅"], clock=clock) as server:
        robot = DingTalkRobot(server.webhook_url("t"), clock=clock)
        result = robot.send(Message.text("没有关键词"))
        assert not result.ok and "keywords not in content" in result.error
        assert robot.send(Message.markdown("议事厅通知", "有关键词")).ok


def test_dingtalk_rate_limit_130101_blocks_ten_minutes(
    ding: FakeDingTalkServer, clock: FakeClock
) -> None:
    robot = DingTalkRobot(ding.webhook_url("t-signed"), "SECabc123", clock=clock)
    for i in range(20):
        assert robot.send(Message.text(f"第{i}条")).ok
    refused = robot.send(Message.text("第21条"))
    assert (refused.ok, refused.retry, refused.rate_limited) == (False, True, True)
    assert refused.retry_after == 600
    assert "130101" in refused.error
    clock.advance(61)  # a fresh minute, but the robot is throttled for 10 minutes
    assert robot.send(Message.text("第21条")).rate_limited
    clock.advance(600)
    assert robot.send(Message.text("第21条")).ok
    assert len(ding.received) == 21


def test_dingtalk_fake_checks_the_format(ding: FakeDingTalkServer) -> None:
    url = ding.webhook_url("t-plain")
    cases = [
        ({"msgtype": "text", "text": {"content": "x"}, "at": {"atMobiles": "138"}}, 40035),
        ({"msgtype": "link", "link": {"title": "t", "text": "x"}}, 40035),
        ({"msgtype": "actionCard", "actionCard": {"title": "t", "text": "x"}}, 40035),
        ({"msgtype": "markdown", "markdown": {"text": "x"}}, 40035),
        ({"msgtype": "image", "image": {}}, 400105),
    ]
    for body, code in cases:
        reply = post_json(url, body, timeout=5).json()
        assert reply is not None and reply["errcode"] == code, body
    signed = ding.webhook_url("t-signed")  # no timestamp or sign at all
    reply = post_json(signed, {"msgtype": "text", "text": {"content": "x"}}, timeout=5).json()
    assert reply == {"errcode": 310000, "errmsg": "invalid timestamp"}
    assert ding.received == []


# --- Feishu -----------------------------------------------------------------------------------


def test_feishu_signed_text(lark: FakeFeishuServer, clock: FakeClock) -> None:
    robot = FeishuRobot(lark.webhook_url("h-signed"), "s3cret", clock=clock)
    assert robot.send(Message.text("东关村有新诉求", url=URL)).ok
    [got] = lark.received
    assert got.path == "/open-apis/bot/v2/hook/h-signed"
    assert got.query == {}
    body = dict(got.body)
    assert body.pop("timestamp") == str(int(clock.now))
    assert isinstance(body.pop("sign"), str)
    assert body == {"msg_type": "text", "content": {"text": f"东关村有新诉求\n详情：{URL}"}}


def test_feishu_post_and_card(lark: FakeFeishuServer, clock: FakeClock) -> None:
    robot = FeishuRobot(lark.webhook_url("h-plain"), clock=clock)
    assert robot.send(Message.news("路灯不亮", "东关村 3 号路灯", URL)).ok
    assert robot.send(Message.markdown("诉求超时", "**路灯不亮** 已超时", url=URL)).ok
    post, card = (r.body for r in lark.received)
    assert post == {
        "msg_type": "post",
        "content": {
            "post": {
                "zh_cn": {
                    "title": "路灯不亮",
                    "content": [
                        [{"tag": "text", "text": "东关村 3 号路灯"}],
                        [{"tag": "a", "text": "查看详情", "href": URL}],
                    ],
                }
            }
        },
    }
    assert card == {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": "诉求超时"}, "template": "blue"},
            "elements": [
                {"tag": "div", "text": {"tag": "lark_md", "content": "**路灯不亮** 已超时"}},
                {
                    "tag": "action",
                    "actions": [
                        {
                            "tag": "button",
                            "text": {"tag": "plain_text", "content": "查看详情"},
                            "type": "primary",
                            "url": URL,
                        }
                    ],
                },
            ],
        },
    }


def test_feishu_wrong_secret_or_stale_clock(lark: FakeFeishuServer, clock: FakeClock) -> None:
    result = FeishuRobot(lark.webhook_url("h-signed"), "nope", clock=clock).send(Message.text("x"))
    assert (result.ok, result.retry) == (False, False)
    assert "19021" in result.error
    ahead = FakeClock(clock.now + 3601)
    result = FeishuRobot(lark.webhook_url("h-signed"), "s3cret", clock=ahead).send(
        Message.text("x")
    )
    assert "19021" in result.error
    assert lark.received == []


def test_feishu_unknown_hook_and_bad_body(lark: FakeFeishuServer, clock: FakeClock) -> None:
    result = FeishuRobot(lark.webhook_url("h-none"), clock=clock).send(Message.text("x"))
    assert (result.ok, result.retry) == (False, False)
    assert "19001" in result.error
    reply = post_json(lark.webhook_url("h-plain"), {"msg_type": "text"}, timeout=5)
    assert reply.status == 400
    assert reply.json() == {"code": 9499, "msg": "Bad Request", "data": {}}
    huge = {"msg_type": "text", "content": {"text": "x" * 30000}}
    assert post_json(lark.webhook_url("h-plain"), huge, timeout=5).status == 400
    # The client keeps its bodies under 20 KB, escapes included.
    robot = FeishuRobot(lark.webhook_url("h-plain"), clock=clock)
    assert robot.send(Message.text("很" * 20000)).ok
    assert robot.send(Message.markdown('"' * 5000, '"\n' * 20000, url=URL)).ok
    assert robot.send(Message.news("标题", "\n" * 20000, URL)).ok


def test_feishu_five_a_second(lark: FakeFeishuServer, clock: FakeClock) -> None:
    robot = FeishuRobot(lark.webhook_url("h-signed"), "s3cret", clock=clock)
    for _ in range(5):
        assert robot.send(Message.text("x")).ok
    refused = robot.send(Message.text("x"))
    assert (refused.ok, refused.retry, refused.rate_limited) == (False, True, True)
    assert "9499" in refused.error and "too many request" in refused.error
    clock.advance(1.0)
    assert robot.send(Message.text("x")).ok


def test_feishu_hundred_a_minute(lark: FakeFeishuServer, clock: FakeClock) -> None:
    robot = FeishuRobot(lark.webhook_url("h-plain"), clock=clock)
    for _ in range(100):
        assert robot.send(Message.text("x")).ok
        clock.advance(0.25)  # 4 a second: under 5/s, 100 in 25 s
    assert robot.send(Message.text("x")).rate_limited
    clock.advance(35)  # the first send leaves the minute
    assert robot.send(Message.text("x")).ok


def test_feishu_busy_11232(lark: FakeFeishuServer, clock: FakeClock) -> None:
    lark.busy = True
    result = FeishuRobot(lark.webhook_url("h-plain"), clock=clock).send(Message.text("x"))
    assert (result.ok, result.retry, result.rate_limited) == (False, True, True)
    assert "11232" in result.error


# --- shared ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [WeComRobot, DingTalkRobot, FeishuRobot])
def test_only_http_urls(cls: type) -> None:
    for url in ["file:///etc/passwd", "ftp://example.com/x", "http://", "robot"]:
        with pytest.raises(ValueError):
            cls(url)


def test_a_redirect_is_not_followed(wecom: FakeWeComServer) -> None:
    # A robot never redirects; a 3xx is reported, not followed with a GET elsewhere.
    target = wecom.webhook_url("k-1")

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=k-1"
        result = WeComRobot(url).send(Message.text("x"))
    finally:
        thread.join()
        server.server_close()
    assert (result.ok, result.retry, result.error) == (False, False, "HTTP 302")
    assert wecom.received == []


def test_messages_validate_links() -> None:
    with pytest.raises(ValueError):
        Message.news("t", "d", "javascript:alert(1)")
    with pytest.raises(ValueError):
        Message.text("")
    assert json.loads(json.dumps(Message.text("x").plain())) == "x"
    assert urlsplit(URL).scheme == "https"


def test_robot_factory(wecom: FakeWeComServer) -> None:
    from yishiting.notify.channels import ROBOTS, robot
    from yishiting.notify.ratelimit import LIMITS

    assert set(ROBOTS) == set(LIMITS)
    assert isinstance(robot("wecom", wecom.webhook_url("k-1")), WeComRobot)
    assert robot("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t", "SEC").secret
    assert isinstance(
        robot("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/h"), FeishuRobot
    )
    for kind, url, secret in [
        ("wecom", wecom.webhook_url("k-1"), "x"),
        ("slack", "https://hooks.slack.com/x", ""),
        ("dingtalk", "file:///etc/passwd", ""),
    ]:
        with pytest.raises(ValueError):
            robot(kind, url, secret)
