"""The front-end libraries are served by the app itself, compressed for browsers that accept it."""

from __future__ import annotations

import gzip

import pytest
from django.test import Client


@pytest.mark.parametrize("name", ["htmx.min.js", "echarts.min.js"])
def test_vendor_library_is_served_gzipped_to_browsers_that_accept_it(name: str) -> None:
    plain = Client().get(f"/static/{name}")
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain.headers
    body = b"".join(plain.streaming_content)  # type: ignore[attr-defined]

    packed = Client().get(f"/static/{name}", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    zipped = b"".join(packed.streaming_content)  # type: ignore[attr-defined]
    assert len(zipped) < len(body) / 2
    assert gzip.decompress(zipped) == body
