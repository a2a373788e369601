"""`make screenshots`: every page at 375 px and 1280 px, and the submit page's weight.

    python -m yishiting.web.screenshots var/screenshots

Seeds a throw-away database with a few requests in different states, serves it with
`yishiting serve`, and drives headless Debian Chromium through each role's pages.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from yishiting.web import livetest

VILLAGE = "130500001001"
COUNTY = "130500"
WIDTHS = (375, 1280)


def page_weight(browser: Any, base: str, path: str) -> int:
    """Bytes transferred (headers and bodies) to load `path` in a fresh, cache-less context."""
    ctx = browser.new_context(base_url=base)
    page = ctx.new_page()
    seen: list[Any] = []
    page.on("requestfinished", lambda request: seen.append(request))
    page.goto(path, wait_until="networkidle")
    total = 0
    for request in seen:
        sizes = request.sizes()
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    ctx.close()
    return total


def shots(
    browser: Any, base: str, out: Path, ids: list[str], only: list[str] | None = None
) -> list[Path]:
    """Screenshot each page of each role at each width (or only the pages named in `only`);
    returns the files written."""
    r_new, r_resolved, code = ids
    pages: list[tuple[str | None, str, str]] = [
        (None, "home", "/"),
        (None, "login", "/accounts/login/"),
        (None, "follow", "/follow/"),
        (None, "board-village", f"/h/{VILLAGE}/board/"),
        (None, "board-county", f"/h/{COUNTY}/board/"),
        (None, "request-public", f"/r/{r_resolved}/"),
        (None, "follow-by-code", f"/follow/?code={code}"),
        ("resident1", "hall-submit", f"/h/{VILLAGE}/"),
        ("resident1", "my-requests", "/my/"),
        ("resident1", "request-rate", f"/r/{r_resolved}/"),
        ("liaison1", "workspace", "/w/"),
        ("liaison1", "inbox", "/inbox/"),
        ("liaison1", "capture", "/capture/"),
        ("liaison1", "request-liaison", f"/r/{r_new}/"),
        ("dispatcher1", "dispatch", "/dispatch/"),
        ("dept1", "department", "/dept/"),
        ("duty1", "duty", "/duty/"),
        ("leader1", "leader", "/leader/"),
        ("leader1", "leader-township", "/leader/?hall=130500001&period=7d"),
        ("leader1", "leader-list", "/leader/requests/?hall=130500001"),
        ("leader1", "rankings", "/leader/rankings/"),
        # deliberation (livetest.seed_deliberation: an acceptance vote open on project 1)
        ("xf0", "delib-topics", f"/h/{livetest.COMPOUND}/topics/"),
        ("xf0", "delib-topic", "/topics/1/"),
        ("liaison_xf", "delib-meeting-officer", "/meetings/1/"),
        ("xf0", "delib-meeting-vote", "/meetings/2/"),
        ("liaison_xf", "delib-acceptance-officer", "/meetings/2/"),
        ("xf0", "delib-project", "/projects/1/"),
        ("manager1", "delib-late", "/late/"),
    ]
    if only:
        pages = [p for p in pages if p[1] in only]
    written = []
    if not only or "wall" in only:
        written.append(wall(browser, base, out))
    for width in WIDTHS:
        contexts: dict[str | None, Any] = {}
        for user, name, path in pages:
            if user not in contexts:
                ctx = browser.new_context(
                    viewport={"width": width, "height": 800},
                    base_url=base,
                    locale="zh-CN",
                    reduced_motion="reduce",  # charts drawn at once, not mid-animation
                )
                if user is not None:
                    livetest.login(ctx, base, user).close()
                contexts[user] = ctx
            page = contexts[user].new_page()
            page.goto(path, wait_until="networkidle")
            file = out / f"{name}-{width}.png"
            page.screenshot(path=str(file), full_page=True)
            written.append(file)
            if name == "hall-submit":
                page.fill("#text", "村口路灯坏了")
                page.wait_for_selector("#similar .similar")
                file = out / f"hall-similar-{width}.png"
                page.screenshot(path=str(file), full_page=True)
                written.append(file)
            if name == "capture":
                page.fill(
                    "textarea[name=text]", "王大爷说幸福小区3号楼门口污水外溢，电话13912345678"
                )
                page.wait_for_function("document.querySelector('input[name=phone]').value")
                file = out / f"capture-filled-{width}.png"
                page.screenshot(path=str(file), full_page=True)
                written.append(file)
            page.close()
        if only:
            for ctx in contexts.values():
                ctx.close()
            continue
        visitor = browser.new_context(
            viewport={"width": width, "height": 800}, base_url=base, locale="zh-CN"
        )
        page = visitor.new_page()
        page.goto(f"/h/{VILLAGE}/")
        page.fill("#text", "村里垃圾桶满了没人清理")
        page.check("input[name=anonymous]")
        page.click("#submit-btn")
        page.wait_for_url("**/submitted/**")
        file = out / f"submitted-{width}.png"
        page.screenshot(path=str(file), full_page=True)
        written.append(file)
        page.goto(f"/h/{VILLAGE}/", wait_until="networkidle")
        page.click("#big-toggle")
        page.reload(wait_until="networkidle")
        file = out / f"hall-large-type-{width}.png"
        page.screenshot(path=str(file), full_page=True)
        written.append(file)
        en = browser.new_context(
            viewport={"width": width, "height": 800}, base_url=base, locale="zh-CN"
        )
        page = en.new_page()
        page.goto(f"/h/{VILLAGE}/", wait_until="networkidle")
        page.click("form.lang button")
        page.wait_for_load_state("networkidle")
        file = out / f"hall-english-{width}.png"
        page.screenshot(path=str(file), full_page=True)
        written.append(file)
        for ctx in [*contexts.values(), visitor, en]:
            ctx.close()
    return written


def wall(browser: Any, base: str, out: Path) -> Path:
    """The wall screen (大屏) at 1920x1080, once its charts are drawn."""
    ctx = browser.new_context(
        viewport={"width": 1920, "height": 1080},
        base_url=base,
        locale="zh-CN",
        reduced_motion="reduce",
    )
    livetest.login(ctx, base, "leader1").close()
    page = ctx.new_page()
    page.goto("/leader/wall/", wait_until="networkidle")
    page.wait_for_function("window.__charts > 0 && document.body.dataset.live === 'on'")
    file = out / "wall-1920.png"
    page.screenshot(path=str(file))
    ctx.close()
    return file


def main(argv: list[str]) -> None:
    """Write the screenshots into argv[0] (default var/screenshots) and print the weight;
    further arguments name the only pages to take (e.g. `inbox request-liaison`)."""
    from playwright.sync_api import sync_playwright

    out = Path(argv[0] if argv else "var/screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        ids = livetest.prepare(data, demo=True).split()
        with livetest.server(data) as base, sync_playwright() as p:
            browser = livetest.launch(p)
            weight = page_weight(browser, base, f"/h/{VILLAGE}/")
            written = shots(browser, base, out, ids, argv[1:])
            browser.close()
    line = f"submit page /h/{VILLAGE}/: {weight} bytes transferred ({weight / 1024:.1f} KB)"
    (out / "page-weight.txt").write_text(line + "\n", encoding="utf-8")
    print(f"{len(written)} screenshots in {out}")
    print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
