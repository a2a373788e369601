"""Real servers for browser tests and screenshots: a seeded SQLite database, `yishiting serve`
processes on free ports, a throw-away redis-server, and headless Debian Chromium.

Used by yishiting/web/tests/test_browser.py and `make screenshots`; nothing here runs in
production.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # a synthetic microphone, allowed without a prompt (the voice-message test records from it)
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
PASSWORD = "browser-test-pw"

# Seeds the test county with usable passwords, a duty shift now, and (with "demo") a few
# requests in different states for the screenshots.
SEED = """
import sys
import django
django.setup()
from datetime import timedelta
from django.utils import timezone
from yishiting.testing import build_county, png_bytes
from yishiting.orgs.models import DutyShift, User
c = build_county()
from yishiting.web.livetest import seed_deliberation
seed_deliberation(c)
for u in User.objects.all():
    u.set_password(sys.argv[1])
    u.save()
now = timezone.now()
DutyShift.objects.create(county=c.county, user=c["duty1"], starts_at=now - timedelta(hours=1),
                         ends_at=now + timedelta(hours=8))
if len(sys.argv) > 2:
    import io
    from yishiting.requests import actions as a
    def photo():
        f = io.BytesIO(png_bytes(320, 240, "seagreen")); f.name = "fix.png"; return f
    r1 = a.do_submit(actor=c["resident1"], hall=c.village, address="村委会东侧",
                     text="村口路灯坏了三天，晚上很黑，老人出门不方便")
    r2 = a.do_submit(actor=c["resident2"], hall=c.village, category=c.sewage,
                     text="幸福小区3号楼门口污水外溢，味道很大")
    a.do_acknowledge(r2, actor=c["liaison1"], note="已收到，马上去看")
    r3 = a.do_submit(actor=c["resident1"], hall=c.village, category=c.streetlight,
                     text="东关村小学门口的路灯不亮")
    a.do_escalate(r3, actor=c["liaison1"], note="村里没有备件")
    a.do_acknowledge(r3, actor=c["manager1"])
    a.do_escalate(r3, actor=c["manager1"])
    r4 = a.do_submit(actor=c["resident2"], hall=c.village2, category=c.streetlight,
                     text="北街村十字路口路灯闪烁")
    a.do_escalate(r4, actor=c["liaison2"])
    a.do_acknowledge(r4, actor=c["manager1"])
    a.do_escalate(r4, actor=c["manager1"])
    a.do_dispatch(r4, actor=c["dispatcher1"], department="zhujian")
    r5 = a.do_submit(actor=c["resident1"], hall=c.village, category=c.streetlight,
                     text="东关村文化广场路灯坏了")
    a.do_escalate(r5, actor=c["liaison1"])
    a.do_acknowledge(r5, actor=c["manager1"])
    a.do_escalate(r5, actor=c["manager1"])
    a.do_dispatch(r5, actor=c["dispatcher1"], department="zhujian")
    a.do_claim(r5, actor=c["dept1"])
    a.do_resolve(r5, actor=c["dept1"], note="已更换灯泡", photos=[photo()])
    r6 = a.do_submit(actor=None, hall=c.village, anonymous=True, text="垃圾桶满了没人清理")
    a.do_submit(actor=c["resident2"], hall=c.village, text="井盖松动，车过有响声",
                now=now - timedelta(minutes=9))  # its 5-minute clock has run out: red
    a.do_submit(actor=c["resident2"], hall=c.village, text="健身器材扶手松了",
                now=now - timedelta(minutes=3))  # past half its clock: amber
    print(r1.pk, r5.pk, r6.follow_code)
