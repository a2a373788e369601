"""Shared fixtures: the test county and its people."""

from __future__ import annotations

import pytest

from yishiting.testing import County, build_county


@pytest.fixture
def county(db: None) -> County:
    """The small test county with the demo's named people."""
    return build_county()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Uploads go to a throw-away folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
