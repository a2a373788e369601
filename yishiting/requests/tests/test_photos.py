"""Photo uploads: real images only, bounded, EXIF (GPS) stripped, nothing stored on refusal."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from yishiting.core.errors import InvalidError, TooLargeError
from yishiting.requests import actions
from yishiting.requests.models import Attachment, Request
from yishiting.requests.photos import clean_photo
from yishiting.testing import County, png_bytes

pytestmark = pytest.mark.fuzz


def _file(data: bytes, name: str = "photo.jpg") -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (80, 60), "green")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (37.0, 21.0, 0.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_exif_and_gps_are_stripped() -> None:
    raw = _jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif()  # the input really carries EXIF
    photo = clean_photo(_file(raw))
    cleaned = Image.open(io.BytesIO(photo.content.read()))
    assert not cleaned.getexif()
    assert photo.content_type == "image/jpeg" and (photo.width, photo.height) == (80, 60)


def test_a_script_named_jpg_is_refused() -> None:
    with pytest.raises(InvalidError, match="不是有效的图片"):
        clean_photo(_file(b"<script>alert(1)</script>", "evil.jpg"))


def test_oversized_upload_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(TooLargeError):
        clean_photo(_file(png_bytes(400, 400, "white") + b"\0" * 2000))


def test_decompression_bomb_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    settings.YISHITING_MAX_IMAGE_PIXELS = 10_000
    with pytest.raises(InvalidError):
        clean_photo(_file(png_bytes(200, 200)))


def test_big_photo_is_scaled_down() -> None:
    photo = clean_photo(_file(png_bytes(4000, 3000)))
    assert max(photo.width, photo.height) == 2560


@pytest.mark.django_db
def test_a_bad_photo_stores_nothing(county: County, tmp_path) -> None:  # type: ignore[no-untyped-def]
    before = Request.objects.count()
    with pytest.raises(InvalidError):
        actions.do_submit(
            actor=county["resident1"],
            hall=county.village,
            text="路灯坏了",
            photos=[_file(png_bytes()), _file(b"not an image", "x.jpg")],
        )
    assert Request.objects.count() == before
    assert Attachment.objects.count() == 0
    media = tmp_path / "media"
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.django_db
def test_ten_photos_are_too_many(county: County) -> None:
    with pytest.raises(InvalidError, match="最多 9 张"):
        actions.do_submit(
            actor=county["resident1"],
            hall=county.village,
            text="路灯坏了",
            photos=[_file(png_bytes()) for _ in range(10)],
        )
