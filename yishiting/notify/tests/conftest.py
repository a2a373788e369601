"""The fake robots listen on 127.0.0.1: never reach them through a proxy from the environment."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
