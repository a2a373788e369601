"""Photo uploads: checked, re-encoded without EXIF (GPS included), bounded in size."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from yishiting.core.errors import InvalidError, TooLargeError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}
MAX_PHOTOS = 9
# Longest side kept; phones send 4000 px photos that nobody needs at full size.
MAX_SIDE = 2560


@dataclass
class Photo:
    """A cleaned photo ready to be stored."""

    content: ContentFile
    content_type: str
    width: int
    height: int
    sha256: str


def clean_photo(upload: IO[bytes], name: str = "photo") -> Photo:
    """Validate an uploaded image and re-encode it; refuse anything that is not a real image."""
    limit = settings.YISHITING_MAX_UPLOAD_BYTES
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise TooLargeError(
            _("%(name)s：超过 %(mb)s MB") % {"name": name, "mb": limit // (1024 * 1024)}
        )
    if not raw:
        raise InvalidError(_("%(name)s：空文件") % {"name": name})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(raw))
            if getattr(image, "format", None) not in ACCEPTED_FORMATS:
                raise InvalidError(
                    _("%(name)s：只接受 JPEG、PNG、WebP 或 GIF 图片") % {"name": name}
                )
            if image.width * image.height > settings.YISHITING_MAX_IMAGE_PIXELS:
                raise InvalidError(_("%(name)s：图片尺寸过大") % {"name": name})
            image.load()
            image = ImageOps.exif_transpose(image) or image
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidError(_("%(name)s：不是有效的图片") % {"name": name}) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidError(
            _("%(name)s：图片已损坏（%(why)s）") % {"name": name, "why": exc.__class__.__name__}
        ) from None
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    has_alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
    out = io.BytesIO()
    if has_alpha:
        image.convert("RGBA").save(out, "PNG", optimize=True)
        content_type, ext = "image/png", "png"
    else:
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
        content_type, ext = "image/jpeg", "jpg"
    data = out.getvalue()
    return Photo(
        content=ContentFile(data, name=f"photo.{ext}"),
        content_type=content_type,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )
