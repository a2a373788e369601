"""Local fake servers for WeCom, DingTalk and Feishu robots, for tests (and manual trials).

Each is a threaded ``http.server`` on 127.0.0.1 that checks a request the way the real service
does — method, path, query, Content-Type, the JSON body's schema, the signature and the
freshness of its timestamp — and answers as the real service does, including its rate-limit
refusals when a robot sends too much. The fakes are stricter than the real services in one
way: an unknown field in the body is refused, so that a client's typo cannot pass unnoticed.

A fake can be taken down and brought back: ``down("refuse")`` closes its socket (connections
are refused), ``down("error")`` answers every request with an HTTP 5xx page from "the gateway",
``down("hang")`` holds every request unanswered until ``up()`` (the client's timeout fires),
``down("lose-reply")`` accepts each message (it reaches the group) but drops the connection
before answering — the case where the sender cannot know, and a retry shows it twice.

Time comes from ``clock`` (``time.time`` by default): pass a ``FakeClock`` shared with the
client to test signatures, timestamps and rate limits without sleeping.

    with FakeWeComServer() as server:
        robot = WeComRobot(server.webhook_url())
        robot.send(Message.text("你好"))
        assert server.received[0].body == {"msgtype": "text", "text": {"content": "你好"}}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from yishiting.notify.channels import feishu


class FakeClock:
    """A clock that moves only when told: ``clock()`` is the time, ``advance(s)`` moves it."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Received:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float


@dataclass(frozen=True)
class Answer:
    """What the fake answered to one request (``code`` is the service's errcode or code)."""

    status: int
    code: int | None
    message: str
    detail: str = ""
    """Why, when the service's own message does not say (for test failures)."""
    request: Received | None = None


class Invalid(Exception):
    """The request breaks the protocol; ``code`` and the message are what the service says."""

    def __init__(self, code: int, message: str, status: int = 200, detail: str = "") -> None:
        super().__init__(detail or message)
        self.code = code
        self.message = message
        self.status = status
        self.detail = detail or message


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _dispatch(self) -> None:
        self.server.fake._handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeRobotServer


MAX_BODY = 1024 * 1024


class FakeRobotServer:
    """What the three fakes share: the socket, the up/down switch, the log of requests."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.received: list[Received] = []
        """Messages accepted (delivered to the "group"), in order of arrival."""
        self.answers: list[Answer] = []
        """Every answer given, accepted or not, in order."""
        self.mode = "up"
        self.error_status = 502
        self.port = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.fake = self
        self.port = server.server_address[1]
        self._server = server
        # A short poll keeps shutdown (and so ``down("refuse")`` and ``stop()``) quick.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def _close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def stop(self) -> None:
        self._release.set()
        self._close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def down(self, how: str = "refuse", *, status: int = 502) -> None:
        """Take the service down: ``refuse`` connections, answer with an HTTP ``error``
        (``status``), ``hang`` without answering until ``up()``, or ``lose-reply``: take the
        message and close the connection without an answer."""
        if how not in ("refuse", "error", "hang", "lose-reply"):
            raise ValueError(how)
        self._release.clear()
        self.mode, self.error_status = how, status
        if how == "refuse":
            self._close()

    def up(self) -> None:
        """Bring the service back, on the same port."""
        self.mode = "up"
        self._release.set()
        if self._server is None:
            self.start()

    # -- requests --------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        if self.mode == "hang":
            self._release.wait()
            handler.close_connection = True
            return
        # Read the whole body first: closing a socket with unread data resets the connection,
        # and the client would never see the answer.
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(min(length, MAX_BODY)) if length else b""
        if self.mode == "error":
            page = f"<html><body><h1>{self.error_status} Bad Gateway</h1></body></html>"
            self._reply(handler, self.error_status, page.encode(), "text/html")
            with self._lock:
                self.answers.append(Answer(self.error_status, None, "down"))
            return
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            now = self.clock()
            request = Received(handler.command, parts.path, query, headers, None, now)
            try:
                if handler.command != "POST":
                    raise Invalid(405, "method not allowed", status=405)
                if not headers.get("content-type", "").startswith("application/json"):
                    raise self.bad_body("Content-Type must be application/json")
                request = self.check(request, raw, now)
            except Invalid as refusal:
                self.answers.append(
                    Answer(refusal.status, refusal.code, refusal.message, refusal.detail, request)
                )
                status = refusal.status
                reply = json.dumps(self.error_body(refusal.code, refusal.message)).encode()
            else:
                self.received.append(request)
                self.answers.append(Answer(200, 0, "ok", "", request))
                status, reply = 200, json.dumps(self.ok_body()).encode()
        if self.mode == "lose-reply":
            handler.close_connection = True
            return
        self._reply(handler, status, reply, "application/json")

    @staticmethod
    def _reply(handler: _Handler, status: int, body: bytes, content_type: str) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", f"{content_type}; charset=utf-8")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first

    def parse_json(self, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise self.bad_body("the body is not UTF-8 JSON") from None
        if not isinstance(data, dict):
            raise self.bad_body("the body is not a JSON object")
        return data

    # -- per protocol ----------------------------------------------------------------------

    def check(self, request: Received, raw: bytes, now: float) -> Received:
        """The request, with its parsed body, if the service would accept it; else ``Invalid``."""
        raise NotImplementedError

    def bad_body(self, detail: str) -> Invalid:
        """The service's answer to a malformed body."""
        raise NotImplementedError

    def error_body(self, code: int, message: str) -> dict[str, Any]:
        return {"errcode": code, "errmsg": message}

    def ok_body(self) -> dict[str, Any]:
        return {"errcode": 0, "errmsg": "ok"}


