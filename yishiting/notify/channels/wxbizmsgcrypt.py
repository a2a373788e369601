"""WeCom callback crypto (WXBizMsgCrypt): URL verification, message decryption and encryption.

What WeCom specifies (加解密方案说明, and Tencent's own sample WXBizMsgCrypt.py):

* ``msg_signature`` = SHA-1 of the concatenation of ``[token, timestamp, nonce, encrypt]``
  sorted as strings, in lowercase hex.
* The AES key is the 43-character EncodingAESKey plus ``"="``, base64-decoded (32 bytes);
  the IV is its first 16 bytes. AES-256-CBC.
* The plaintext is ``16 random bytes + len(msg) as 4 bytes in network order + msg +
  receiveid``, padded PKCS#7-style to a multiple of **32** bytes (not AES's 16), then
  encrypted and base64-encoded.
* ``receiveid`` is the CorpID for an enterprise's callbacks (the suite id for a third-party
  app); decryption checks it. For a group robot's own message callback, public code
  (wecom_bot_svr) uses an empty receiveid; pass ``receive_id=""`` then.

The callback body is XML (``<xml><Encrypt>…</Encrypt>…</xml>``) or, for newer callbacks, JSON
(``{"encrypt": "…"}``); ``decrypt_msg`` takes either, ``encrypt_msg`` writes either.

Failures raise ``WXBizMsgCryptError`` subclasses carrying the official error codes
(-40001 … -40011) of Tencent's ierror.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import struct
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_SIZE = 32
"""WeCom pads to 32 bytes, not to AES's 16-byte block."""

XML_REPLY = """<xml>
<Encrypt><![CDATA[{encrypt}]]></Encrypt>
<MsgSignature><![CDATA[{signature}]]></MsgSignature>
<TimeStamp>{timestamp}</TimeStamp>
<Nonce><![CDATA[{nonce}]]></Nonce>
</xml>"""
"""Tencent's reply template, byte for byte (the published vectors depend on it)."""


class WXBizMsgCryptError(Exception):
    code = 0

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__ or "")


class ValidateSignatureError(WXBizMsgCryptError):
    """The signature does not match (-40001)."""

    code = -40001


class ParseError(WXBizMsgCryptError):
    """The body is not the expected XML or JSON (-40002)."""

    code = -40002


class ComputeSignatureError(WXBizMsgCryptError):
    """The signature could not be computed (-40003)."""

    code = -40003


class IllegalAesKeyError(WXBizMsgCryptError):
    """The EncodingAESKey is not 43 base64 characters (-40004)."""

    code = -40004


class ValidateReceiveIdError(WXBizMsgCryptError):
    """The message was meant for another receiveid (CorpID) (-40005)."""

    code = -40005


class EncryptAESError(WXBizMsgCryptError):
    """AES encryption failed (-40006)."""

    code = -40006


class DecryptAESError(WXBizMsgCryptError):
    """AES decryption failed (-40007)."""

    code = -40007


class IllegalBufferError(WXBizMsgCryptError):
    """The decrypted buffer is not random + length + message + receiveid (-40008)."""

    code = -40008


class EncodeBase64Error(WXBizMsgCryptError):
    """Base64 encoding failed (-40009)."""

    code = -40009


class DecodeBase64Error(WXBizMsgCryptError):
    """The ciphertext is not base64 (-40010)."""

    code = -40010


class GenReturnError(WXBizMsgCryptError):
    """The reply could not be generated (-40011)."""

    code = -40011


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """SHA-1 over the four strings sorted and joined, as lowercase hex."""
    try:
        joined = "".join(sorted([token, str(timestamp), str(nonce), encrypt]))
        return hashlib.sha1(joined.encode("utf-8")).hexdigest()
    except (TypeError, UnicodeEncodeError) as exc:
        raise ComputeSignatureError(str(exc)) from exc


def pkcs7_pad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    amount = block_size - len(data) % block_size
    return data + bytes([amount]) * amount


def pkcs7_unpad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    if not data:
        raise IllegalBufferError("empty plaintext")
    amount = data[-1]
    if not 1 <= amount <= block_size or data[-amount:] != bytes([amount]) * amount:
        raise IllegalBufferError("bad padding")
    return data[:-amount]