"""


# The deliberation's compound for the browser's e-bike story: 幸福小区, ten households of one
# verified adult each (xf0 … xf9), its liaison liaison_xf.
COMPOUND = "130500001101"


def seed_deliberation(c: Any) -> None:
    """幸福小区's register, and a project whose acceptance vote is open (topic 1, meeting 1,
    project 1, acceptance meeting 2): the browser's failed-acceptance variant starts there."""
    import io
    from datetime import timedelta

    from django.utils import timezone

    from yishiting.deliberation import actions as d
    from yishiting.deliberation.testing import fill
    from yishiting.orgs.models import Hall, HallKind, Membership, Role, User
    from yishiting.testing import png_bytes

    community = Hall.objects.create(
        code="130500001100", name="东关社区", kind=HallKind.COMMUNITY, parent=c.township
    )
    compound = Hall.objects.create(
        code=COMPOUND, name="幸福小区", kind=HallKind.COMPOUND, parent=community
    )
    liaison = User.objects.create(username="liaison_xf", display_name="高敏")
    Membership.objects.create(user=liaison, role=Role.LIAISON, hall=compound)
    people = fill(compound, households=10, accounts=10, prefix="xf").users()

    def photo() -> io.BytesIO:
        f = io.BytesIO(png_bytes(320, 240, "slategray"))
        f.name = "roof.png"
        return f

    now = timezone.now()
    topic = d.do_raise_topic(
        actor=people[5], hall=compound, title="楼顶防水层老化漏雨",
        text="6号楼顶层每逢下雨就漏，建议整体重做防水。", now=now - timedelta(days=9),
    )  # fmt: skip
    meeting = None
    for u in people[5:7]:
        _t, meeting = d.do_support(topic, actor=u, now=now - timedelta(days=9))
    assert meeting is not None
    starts = now - timedelta(days=8)
    d.do_agenda(meeting, actor=liaison, starts_at=starts, now=starts - timedelta(hours=2))
    d.do_notify(meeting, actor=liaison, now=starts - timedelta(hours=1))
    d.do_open(meeting, actor=liaison, now=starts)
    for u in people[:7]:
        d.do_vote(meeting, actor=u, choice="yes", now=starts + timedelta(minutes=5))
    d.do_close(meeting, actor=liaison, now=starts + timedelta(hours=1))
    d.do_publish(meeting, actor=liaison, now=starts + timedelta(hours=2))
    project = d.do_create_project(
        actor=liaison, meeting=meeting.pk, title="6号楼顶防水", now=starts + timedelta(hours=3)
    )
    step = d.do_add_milestone(project, actor=liaison, title="重做防水层", cost="9000",
                              now=starts + timedelta(hours=3))  # fmt: skip
    d.do_complete_milestone(project, actor=liaison, milestone=step.pk, photos=[photo()],
                            now=now - timedelta(days=1))  # fmt: skip
    d.do_start_acceptance(project, actor=liaison, now=now - timedelta(hours=1))


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium_available() -> bool:
    """Debian's chromium and the playwright package are both here."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a server on its own SQLite database under `data_dir`."""
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        YISHITING_DATA_DIR=str(data_dir),
        YISHITING_MEDIA_ROOT=str(data_dir / "media"),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def prepare(data_dir: Path, *, demo: bool = False) -> str:
    """Migrate and seed a database; returns what the seed printed (ids for screenshots)."""
    env = env_for(data_dir)
    subprocess.run(
        [sys.executable, "-m", "yishiting.cli", "migrate", "-v0"], env=env, check=True, cwd=ROOT
    )
    args = [sys.executable, "-c", SEED, PASSWORD] + (["demo"] if demo else [])
    done = subprocess.run(args, env=env, check=True, cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"server at {url} did not start") from None
            time.sleep(0.1)  # polling for the server to listen, not racing anything


@contextmanager
def server(data_dir: Path, *, worker: bool = False, **extra: str) -> Iterator[str]:
    """`yishiting serve` (uvicorn, ASGI with WebSockets) on a free port; yields its base URL.
    Without `worker` no deadline sweep runs, so nothing moves but what a test does."""
    port = free_port()
    log = open(data_dir / f"serve-{port}.log", "wb")  # noqa: SIM115  (closed below)
    args = ["serve", "--port", str(port)] + ([] if worker else ["--no-worker"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "yishiting.cli", *args],
        env=env_for(data_dir, **extra),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base + "/accounts/login/", proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def redis(data_dir: Path, port: int | None = None) -> Iterator[str]:
    """A throw-away redis-server on `port` (else a free one), nothing saved; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (scripts/deps.sh installs it)")
    port = port or free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)  # polling for the port to open
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def launch(playwright):  # type: ignore[no-untyped-def]
    """Headless Debian Chromium with the flags this machine needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def login(context, base: str, username: str):  # type: ignore[no-untyped-def]
    """A page in `context` logged in as `username` (through the log-in form)."""
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/w/")
    return page
