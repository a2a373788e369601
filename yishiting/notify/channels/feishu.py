"""Feishu / Lark (飞书) custom bot: text, post (rich text) and interactive card messages, signed.

The protocol, from Feishu's 自定义机器人使用指南 (open.feishu.cn/document/client-docs/bot-v3/
add-custom-bot): ``POST https://open.feishu.cn/open-apis/bot/v2/hook/<id>`` with a UTF-8 JSON
body ``{"msg_type": "text"|"post"|"interactive", "content": {...}}`` (a card goes in ``"card"``)
of at most 20 KB; the answer is ``{"code": 0, "msg": "success", ...}`` (older bots answer with
``StatusCode``) or another code.

With 签名校验 on, the body also carries ``"timestamp"`` (seconds, as a string, within an hour of
Feishu's clock) and ``"sign"`` = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")):
the key is the string to sign and the message is empty, unlike DingTalk. Each bot may send 100
messages a minute and 5 a second; beyond, code 9499 "too many request"; at busy hours Feishu may
also refuse with 11232 (frequency limited).

``decrypt_event`` undoes the Encrypt Key encryption of Feishu's event callbacks, for a future
inbound Feishu bot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from yishiting.notify.channels.base import (
    DETAIL_LABEL,
    DeliveryResult,
    Message,
    MessageKind,
    SignedRobot,
    deliver,
)

BODY_MAX_BYTES = 20 * 1024
CONTENT_MAX_BYTES = 16 * 1024
"""What we allow the message's own text (as JSON), leaving room in the 20 KB body for the rest."""
TITLE_MAX_BYTES = 1024

BAD_REQUEST = 9499
"""Bad Request (malformed body, over 20 KB) — or, with msg "too many request", the rate limit."""
FREQUENCY_LIMITED = 11232
"""Refused under system load (busy hours such as 10:00 and 17:30)."""
SIGN_FAILED = 19021
"""sign match fail or timestamp is not within one hour from current time."""
RATE_LIMIT_PAUSE = 60.0


def sign(timestamp: int | str, secret: str) -> str:
    """base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def decrypt_event(encrypt_key: str, encrypted: str) -> str:
    """An event callback's ``encrypt`` field in clear: AES-256-CBC, key = SHA-256(Encrypt Key),
    IV = the first 16 bytes of the base64-decoded field, PKCS#7 padding."""
    data = base64.b64decode(encrypted, validate=True)
    if len(data) < 32 or len(data) % 16:
        raise ValueError("not a Feishu encrypted event: wrong length")
    key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    padded = decryptor.update(data[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")


class FeishuRobot(SignedRobot):
    """A Feishu custom bot: its webhook URL and, if 签名校验 is on, its secret."""

    kind = "feishu"

    def payload(self, message: Message, now: float) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        if self.secret:
            timestamp = str(int(now))
            payload = {"timestamp": timestamp, "sign": sign(timestamp, self.secret)}
        if message.kind is MessageKind.NEWS:
            payload.update(msg_type="post", content={"post": {"zh_cn": _post(message)}})
        elif message.kind is MessageKind.MARKDOWN:
            payload.update(msg_type="interactive", card=_card(message))
        else:
            text = fit(message.plain(), CONTENT_MAX_BYTES)
            payload.update(msg_type="text", content={"text": text})
        return payload

    def send(self, message: Message) -> DeliveryResult:
        return deliver(
            self.webhook_url,
            self.payload(message, self.clock()),
            timeout=self.timeout,
            interpret=interpret,
        )


def fit(text: str, max_bytes: int, ellipsis: str = "…") -> str:
    """``text`` cut so that it takes at most ``max_bytes`` inside the JSON body (escapes count:
    a quote or a line break takes two bytes there)."""

    def size(t: str) -> int:
        return len(json.dumps(t, ensure_ascii=False).encode("utf-8")) - 2

    if size(text) <= max_bytes:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if size(text[:middle] + ellipsis) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    return text[:low] + ellipsis


def _post(message: Message) -> dict[str, Any]:
    """A rich-text post: the title, the description, then a link."""
    lines: list[list[dict[str, str]]] = []
    if message.body:
        lines.append([{"tag": "text", "text": fit(message.body, CONTENT_MAX_BYTES)}])
    lines.append([{"tag": "a", "text": DETAIL_LABEL, "href": message.url}])
    return {"title": fit(message.title, TITLE_MAX_BYTES), "content": lines}


def _card(message: Message) -> dict[str, Any]:
    """An interactive card: the title as its header, the markdown body, a button to the url."""
    body = fit(message.body or message.title, CONTENT_MAX_BYTES)
    elements: list[dict[str, Any]] = [{"tag": "div", "text": {"tag": "lark_md", "content": body}}]
    if message.url:
        button = {
            "tag": "button",
            "text": {"tag": "plain_text", "content": DETAIL_LABEL},
            "type": "primary",
            "url": message.url,
        }
        elements.append({"tag": "action", "actions": [button]})
    card: dict[str, Any] = {"config": {"wide_screen_mode": True}, "elements": elements}
    if message.title:
        card["header"] = {
            "title": {"tag": "plain_text", "content": fit(message.title, TITLE_MAX_BYTES)},
            "template": "blue",
        }
    return card


def interpret(reply: dict[str, Any]) -> DeliveryResult:
    """A Feishu answer as a delivery result."""
    code = reply.get("code", reply.get("StatusCode"))
    if code == 0:
        return DeliveryResult.delivered()
    msg = str(reply.get("msg", reply.get("StatusMessage", "")))
    error = f"Feishu code {code}: {msg}".strip()
    if (code == BAD_REQUEST and "too many" in msg.lower()) or code == FREQUENCY_LIMITED:
        return DeliveryResult.transient(error, retry_after=RATE_LIMIT_PAUSE, rate_limited=True)
    return DeliveryResult.permanent(error)
