"""WXBizMsgCrypt's failures: each raises the exception with Tencent's error code."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yishiting.notify.channels.wxbizmsgcrypt import (
    DecodeBase64Error,
    DecryptAESError,
    IllegalAesKeyError,
    IllegalBufferError,
    ParseError,
    ValidateReceiveIdError,
    ValidateSignatureError,
    WXBizMsgCrypt,
    WXBizMsgCryptError,
    pkcs7_pad,
    pkcs7_unpad,
    signature,
)

TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"


def crypt(receive_id: str = CORP) -> WXBizMsgCrypt:
    return WXBizMsgCrypt(TOKEN, KEY, receive_id)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidateSignatureError, -40001),
        (ParseError, -40002),
        (IllegalAesKeyError, -40004),
        (ValidateReceiveIdError, -40005),
        (DecryptAESError, -40007),
        (IllegalBufferError, -40008),
        (DecodeBase64Error, -40010),
    ],
)
def test_official_error_codes(error: type[WXBizMsgCryptError], code: int) -> None:
    assert error.code == code
    assert issubclass(error, WXBizMsgCryptError)


@pytest.mark.parametrize("key", ["short", KEY + "A", KEY[:-1] + "!"])
def test_a_bad_encoding_aes_key_is_refused(key: str) -> None:
    with pytest.raises(IllegalAesKeyError):
        WXBizMsgCrypt(TOKEN, key, CORP)


def test_the_key_is_the_43_characters_plus_equals_and_the_iv_its_first_16_bytes() -> None:
    c = crypt()
    assert c.key == base64.b64decode(KEY + "=")
    assert len(c.key) == 32


def test_padding_is_to_32_bytes() -> None:
    assert len(pkcs7_pad(b"")) == 32
    assert pkcs7_pad(b"a" * 31) == b"a" * 31 + b"\x01"
    assert pkcs7_pad(b"a" * 32) == b"a" * 32 + bytes([32]) * 32
    with pytest.raises(IllegalBufferError):
        pkcs7_unpad(b"a" * 31 + b"\x21")
    with pytest.raises(IllegalBufferError):
        pkcs7_unpad(b"a" * 30 + b"\x01\x02")


def test_the_plaintext_layout_is_random_length_message_receiveid() -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    c = crypt()
    encrypted = c.encrypt("你好", random16=b"R" * 16)
    decryptor = Cipher(algorithms.AES(c.key), modes.CBC(c.key[:16])).decryptor()
    plain = pkcs7_unpad(decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize())
    msg = "你好".encode()
    assert plain == b"R" * 16 + struct.pack(">I", len(msg)) + msg + CORP.encode()


@given(st.text(max_size=300), st.text(alphabet="0123456789", min_size=1, max_size=12))
def test_round_trip(text: str, nonce: str) -> None:
    c = crypt()
    for fmt in ("xml", "json"):
        reply = c.encrypt_msg(text, nonce, "1700000000", fmt=fmt)
        if fmt == "json":
            data = json.loads(reply)
            sig = data["msgsignature"]
        else:
            sig = reply.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        assert c.decrypt_msg(reply, sig, "1700000000", nonce) == text


def _signed(c: WXBizMsgCrypt, encrypt: str) -> tuple[str, str]:
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return body, signature(TOKEN, "1", "2", encrypt)


def test_another_receiveid_is_refused() -> None:
    encrypted = crypt("ww-someone-else").encrypt("hi")
    body, sig = _signed(crypt(), encrypted)
    with pytest.raises(ValidateReceiveIdError) as caught:
        crypt().decrypt_msg(body, sig, "1", "2")
    assert caught.value.code == -40005


def test_a_tampered_ciphertext_fails_the_signature() -> None:
    c = crypt()
    reply = c.encrypt_msg("hi", "2", "1")
    sig = reply.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    tampered = reply.replace("<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA", 1)
    with pytest.raises(ValidateSignatureError):
        c.decrypt_msg(tampered, sig, "1", "2")
    with pytest.raises(ValidateSignatureError):
        c.decrypt_msg(reply, sig, "1", "3")  # another nonce


def test_garbage_inside_a_valid_signature() -> None:
    c = crypt()
    for encrypt, error in [
        ("not base64!", DecodeBase64Error),
        (base64.b64encode(b"x" * 17).decode(), DecryptAESError),
        (base64.b64encode(b"x" * 32).decode(), IllegalBufferError),
    ]:
        body, sig = _signed(c, encrypt)
        with pytest.raises(error):
            c.decrypt_msg(body, sig, "1", "2")


@pytest.mark.parametrize(
    "body",
    [
        "not xml",
        "<xml><ToUserName>x</ToUserName></xml>",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>',
        "{not json",
        '{"tousername": "x"}',
        b"\xff\xfe",
    ],
)
def test_unparseable_bodies(body: str | bytes) -> None:
    with pytest.raises(ParseError) as caught:
        crypt().decrypt_msg(body, "0" * 40, "1", "2")
    assert caught.value.code == -40002
