"""The crypto and signing against values published by others, not computed by our own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest

from yishiting.notify.channels import dingtalk, feishu
from yishiting.notify.channels.wxbizmsgcrypt import (
    ValidateSignatureError,
    WXBizMsgCrypt,
    signature,
)

# --- Tencent's own sample -----------------------------------------------------------------
# Source: Tencent's WeCom callback sample, callback/Sample.py of github.com/sbzhu/weworkapi_python
# (the Python code of developer.work.weixin.qq.com's 加解密库下载与返回码 page), "使用示例一/二".

TENCENT_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
TENCENT_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
TENCENT_CORP_ID = "ww1436e0e65a779aee"


def tencent() -> WXBizMsgCrypt:
    return WXBizMsgCrypt(TENCENT_TOKEN, TENCENT_AES_KEY, TENCENT_CORP_ID)


def test_tencent_sample_verify_url() -> None:
    echo = tencent().verify_url(
        "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
        "1476416373",
        "47744683",
        "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
    )
    # The sample does not print the echostr; it is WeCom's random number string.
    assert echo == "1288432023552776189"


TENCENT_POST = (
    "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n"
    "<Encrypt><![CDATA[Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7"
    "AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA"
    "6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2p"
    "FrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSG"
    "XAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n"
    "<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)


def test_tencent_sample_decrypt_msg() -> None:
    plain = tencent().decrypt_msg(
        TENCENT_POST, "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914"
    )
    root = ET.fromstring(plain)
    assert root.findtext("Content") == "你好"
    assert root.findtext("FromUserName") == "ChenJiaShun"
    assert root.findtext("ToUserName") == TENCENT_CORP_ID
    assert root.findtext("AgentID") == "1000002"


def test_tencent_sample_refuses_a_wrong_signature() -> None:
    with pytest.raises(ValidateSignatureError) as caught:
        tencent().decrypt_msg(
            TENCENT_POST, "0c3914025cb4b4d68103f6bfc8db550f79dcf48f", "1476422779", "1597212914"
        )
    assert caught.value.code == -40001


def test_tencent_sample_reply_round_trip() -> None:
    # 使用示例三: the sample encrypts this reply with the request's nonce and timestamp.
    reply = (
        "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
        "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
        "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
    )
    crypt = tencent()
    out = ET.fromstring(crypt.encrypt_msg(reply, "1597212914", "1476422779"))
    sig, ts, nonce = (out.findtext(k) or "" for k in ("MsgSignature", "TimeStamp", "Nonce"))
    assert (ts, nonce) == ("1476422779", "1597212914")
    assert crypt.decrypt_msg(ET.tostring(out, encoding="unicode"), sig, ts, nonce) == reply


# --- wechatpy's tests -----------------------------------------------------------------------
# Source: tests/test_crypto.py of github.com/wechatpy/wechatpy (CryptoTestCase, the WeCom one),
# commit 3d560725881d69a5a8aca7a36f98e06dd8975042.

WECHATPY_TOKEN = "123456"
WECHATPY_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
WECHATPY_CORP_ID = "wx49f0ab532d5d035a"
WECHATPY_ECHO = (
    "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
)


def wechatpy() -> WXBizMsgCrypt:
    return WXBizMsgCrypt(WECHATPY_TOKEN, WECHATPY_AES_KEY, WECHATPY_CORP_ID)


def test_wechatpy_check_signature_should_ok() -> None:
    wechatpy().verify_url(
        "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425", WECHATPY_ECHO
    )


def test_wechatpy_check_signature_should_fail() -> None:
    with pytest.raises(ValidateSignatureError):
        wechatpy().verify_url(
            "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374424", WECHATPY_ECHO
        )


def test_wechatpy_encrypt_message() -> None:
    # wechatpy fixes the random prefix to "1234567890123456" (its PrpCryptoMock).
    reply = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
    expected = """<xml>
