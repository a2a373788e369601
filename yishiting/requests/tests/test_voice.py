"""Voice messages (语音留言, PRODUCT.md §6): recorded instead of typed, checked by their
container's signature, heard only by the request's handlers and its reporter."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from yishiting.api.models import ApiToken
from yishiting.core.errors import InvalidError, TooLargeError
from yishiting.requests import actions as A
from yishiting.requests.actions import VOICE_ONLY_TEXT
from yishiting.requests.models import Attachment, Event, Request, Voice
from yishiting.requests.voice import clean_voice, sniff
from yishiting.testing import County

pytestmark = pytest.mark.fuzz


def wav_bytes(seconds: float = 0.5) -> bytes:
    """A real mono 8 kHz WAV recording of silence."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))
    return out.getvalue()


# The first bytes of what browsers' MediaRecorder and phones write.
WEBM = (
    b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm"
    + b"\0" * 64
)
OGG = b"OggS\x00\x02" + b"\0" * 20 + b"\x01\x13OpusHead\x01\x01" + b"\0" * 40
M4A = b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00M4A isommp42" + b"\0" * 64
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\0" * 64


def upload(
    raw: bytes, name: str = "voice.webm", content_type: str = "audio/webm"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, raw, content_type=content_type)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (WEBM, "audio/webm"),
        (OGG, "audio/ogg"),
        (M4A, "audio/mp4"),
        (MP3, "audio/mpeg"),
        (wav_bytes(), "audio/wav"),
    ],
)
def test_recordings_are_known_by_their_signature(raw: bytes, kind: str) -> None:
    assert sniff(raw) == kind
    clip = clean_voice(upload(raw))
    assert clip.content_type == kind and clip.content.read() == raw


@pytest.mark.parametrize(
    "raw",
    [
        b"<script>alert(1)</script>",  # a script named voice.webm
        b"<html><body>not audio</body></html>",
        b"\x1a\x45\xdf\xa3" + b"\0" * 60,  # EBML but not WebM (e.g. a Matroska video)
        b"OggS" + b"\0" * 60,  # an Ogg page with no Opus or Vorbis header
        wav_bytes()[:44],  # a WAV header with no samples
        b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk",  # a broken WAV
        b"\x89PNG\r\n\x1a\n" + b"\0" * 60,  # a picture
    ],
)
def test_anything_else_is_refused(raw: bytes) -> None:
    assert sniff(raw) is None
    with pytest.raises(InvalidError, match="只接受"):
        clean_voice(upload(raw))


def test_an_oversized_recording_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_MAX_VOICE_BYTES = 1024
    with pytest.raises(TooLargeError, match="超过"):
        clean_voice(upload(WEBM + b"\0" * 2048))
    with pytest.raises(InvalidError, match="空文件"):
        clean_voice(upload(b""))


@pytest.mark.django_db
def test_a_request_raised_by_voice_alone(county: County) -> None:
    r = A.do_submit(actor=county["resident1"], hall=county.village, text="", voice=upload(WEBM))
    assert r.text == VOICE_ONLY_TEXT and r.title
    voice = Voice.objects.get(request=r)
    assert voice.content_type == "audio/webm" and voice.size == len(WEBM)
    assert voice.event == Event.objects.get(request=r, seq=1)
    assert voice.file.read() == WEBM
    assert not Attachment.objects.filter(request=r).exists()  # never among the photos


@pytest.mark.django_db
def test_neither_text_nor_voice_is_refused_and_a_bad_voice_stores_nothing(
    county: County, settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidError, match="录一段语音"):
        A.do_submit(actor=county["resident1"], hall=county.village, text="  ")
    with pytest.raises(InvalidError):
        A.do_submit(
            actor=county["resident1"], hall=county.village, text="漏水", voice=upload(b"<?php")
        )
    assert not Request.objects.exists() and not Voice.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def _token(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _, key = ApiToken.issue(user)
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


@pytest.mark.django_db
def test_api_takes_a_voice_and_plays_it_only_to_handlers_and_the_reporter(
    county: County,
) -> None:
    client = Client()
    resident = _token(county["resident1"])
    made = client.post(
        "/api/v1/requests",
        {"hall": county.village.code, "voice": upload(wav_bytes(), "v.wav", "audio/wav")},
        **resident,
    )
    assert made.status_code == 201, made.content
    body = made.json()
    rid = body["id"]
    assert body["text"] == VOICE_ONLY_TEXT
    assert body["voice"] == {
        "url": f"/api/v1/requests/{rid}/voice",
        "content_type": "audio/wav",
        "size": len(wav_bytes()),
    }
    url = f"/api/v1/requests/{rid}/voice"
    for who in ("resident1", "liaison1", "manager1"):  # the reporter and the handlers
        got = client.get(url, **_token(county[who]))
        assert got.status_code == 200 and got["Content-Type"] == "audio/wav", who
        assert b"".join(got.streaming_content) == wav_bytes()  # type: ignore[attr-defined]
    for headers in (_token(county["liaison2"]), _token(county["dept1"]), {}):
        assert client.get(url, **headers).status_code in (401, 404)
    public = client.get(f"/api/v1/requests/{rid}", **_token(county["liaison3"]))
    assert public.status_code == 200 and public.json()["voice"] is None
    events = client.get(f"/api/v1/requests/{rid}/events", **_token(county["liaison1"])).json()
    assert events[0]["photos"] == []
    bad = client.post(
        "/api/v1/requests",
        {"hall": county.village.code, "voice": upload(b"<script>", "v.webm")},
        **resident,
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"
    assert Request.objects.count() == 1


@pytest.mark.django_db
def test_pages_take_a_voice_and_play_it_to_the_handler(county: County) -> None:
    resident = Client()
    sent = resident.post(f"/h/{county.village.code}/", {"text": "", "voice": upload(WEBM)})
    assert sent.status_code == 302, sent.content.decode()[:500]
    r = Request.objects.get()
    liaison = Client()
    liaison.force_login(county["liaison1"])
    page = liaison.get(f"/r/{r.pk}/").content.decode()
    assert f'<audio controls preload="none" src="/r/{r.pk}/voice"' in page
    heard = liaison.get(f"/r/{r.pk}/voice")
    assert heard.status_code == 200 and heard["Content-Type"] == "audio/webm"
    stranger = Client()
    stranger.force_login(county["liaison2"])
    assert "<audio" not in stranger.get(f"/r/{r.pk}/").content.decode()
    assert stranger.get(f"/r/{r.pk}/voice").status_code == 404
    assert Client().get(f"/r/{r.pk}/voice").status_code == 404
    board = Client().get(f"/h/{county.village.code}/board/").content.decode()
    assert VOICE_ONLY_TEXT in board and "/voice" not in board
