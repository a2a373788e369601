"""GeoReport v2 answers in JSON and XML, and the spec's error bodies.

XML is built with ElementTree (so every value is escaped) after dropping the characters XML
1.0 cannot carry at all (control characters a resident's paste may bring along).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

JSON = "json"
XML = "xml"
CONTENT_TYPES = {JSON: "application/json; charset=utf-8", XML: "text/xml; charset=utf-8"}

# The element name of one item in each list-valued field (the spec's XML shapes).
ITEM_NAMES = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Open311Error(Exception):
    """A refusal in the spec's form: HTTP status and a description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def w3c(value: datetime | None) -> str | None:
    """A time in the W3C subset of ISO 8601, with the county's UTC offset."""
    if value is None:
        return None
    return timezone.localtime(value).replace(microsecond=0).isoformat()


def clean_text(value: str) -> str:
    """Text without the characters XML 1.0 forbids (also applied to JSON, for one answer)."""
    return _NOT_XML.sub("", value)


def _plain(value: Any) -> Any:
    """Values as JSON has them: times as W3C strings, text cleaned."""
    if isinstance(value, datetime):
        return w3c(value)
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_fill(element: ET.Element, name: str, value: Any) -> None:
    """Put `value` under `element` as the element `name`."""
    child = ET.SubElement(element, name)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _xml_fill(child, key, inner)
    elif isinstance(value, list | tuple):
        item = ITEM_NAMES.get(name, "item")
        for inner in value:
            _xml_fill(child, item, inner)
    else:
        child.text = _xml_text(value)


def to_xml(root: str, item: str | None, data: Any) -> bytes:
    """The document: `<root><item>…</item>…</root>` for a list, `<root>…</root>` for a dict."""
    element = ET.Element(root)
    if item is None:
        for key, value in data.items():
            _xml_fill(element, key, value)
    else:
        for row in data:
            _xml_fill(element, item, row)
    body = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode()


def respond(
    fmt: str,
    root: str,
    item: str | None,
    data: Sequence[Any] | Mapping[str, Any],
    status: int = 200,
) -> HttpResponse:
    """An answer in the format the path asked for."""
    data = _plain(data)
    if fmt == JSON:
        content = json.dumps(data, ensure_ascii=False).encode()
    else:
        content = to_xml(root, item, data)
    return HttpResponse(content, status=status, content_type=CONTENT_TYPES[fmt])


def error(fmt: str, status: int, description: str) -> HttpResponse:
    """`[{"code": 400, "description": "…"}]`, or `<errors><error>…</error></errors>`."""
    return respond(fmt, "errors", "error", [{"code": status, "description": description}], status)