<Encrypt><![CDATA[9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3]]></Encrypt>
<MsgSignature><![CDATA[407518b7649e86ef23978113f92d27afa9296533]]></MsgSignature>
<TimeStamp>1411525903</TimeStamp>
<Nonce><![CDATA[461056294]]></Nonce>
</xml>"""
    out = wechatpy().encrypt_msg(reply, "461056294", "1411525903", random16=b"1234567890123456")
    assert out == expected


WECHATPY_POST = """<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>
<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>
<AgentID><![CDATA[1]]></AgentID>
</xml>"""


@pytest.mark.parametrize("body", [WECHATPY_POST, WECHATPY_POST.encode()])
def test_wechatpy_decrypt_message(body: str | bytes) -> None:
    plain = wechatpy().decrypt_msg(
        body, "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294"
    )
    root = ET.fromstring(plain)
    assert root.findtext("Content") == "test"
    assert root.findtext("FromUserName") == "messense"


def test_signature_is_sha1_of_the_sorted_strings() -> None:
    # The wechatpy vector once more, through the bare function.
    assert (
        signature(WECHATPY_TOKEN, "1411443780", "437374425", WECHATPY_ECHO)
        == "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
    )


# --- Feishu ---------------------------------------------------------------------------------
# Source: Feishu's 配置 Encrypt Key / event decryption example (open.feishu.cn, 事件订阅 →
# "加密策略"): with the Encrypt Key "test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="
# decrypts to "hello world". Several public SDKs pin the same pair in their tests.


def test_feishu_event_decryption_test_key() -> None:
    encrypted = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="
    assert feishu.decrypt_event("test key", encrypted) == "hello world"


def test_feishu_bot_sign_follows_the_documented_recipe() -> None:
    # Feishu's 自定义机器人使用指南, 签名校验: key = timestamp + "\n" + secret, message empty,
    # HMAC-SHA256, base64 (its Python sample: hmac.new(key_enc, msg_enc, sha256), msg = "").
    # No published (timestamp, secret, sign) triple was found; this pins the recipe by hand.
    key = b"1599360473\ntest-secret"
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert feishu.sign(1599360473, "test-secret") == expected
    assert feishu.sign("1599360473", "test-secret") == expected
    # Keying with the secret instead (DingTalk's way) gives another value.
    assert expected != dingtalk.sign(1599360473, "test-secret")


# --- DingTalk -------------------------------------------------------------------------------
# Source: DingTalk's 签名计算 FAQ (ding-doc.dingtalk.com/doc#/faquestions/hxs5v9, its sample at
# the bottom, as pinned by francistm/dingtalk-sdk spec/dingtalk_spec.rb): HMAC-SHA256 keyed with
# the secret, base64, URL-encoded; timestamp 1546084445901 and secret "testappSecret" sign to
# "HCbG3xNE3vzhO%2Bu7qCUL1jS5hsu2n5r2cFhnTrtyDAE%3D". There the string to sign is the timestamp
# alone; the custom robot signs timestamp + "\n" + secret with the same steps.


def test_dingtalk_hmac_base64_urlencode_vector() -> None:
    digest = hmac.new(b"testappSecret", b"1546084445901", hashlib.sha256).digest()
    ours = quote_plus(base64.b64encode(digest))
    assert ours == "HCbG3xNE3vzhO%2Bu7qCUL1jS5hsu2n5r2cFhnTrtyDAE%3D"


def test_dingtalk_robot_sign_is_that_recipe_over_timestamp_newline_secret() -> None:
    secret = "SECtest"
    digest = hmac.new(secret.encode(), b"1546084445901\nSECtest", hashlib.sha256).digest()
    assert dingtalk.sign(1546084445901, secret) == base64.b64encode(digest).decode()


def test_dingtalk_signed_url_carries_timestamp_and_urlencoded_sign() -> None:
    url = dingtalk.signed_url(
        "https://oapi.dingtalk.com/robot/send?access_token=abc", "SECtest", 1546084445901
    )
    parts = urlsplit(url)
    raw = dict(pair.split("=", 1) for pair in parts.query.split("&"))
    assert raw["access_token"] == "abc"
    assert raw["timestamp"] == "1546084445901"
    assert raw["sign"] == quote_plus(dingtalk.sign(1546084445901, "SECtest"))
    assert parse_qs(parts.query)["sign"] == [dingtalk.sign(1546084445901, "SECtest")]
    # Signing a URL that already carries an old signature replaces it.
    again = dingtalk.signed_url(url, "SECtest", 1546084445999)
    assert parse_qs(urlsplit(again).query)["timestamp"] == ["1546084445999"]