def _reject_doctype(text: str) -> None:
    # No callback has a DTD; refusing one keeps entity tricks away from the parser.
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise ParseError("a DTD is not allowed in a callback")


class WXBizMsgCrypt:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise IllegalAesKeyError("the EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise IllegalAesKeyError("the EncodingAESKey is not base64") from exc
        if len(key) != 32:
            raise IllegalAesKeyError("the EncodingAESKey must decode to 32 bytes")
        self.token = token
        self.key = key
        self.receive_id = receive_id

    # -- the two halves of the scheme ------------------------------------------------------

    def encrypt(self, text: str | bytes, random16: bytes | None = None) -> str:
        """``text`` encrypted for WeCom, base64. ``random16`` is for tests; else random."""
        msg = text.encode("utf-8") if isinstance(text, str) else text
        random16 = secrets.token_bytes(16) if random16 is None else random16
        if len(random16) != 16:
            raise EncryptAESError("the random prefix must be 16 bytes")
        plain = random16 + struct.pack("!I", len(msg)) + msg + self.receive_id.encode("utf-8")
        try:
            encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
            cipher = encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()
        except ValueError as exc:
            raise EncryptAESError(str(exc)) from exc
        return base64.b64encode(cipher).decode("ascii")

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside ``encrypted`` (base64), after checking its receiveid."""
        try:
            cipher = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecodeBase64Error(str(exc)) from exc
        if not cipher or len(cipher) % 16:
            raise DecryptAESError("the ciphertext is not whole AES blocks")
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        plain = pkcs7_unpad(decryptor.update(cipher) + decryptor.finalize())
        if len(plain) < 20:
            raise IllegalBufferError("too short")
        (length,) = struct.unpack("!I", plain[16:20])
        if 20 + length > len(plain):
            raise IllegalBufferError("the length field runs past the end")
        msg, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(receive_id, self.receive_id.encode("utf-8")):
            raise ValidateReceiveIdError()
        return msg

    def _check(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = signature(self.token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected, msg_signature.lower()):
            raise ValidateSignatureError()

    # -- what the callback endpoint calls --------------------------------------------------

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The GET check when an admin saves the callback URL: the echostr to answer with.

        ``echostr`` is the query parameter already URL-decoded."""
        self._check(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr).decode("utf-8")

    def decrypt_msg(
        self, post_data: str | bytes, msg_signature: str, timestamp: str, nonce: str
    ) -> str:
        """A POSTed callback (XML or JSON body) checked and decrypted: the inner XML or JSON."""
        encrypt = extract_encrypt(post_data)
        self._check(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt).decode("utf-8")

    def encrypt_msg(
        self,
        reply: str,
        nonce: str,
        timestamp: str,
        *,
        fmt: str = "xml",
        random16: bytes | None = None,
    ) -> str:
        """A passive reply, encrypted and signed, as Tencent's XML (or the JSON variant)."""
        encrypt = self.encrypt(reply, random16)
        sig = signature(self.token, timestamp, nonce, encrypt)
        if fmt == "json":
            body = {"encrypt": encrypt, "msgsignature": sig, "timestamp": timestamp, "nonce": nonce}
            return json.dumps(body)
        if fmt != "xml":
            raise GenReturnError(f"unknown reply format {fmt!r}")
        return XML_REPLY.format(encrypt=encrypt, signature=sig, timestamp=timestamp, nonce=nonce)


def extract_encrypt(post_data: str | bytes) -> str:
    """The ``Encrypt`` element of an XML callback, or the ``encrypt`` key of a JSON one."""
    try:
        text = post_data.decode("utf-8") if isinstance(post_data, bytes) else post_data
    except UnicodeDecodeError as exc:
        raise ParseError("the body is not UTF-8") from exc
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ParseError("the body is not JSON") from exc
        encrypt = data.get("encrypt") if isinstance(data, dict) else None
    else:
        _reject_doctype(text)
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise ParseError("the body is not XML") from exc
        encrypt = root.findtext("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise ParseError("no Encrypt in the body")
    return encrypt.strip()
