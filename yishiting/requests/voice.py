"""Voice messages (语音留言, PRODUCT.md §6): a resident may speak instead of typing.

Kept as recorded (no transcoding: nothing to install beyond Python), after checking that the
bytes are the audio container they claim by its signature, bounded in size, and played only to
the request's handlers: a voice identifies a person as surely as a name does, so it is never
part of a public view, the board, Open311 or the event's photos.
"""

from __future__ import annotations

import hashlib
import io
import struct
import wave
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from yishiting.core.errors import InvalidError, TooLargeError

# What browsers record (MediaRecorder: WebM/Opus on Chromium and WeChat's Android browser,
# MP4/AAC on iOS Safari, Ogg/Opus on Firefox) and what phones save, with the file extension.
EXTENSIONS = {
    "audio/webm": "webm",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
}


@dataclass
class Clip:
    """A checked voice message ready to be stored."""

    content: ContentFile
    content_type: str
    sha256: str


def sniff(raw: bytes) -> str | None:
    """The audio container `raw` is, by its signature, or None."""
    head = raw[:64]
    if head[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in head:  # EBML header, DocType webm
        return "audio/webm"
    if head[:4] == b"OggS" and (b"OpusHead" in head or b"\x01vorbis" in head):
        return "audio/ogg"
    if head[4:8] == b"ftyp":  # an ISO base media file (M4A, MP4)
        return "audio/mp4"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        try:
            with wave.open(io.BytesIO(raw)) as w:
                if w.getnframes() > 0 and w.readframes(1):
                    return "audio/wav"
        except (wave.Error, EOFError, RuntimeError, ValueError, struct.error):
            return None
        return None
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


def clean_voice(upload: IO[bytes], name: str = "voice") -> Clip:
    """Validate an uploaded voice message; refuse anything that is not a recording."""
    limit = settings.YISHITING_MAX_VOICE_BYTES
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise TooLargeError(
            _("%(name)s：超过 %(mb)s MB") % {"name": name, "mb": limit // (1024 * 1024)}
        )
    if not raw:
        raise InvalidError(_("%(name)s：空文件") % {"name": name})
    content_type = sniff(raw)
    if content_type is None:
        raise InvalidError(_("%(name)s：只接受 WebM、Ogg、M4A、WAV 或 MP3 录音") % {"name": name})
    return Clip(
        content=ContentFile(raw, name=f"voice.{EXTENSIONS[content_type]}"),
        content_type=content_type,
        sha256=hashlib.sha256(raw).hexdigest(),
    )