# --- schema helpers ---------------------------------------------------------------------------


def _fields(
    obj: Any,
    where: str,
    required: Iterable[str],
    optional: Iterable[str] = (),
    *,
    fail: Callable[[str], Invalid],
) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise fail(f"{where} must be an object")
    required = set(required)
    missing = required - set(obj)
    if missing:
        raise fail(f"{where} misses {sorted(missing)}")
    unknown = set(obj) - required - set(optional)
    if unknown:
        raise fail(f"{where} has unknown fields {sorted(unknown)}")
    return obj


def _string(
    value: Any, where: str, *, fail: Callable[[str], Invalid], max_bytes: int | None = None
) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(f"{where} must be a non-empty string")
    if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
        raise fail(f"{where} exceed max length {max_bytes}")
    return value


def _link(value: Any, where: str, *, fail: Callable[[str], Invalid]) -> str:
    value = _string(value, where, fail=fail)
    if urlsplit(value).scheme not in ("http", "https"):
        raise fail(f"{where} is not an http(s) URL")
    return value


def _strings(value: Any, where: str, *, fail: Callable[[str], Invalid]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f"{where} must be a list of strings")
    return value


def _hmac_sha256_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


class _Window:
    """Accepted sends of one robot, for sliding-window limits."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.blocked_until = float("-inf")

    def count(self, now: float, seconds: float) -> int:
        return sum(1 for t in self.times if now - seconds < t <= now)


# --- WeCom ------------------------------------------------------------------------------------


class FakeWeComServer(FakeRobotServer):
    """WeCom group robots: ``POST /cgi-bin/webhook/send?key=KEY``, 20 messages a minute."""

    PATH = "/cgi-bin/webhook/send"
    LIMIT, PER = 20, 60.0

    def __init__(self, keys: Iterable[str] = ("test-key",), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keys = set(keys)
        self._windows: dict[str, _Window] = {}

    def webhook_url(self, key: str = "test-key") -> str:
        return f"{self.base_url}{self.PATH}?key={key}"

    def bad_body(self, detail: str) -> Invalid:
        return Invalid(40058, detail)

    def check(self, request: Received, raw: bytes, now: float) -> Received:
        if request.path != self.PATH:
            raise Invalid(404, "not found", status=404)
        key = request.query.get("key", "")
        if key not in self.keys:
            raise Invalid(93000, "invalid webhook url, hint: [fake]")
        body = self.parse_json(raw)
        self._schema(body)
        window = self._windows.setdefault(key, _Window())
        if window.count(now, self.PER) >= self.LIMIT:
            raise Invalid(45009, "api freq out of limit, hint: [fake]")
        window.times.append(now)
        return replace(request, body=body)

    def _schema(self, body: dict[str, Any]) -> None:
        fail = self.bad_body

        kind = body.get("msgtype")
        if kind not in ("text", "markdown", "news", "image", "file", "template_card"):
            raise Invalid(40008, "invalid message type")
        _fields(body, "body", ["msgtype", kind], fail=fail)
        inner = body[kind]
        if kind == "text":
            text = _fields(
                inner, "text", ["content"], ["mentioned_list", "mentioned_mobile_list"], fail=fail
            )
            _string(text["content"], "text.content", max_bytes=2048, fail=fail)
            for name in ("mentioned_list", "mentioned_mobile_list"):
                if name in text:
                    _strings(text[name], f"text.{name}", fail=fail)
        elif kind == "markdown":
            markdown = _fields(inner, "markdown", ["content"], fail=fail)
            _string(markdown["content"], "markdown.content", max_bytes=4096, fail=fail)
        elif kind == "news":
            news = _fields(inner, "news", ["articles"], fail=fail)
            articles = news["articles"]
            if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
                raise fail("news.articles must hold 1 to 8 articles")
            for i, article in enumerate(articles):
                where = f"news.articles[{i}]"
                _fields(article, where, ["title", "url"], ["description", "picurl"], fail=fail)
                _string(article["title"], f"{where}.title", max_bytes=128, fail=fail)
                _link(article["url"], f"{where}.url", fail=fail)
                if "description" in article and not isinstance(article["description"], str):
                    raise fail(f"{where}.description must be a string")
                if len(article.get("description", "").encode("utf-8")) > 512:
                    raise fail(f"{where}.description exceed max length 512")
                if "picurl" in article:
                    _link(article["picurl"], f"{where}.picurl", fail=fail)
        else:
            raise Invalid(40008, f"{kind} is not faked")


# --- DingTalk ---------------------------------------------------------------------------------


class FakeDingTalkServer(FakeRobotServer):
    """DingTalk custom robots: ``POST /robot/send?access_token=T[&timestamp=&sign=]``.

    ``robots`` maps access tokens to secrets (None: 加签 off). ``keywords``: the 自定义关键词
    security setting (a message must contain one). 20 messages a minute; the 21st gets 130101
    and the robot is throttled for 10 minutes.
    """

    PATH = "/robot/send"
    LIMIT, PER, PENALTY = 20, 60.0, 600.0
    SIGN_WINDOW = 3600.0

    def __init__(
        self,
        robots: Mapping[str, str | None] | None = None,
        *,
        keywords: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.robots = dict(robots if robots is not None else {"test-token": "SECtest-secret"})
        self.keywords = tuple(keywords)
        self._windows: dict[str, _Window] = {}

    def webhook_url(self, token: str = "test-token") -> str:
        return f"{self.base_url}{self.PATH}?access_token={token}"

    def bad_body(self, detail: str) -> Invalid:
        return Invalid(40035, f"缺少参数 json: {detail}")

    def check(self, request: Received, raw: bytes, now: float) -> Received:
        if request.path != self.PATH:
            raise Invalid(404, "not found", status=404)
        token = request.query.get("access_token", "")
        if token not in self.robots:
            raise Invalid(300001, "token is not exist")
        secret = self.robots[token]
        if secret:
            self._check_sign(request.query, secret, now)
        body = self.parse_json(raw)
        texts = self._schema(body)
        if self.keywords and not any(k in t for k in self.keywords for t in texts):
            raise Invalid(310000, "keywords not in content")
        window = self._windows.setdefault(token, _Window())
        if now < window.blocked_until:
            raise Invalid(130101, "send too fast, exceed 20 times per minute")
        if window.count(now, self.PER) >= self.LIMIT:
            window.blocked_until = now + self.PENALTY
            raise Invalid(130101, "send too fast, exceed 20 times per minute")
        window.times.append(now)
        return replace(request, body=body)

    def _check_sign(self, query: Mapping[str, str], secret: str, now: float) -> None:
        timestamp, given = query.get("timestamp", ""), query.get("sign", "")
        if not timestamp.isdigit():
            raise Invalid(310000, "invalid timestamp")
        if abs(now * 1000 - int(timestamp)) > self.SIGN_WINDOW * 1000:
            raise Invalid(310000, "invalid timestamp")
        # parse_qs has already URL-decoded the sign, as DingTalk does. Computed here from the
        # documented recipe, not with the client's code, so that the two check each other.
        expected = _hmac_sha256_b64(secret.encode(), f"{timestamp}\n{secret}".encode())
        if not hmac.compare_digest(given, expected):
            raise Invalid(310000, "sign not match, more: [fake]")

    def _schema(self, body: dict[str, Any]) -> list[str]:
        """Check the body; the texts that keywords are looked for in."""

        fail = self.bad_body

        kind = body.get("msgtype")
        if kind not in ("text", "markdown", "link", "actionCard", "feedCard"):
            raise Invalid(400105, "不支持的消息类型")
        _fields(body, "body", ["msgtype", kind], ["at"], fail=fail)
        if "at" in body:
            at = _fields(body["at"], "at", [], ["atMobiles", "atUserIds", "isAtAll"], fail=fail)
            for name in ("atMobiles", "atUserIds"):
                if name in at:
                    _strings(at[name], f"at.{name}", fail=fail)
            if "isAtAll" in at and not isinstance(at["isAtAll"], bool):
                raise fail("at.isAtAll must be a boolean")
        inner = body[kind]
        if kind == "text":
            text = _fields(inner, "text", ["content"], fail=fail)
            return [_string(text["content"], "text.content", fail=fail)]
        if kind == "markdown":
            md = _fields(inner, "markdown", ["title", "text"], fail=fail)
            return [_string(md[k], f"markdown.{k}", fail=fail) for k in ("title", "text")]
        if kind == "link":
            link = _fields(inner, "link", ["title", "text", "messageUrl"], ["picUrl"], fail=fail)
            _link(link["messageUrl"], "link.messageUrl", fail=fail)
            if "picUrl" in link:
                _link(link["picUrl"], "link.picUrl", fail=fail)
            return [_string(link[k], f"link.{k}", fail=fail) for k in ("title", "text")]
        if kind == "actionCard":
            card = _fields(
                inner,
                "actionCard",
                ["title", "text"],
                ["singleTitle", "singleURL", "btns", "btnOrientation"],
                fail=fail,
            )
            if "singleURL" in card:
                _string(card.get("singleTitle"), "actionCard.singleTitle", fail=fail)
                _link(card["singleURL"], "actionCard.singleURL", fail=fail)
            elif isinstance(card.get("btns"), list) and card["btns"]:
                for i, btn in enumerate(card["btns"]):
                    _fields(btn, f"actionCard.btns[{i}]", ["title", "actionURL"], fail=fail)
                    _link(btn["actionURL"], f"actionCard.btns[{i}].actionURL", fail=fail)
            else:
                raise fail("actionCard needs singleTitle and singleURL, or btns")
            if card.get("btnOrientation", "0") not in ("0", "1"):
                raise fail("actionCard.btnOrientation must be '0' or '1'")
            return [_string(card[k], f"actionCard.{k}", fail=fail) for k in ("title", "text")]
        raise Invalid(400105, f"{kind} is not faked")


# --- Feishu -----------------------------------------------------------------------------------


class FakeFeishuServer(FakeRobotServer):
    """Feishu custom bots: ``POST /open-apis/bot/v2/hook/<id>``, body at most 20 KB.

    ``hooks`` maps hook ids to secrets (None: 签名校验 off). 5 messages a second and 100 a
    minute; beyond, code 9499 "too many request". ``busy = True`` makes it refuse everything
    with 11232, as Feishu does under load.
    """

    PREFIX = "/open-apis/bot/v2/hook/"
    LIMITS = ((5, 1.0), (100, 60.0))
    SIGN_WINDOW = 3600.0
    MAX_BODY = 20 * 1024

    def __init__(self, hooks: Mapping[str, str | None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hooks = dict(hooks if hooks is not None else {"test-hook": "test-secret"})
        self.busy = False
        self._windows: dict[str, _Window] = {}

    def webhook_url(self, hook: str = "test-hook") -> str:
        return f"{self.base_url}{self.PREFIX}{hook}"

    def bad_body(self, detail: str) -> Invalid:
        return Invalid(feishu.BAD_REQUEST, "Bad Request", status=400, detail=detail)

    def error_body(self, code: int, message: str) -> dict[str, Any]:
        return {"code": code, "msg": message, "data": {}}

    def ok_body(self) -> dict[str, Any]:
        return {
            "StatusCode": 0,
            "StatusMessage": "success",
            "code": 0,
            "data": {},
            "msg": "success",
        }

    def check(self, request: Received, raw: bytes, now: float) -> Received:
        if not request.path.startswith(self.PREFIX):
            raise Invalid(404, "not found", status=404)
        hook = request.path[len(self.PREFIX) :]
        if hook not in self.hooks:
            raise Invalid(19001, "param invalid: incoming webhook access token invalid")
        if len(raw) > self.MAX_BODY:
            raise self.bad_body("the body is over 20 KB")
        body = self.parse_json(raw)
        secret = self.hooks[hook]
        if secret:
            self._check_sign(body, secret, now)
        self._schema(body)
        if self.busy:
            raise Invalid(11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]")
        window = self._windows.setdefault(hook, _Window())
        if any(window.count(now, per) >= limit for limit, per in self.LIMITS):
            raise Invalid(feishu.BAD_REQUEST, "too many request", status=400)
        window.times.append(now)
        return replace(request, body=body)

    def _check_sign(self, body: dict[str, Any], secret: str, now: float) -> None:
        timestamp, given = str(body.get("timestamp", "")), str(body.get("sign", ""))
        # The documented recipe, not the client's code: the key is the string to sign.
        expected = _hmac_sha256_b64(f"{timestamp}\n{secret}".encode(), b"")
        if (
            not timestamp.isdigit()
            or abs(now - int(timestamp)) > self.SIGN_WINDOW
            or not hmac.compare_digest(given, expected)
        ):
            raise Invalid(
                feishu.SIGN_FAILED,
                "sign match fail or timestamp is not within one hour from current time",
            )

    def _schema(self, body: dict[str, Any]) -> None:
        fail = self.bad_body

        kind = body.get("msg_type")
        signed = ["timestamp", "sign"]
        if kind == "interactive":
            _fields(body, "body", ["msg_type", "card"], signed, fail=fail)
            self._card(body["card"], fail)
            return
        _fields(body, "body", ["msg_type", "content"], signed, fail=fail)
        if kind == "text":
            content = _fields(body["content"], "content", ["text"], fail=fail)
            _string(content["text"], "content.text", fail=fail)
        elif kind == "post":
            content = _fields(body["content"], "content", ["post"], fail=fail)
            post = _fields(content["post"], "post", [], ["zh_cn", "en_us", "ja_jp"], fail=fail)
            if not post:
                raise fail("post needs a language")
            for lang, value in post.items():
                self._post(value, lang, fail)
        else:
            raise fail(f"msg_type {kind!r} is not faked")

    @staticmethod
    def _post(value: Any, lang: str, fail: Callable[[str], Invalid]) -> None:
        post = _fields(value, lang, ["content"], ["title"], fail=fail)
        if not isinstance(post.get("title", ""), str):
            raise fail("title must be a string")
        lines = post["content"]
        if not isinstance(lines, list) or not all(isinstance(line, list) for line in lines):
            raise fail("content must be a list of lines")
        needs = {"text": ["text"], "a": ["text", "href"], "at": ["user_id"], "img": ["image_key"]}
        for line in lines:
            for node in line:
                tag = node.get("tag") if isinstance(node, dict) else None
                if tag not in needs:
                    raise fail(f"unknown tag {tag!r}")
                optional = ["un_escape", "style", "user_name"]
                _fields(node, tag, ["tag", *needs[tag]], optional, fail=fail)
                if tag == "a":
                    _link(node["href"], "a.href", fail=fail)

    @staticmethod
    def _card(card: Any, fail: Callable[[str], Invalid]) -> None:
        card = _fields(card, "card", ["elements"], ["config", "header", "card_link"], fail=fail)
        if "header" in card:
            header = _fields(card["header"], "header", ["title"], ["template"], fail=fail)
            title = _fields(header["title"], "header.title", ["tag", "content"], fail=fail)
            if title["tag"] != "plain_text":
                raise fail("header.title.tag must be plain_text")
            _string(title["content"], "header.title.content", fail=fail)
        elements = card["elements"]
        if not isinstance(elements, list) or not elements:
            raise fail("card.elements must be a non-empty list")
        for element in elements:
            tag = element.get("tag") if isinstance(element, dict) else None
            if tag == "div":
                div = _fields(element, "div", ["tag", "text"], ["fields", "extra"], fail=fail)
                text = _fields(div["text"], "div.text", ["tag", "content"], fail=fail)
                if text["tag"] not in ("plain_text", "lark_md"):
                    raise fail("div.text.tag must be plain_text or lark_md")
                _string(text["content"], "div.text.content", fail=fail)
            elif tag == "action":
                action = _fields(element, "action", ["tag", "actions"], ["layout"], fail=fail)
                if not isinstance(action["actions"], list) or not action["actions"]:
                    raise fail("action.actions must be a non-empty list")
                for button in action["actions"]:
                    _fields(button, "button", ["tag", "text"], ["type", "url", "value"], fail=fail)
                    if "url" in button:
                        _link(button["url"], "button.url", fail=fail)
            elif tag not in ("hr", "note", "markdown", "img"):
                raise fail(f"unknown element {tag!r}")


# --- outbound webhooks ------------------------------------------------------------------------


class FakeWebhookReceiver(FakeRobotServer):
    """A receiver of Yishiting's outbound webhooks that checks them as docs/webhooks.md tells
    receivers to: the four headers, a timestamp within ``TOLERANCE`` seconds, and the signature
    recomputed here from the secret (HMAC-SHA256 over ``f"{timestamp}.{body}"``, hex). Bad
    signatures get 401. ``events`` are the accepted payloads, de-duplicated by
    ``X-Yishiting-Delivery``, in order of arrival; ``received`` has every accepted request."""

    PATH = "/hooks/yishiting"
    TOLERANCE = 300.0

    def __init__(self, secret: str = "whsec-test", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.secret = secret
        self.events: list[dict[str, Any]] = []
        self.duplicates = 0
        self._seen: set[str] = set()

    def webhook_url(self, path: str = PATH) -> str:
        return f"{self.base_url}{path}"

    def bad_body(self, detail: str) -> Invalid:
        return Invalid(400, detail, status=400)

    def error_body(self, code: int, message: str) -> dict[str, Any]:
        return {"error": message}

    def ok_body(self) -> dict[str, Any]:
        return {"ok": True}

    def check(self, request: Received, raw: bytes, now: float) -> Received:
        headers = request.headers
        needed = (
            "x-yishiting-timestamp",
            "x-yishiting-signature",
            "x-yishiting-event",
            "x-yishiting-delivery",
        )
        missing = [h for h in needed if not headers.get(h)]
        if missing:
            raise Invalid(400, f"missing headers {missing}", status=400)
        timestamp = headers["x-yishiting-timestamp"]
        if not timestamp.isdigit() or abs(now - int(timestamp)) > self.TOLERANCE:
            raise Invalid(401, "stale or bad timestamp", status=401)
        mac = hmac.new(self.secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
        if not hmac.compare_digest(headers["x-yishiting-signature"], "sha256=" + mac.hexdigest()):
            raise Invalid(401, "bad signature", status=401)
        body = self.parse_json(raw)
        if body.get("id") != headers["x-yishiting-delivery"]:
            raise Invalid(400, "id and X-Yishiting-Delivery differ", status=400)
        if body.get("type") != headers["x-yishiting-event"]:
            raise Invalid(400, "type and X-Yishiting-Event differ", status=400)
        if body["id"] in self._seen:
            self.duplicates += 1
        else:
            self._seen.add(body["id"])
            self.events.append(body)
        return replace(request, body=body)
