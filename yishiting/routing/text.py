"""Text normalisation shared by the classifier, the duplicate index and hotspots."""

from __future__ import annotations

import re
import unicodedata

_URL = re.compile(r"https?://\S+|www\.\S+")
_DIGITS = re.compile(r"\d")
_SPACE = re.compile(r"\s+")
# How long a title is taken to be when a message has none (the start of its text stands in).
PSEUDO_TITLE_CHARS = 25


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become half-width), no URLs, every digit 0,
    runs of white space one space: house numbers and dates say nothing about the topic."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _URL.sub(" ", text)
    text = _DIGITS.sub("0", text)
    return _SPACE.sub(" ", text).strip()


def title_or_start(title: str, text: str) -> str:
    """The title, or the start of the text when there is none."""
    title = (title or "").strip()
    return title if title else (text or "").strip()[:PSEUDO_TITLE_CHARS]
