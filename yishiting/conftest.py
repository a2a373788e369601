"""Shared fixtures: the test county and its people."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

from yishiting.testing import County, build_county

# CI runs the same examples every time (a failure there is reproducible and never a fluke of
# the draw); local runs keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def county(db: None) -> County:
    """The small test county with the demo's named people."""
    return build_county()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Uploads go to a throw-away folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _default_language():  # type: ignore[no-untyped-def]
    """Each test starts in the site's language: a request in another language (the locale
    middleware activates it for the thread) does not leak into the next test."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _rate_limits():  # type: ignore[no-untyped-def]
    """Each test starts with empty rate-limit counters (in-process memory)."""
    from django.core.cache import caches

    cache = caches["ratelimit"]
    if cache.__class__.__name__ == "LocMemCache":
        cache.clear()
