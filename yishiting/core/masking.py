"""Masking of personal data in public views (§6). The routing issue extends the detection."""

from __future__ import annotations

import re

# Mobile numbers (11 digits from 1), landlines with area code, 18-character ID numbers,
# with spaces or dashes inside and full-width digits normalised first.
_FULLWIDTH = str.maketrans("０１２３４５６７８９－　", "0123456789- ")
_PATTERNS = [
    re.compile(r"(?<!\d)\d{6}[ -]?(?:19|20)\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{3}[\dXx](?![\dXx])"),
    re.compile(r"(?<!\d)1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"),
    re.compile(r"(?<!\d)0\d{2,3}[ -]?\d{7,8}(?!\d)"),
    re.compile(r"(?<!\d)\d{7,8}(?!\d)"),
]


def mask_phone(phone: str) -> str:
    """138****5678 style: keep the first three and last four digits."""
    digits = re.sub(r"\D", "", phone.translate(_FULLWIDTH))
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str) -> str:
    """张** style: the family name only."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_text(text: str) -> str:
    """Replace phone and ID numbers in free text with asterisks."""
    text = text.translate(_FULLWIDTH)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: "*" * len(m.group(0)), text)
    return text
