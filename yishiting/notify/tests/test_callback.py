"""The WeCom robot callback: URL verification, a decrypted @-mention files a request, the
answer goes back to the group through the outbox. Messages in Tencent's 群机器人回调 format."""

from __future__ import annotations

import pytest
from django.test import Client

from yishiting.notify.channels.wxbizmsgcrypt import WXBizMsgCrypt, signature
from yishiting.notify.models import Notification, RobotBinding
from yishiting.requests.models import Request
from yishiting.testing import County

pytestmark = pytest.mark.django_db

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"  # Tencent's sample key
MESSAGE = """<xml><WebhookUrl><![CDATA[https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k]]></WebhookUrl>
<ChatId><![CDATA[wrkSFfCgAAtMQKg4xqDatM5C9IeB8r2Q]]></ChatId>
<GetChatInfoUrl><![CDATA[https://qyapi.weixin.qq.com/cgi-bin/webhook/get_chat_info?code=m49c5aRCdEP8_QQdZmTNR52yJ5TLGcIMzaLJk3x5KqY]]></GetChatInfoUrl>
<From><UserId><![CDATA[zhangsan]]></UserId><Name><![CDATA[张三]]></Name><Alias><![CDATA[san]]></Alias></From>
<MsgType><![CDATA[text]]></MsgType>
<Text><Content><![CDATA[@东关村议事厅 村东头下水道堵了，污水漫到路上]]></Content></Text>
<MsgId><![CDATA[abcdabcdabcd]]></MsgId>
<ChatType><![CDATA[group]]></ChatType>
</xml>"""


@pytest.fixture
def binding(county: County) -> RobotBinding:
    return RobotBinding.objects.create(
        hall=county.village,
        kind="wecom",
        webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
        callback_token=TOKEN,
        callback_aes_key=AES_KEY,
    )


def test_url_verification_echoes_the_decrypted_echostr(binding: RobotBinding) -> None:
    crypt = WXBizMsgCrypt(TOKEN, AES_KEY, "")
    echostr = crypt.encrypt("1616140317555161061")
    sig = signature(TOKEN, "1409659589", "263014780", echostr)
    url = f"/notify/wecom/{binding.pk}/callback"
    answer = Client().get(
        url,
        {"msg_signature": sig, "timestamp": "1409659589", "nonce": "263014780", "echostr": echostr},
    )
    assert (answer.status_code, answer.content) == (200, b"1616140317555161061")
    bad = Client().get(
        url,
        {
            "msg_signature": "0" * 40,
            "timestamp": "1409659589",
            "nonce": "263014780",
            "echostr": echostr,
        },
    )
    assert bad.status_code == 403


def test_an_at_mention_files_a_request_and_is_answered_in_the_group(binding: RobotBinding) -> None:
    crypt = WXBizMsgCrypt(TOKEN, AES_KEY, "")
    body = crypt.encrypt_msg(MESSAGE, "1372623149", "1409659813")
    sig = body.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    query = f"msg_signature={sig}&timestamp=1409659813&nonce=1372623149"
    url = f"/notify/wecom/{binding.pk}/callback?{query}"
    answer = Client().post(url, body, content_type="text/xml")
    assert answer.status_code == 200
    req = Request.objects.get()
    assert (req.hall, req.channel, req.text, req.reporter_name) == (
        binding.hall,
        "wecom",
        "村东头下水道堵了，污水漫到路上",
        "张三",
    )
    reply = Notification.objects.get(binding=binding)
    assert reply.status == "pending" and "已收到张三反映的问题" in reply.body
    assert req.follow_code in reply.body
    # WeCom calls again when slow: the same MsgId files nothing more.
    assert Client().post(url, body, content_type="text/xml").status_code == 200
    assert Request.objects.count() == 1
    # A forged message is refused and files nothing.
    forged = url.replace(sig, "0" * 40)
    assert Client().post(forged, body, content_type="text/xml").status_code == 403


def test_the_duty_roster_page_warns_of_uncovered_off_hours(county: County) -> None:
    client = Client()
    client.force_login(county["admin"])
    page = client.get("/admin/orgs/dutyshift/")
    assert page.status_code == 200
    assert "非工作时间无人值班" in page.content.decode()


def test_robot_secrets_are_write_only_in_the_admin(binding: RobotBinding) -> None:
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.get(username="admin")
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/notify/robotbinding/{binding.pk}/change/").content.decode()
    assert AES_KEY not in page and "key=k" not in page
    listing = client.get("/admin/notify/robotbinding/").content.decode()
    assert "key=k" not in listing


def test_saving_a_binding_with_the_secrets_left_empty_keeps_them(binding: RobotBinding) -> None:
    from yishiting.notify.admin import RobotBindingForm

    data = {
        "hall": binding.hall_id,
        "kind": "wecom",
        "name": "东关村议事厅",
        "enabled": "on",
        "webhook_url": "",
        "secret": "",
        "callback_token": "",
        "callback_aes_key": "",
        "callback_receive_id": "",
    }
    form = RobotBindingForm(data, instance=binding)
    assert form.is_valid(), form.errors
    form.save()
    binding.refresh_from_db()
    assert (binding.name, binding.callback_aes_key) == ("东关村议事厅", AES_KEY)
    assert binding.webhook_url.endswith("key=k")
