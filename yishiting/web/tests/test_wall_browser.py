"""The leader's pages in headless Chromium: the charts are drawn, and the wall screen (大屏)
refreshes its figures when a request is submitted elsewhere, long before its 60 s timer."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from yishiting.web import livetest

IN_CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci" or bool(os.environ.get("CI"))
ON_POSTGRES = (os.environ.get("DATABASE_URL") or "").startswith(("postgres", "pgsql"))

if not livetest.chromium_available():
    if IN_CI:
        raise RuntimeError("CI must run the browser tests: install chromium (scripts/deps.sh)")
    pytest.skip("no /usr/bin/chromium or playwright here (not CI)", allow_module_level=True)
if ON_POSTGRES:
    pytest.skip("the browser tests serve their own SQLite database", allow_module_level=True)

from playwright.sync_api import Browser, expect, sync_playwright  # noqa: E402

VILLAGE = "130500001001"
TIMEOUT = 15000  # ms; the wall's own timer is 60 s, so passing means the live push did it
expect.set_options(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("wall")
    livetest.prepare(path)
    with livetest.server(path) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = livetest.launch(p)
        yield b
        b.close()


def test_dashboard_draws_its_charts(browser: Browser, base: str) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
    livetest.login(ctx, base, "leader1").close()
    page = ctx.new_page()
    page.goto("/leader/")
    page.wait_for_function("window.__charts === 6", timeout=TIMEOUT)
    assert page.locator("[data-chart] canvas").count() == 6
    ctx.close()


def test_wall_refreshes_live_when_a_request_arrives(browser: Browser, base: str) -> None:
    wall_ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, base_url=base)
    livetest.login(wall_ctx, base, "leader1").close()
    wall = wall_ctx.new_page()
    wall.goto("/leader/wall/")
    expect(wall.locator("body")).to_have_attribute("data-live", "on")
    before = int(wall.locator("#w-submitted").inner_text())
    resident = browser.new_context(base_url=base, locale="zh-CN")
    page = resident.new_page()
    page.goto(f"/h/{VILLAGE}/")
    page.fill("#text", "大屏测试：村口水管漏水")
    page.click("#submit-btn")
    page.wait_for_url("**/submitted/**")
    expect(wall.locator("#w-submitted")).to_have_text(str(before + 1))
    assert wall.evaluate("window.__wallRefreshes") >= 1
    assert wall.locator("[data-chart] canvas").count() == 6  # redrawn after the swap
    resident.close()
    wall_ctx.close()
