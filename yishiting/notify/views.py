"""Inbound WeCom robot callbacks: a resident @-mentions the hall's robot and files a request.

`GET` is WeCom's URL verification (echo the decrypted `echostr`); `POST` carries an encrypted
message. A text message files a request in the robot's hall (`do_submit`, channel `wecom`),
and the answer goes back to the group through the outbox (rules: submit over WeCom).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt

from yishiting.core.errors import ActionError
from yishiting.notify.channels.wxbizmsgcrypt import WXBizMsgCrypt, WXBizMsgCryptError
from yishiting.notify.models import Notification, RobotBinding, RobotKind
from yishiting.requests import actions

MENTION = re.compile(r"^\s*@\S+\s*")


def _crypt(binding: RobotBinding) -> WXBizMsgCrypt:
    return WXBizMsgCrypt(
        binding.callback_token, binding.callback_aes_key, binding.callback_receive_id
    )


def mention_text(content: str) -> str:
    """The message without the leading @-mentions of the robot."""
    while MENTION.match(content):
        content = MENTION.sub("", content, count=1)
    return content.strip()


@csrf_exempt
def wecom_callback(request: HttpRequest, binding_id: int) -> HttpResponse:
    """WeCom's callback for one robot binding."""
    binding = get_object_or_404(
        RobotBinding, pk=binding_id, kind=RobotKind.WECOM, enabled=True, hall__isnull=False
    )
    if not (binding.callback_token and binding.callback_aes_key):
        return HttpResponse("callback not configured", status=404)
    q = request.GET
    sig, ts, nonce = q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
    try:
        crypt = _crypt(binding)
        if request.method == "GET":
            return HttpResponse(crypt.verify_url(sig, ts, nonce, q.get("echostr", "")))
        if request.method != "POST":
            return HttpResponse(status=405)
        inner = crypt.decrypt_msg(request.body, sig, ts, nonce)
    except WXBizMsgCryptError as exc:
        return HttpResponse(f"bad callback: {type(exc).__name__}", status=403)
    try:
        root = ET.fromstring(inner)
    except ET.ParseError:
        return HttpResponseBadRequest("not XML")
    if (root.findtext("MsgType") or "") != "text":
        return HttpResponse("")  # images, events: nothing to file
    text = mention_text(root.findtext("Text/Content") or "")
    name = (root.findtext("From/Name") or "").strip()[:50]
    msg_id = (root.findtext("MsgId") or "").strip()
    if not text or binding.hall is None:
        return HttpResponse("")
    key = f"wecom-in:{binding.pk}:{msg_id}"
    # WeCom calls again when the answer is slow: one message files one request.
    if msg_id and Notification.objects.filter(idempotency_key__startswith=key).exists():
        return HttpResponse("")
    try:
        with transaction.atomic():
            req = actions.do_submit(
                actor=None, hall=binding.hall, text=text, reporter_name=name, channel="wecom"
            )
            if msg_id:
                Notification.objects.filter(request=req, binding=binding).update(
                    idempotency_key=key
                )
    except ActionError as exc:
        return HttpResponse(f"not filed: {exc.message}", status=exc.status)
    return HttpResponse("")
