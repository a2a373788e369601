"""The load client (asyncio + aiohttp): residents, liaisons live on the WebSocket, managers,
dispatchers and department officers, for a fixed time. Records every call; judges nothing.

`python -m bench.load.client CREDS.json URL OUT.json --residents 200 --liaisons 1000
--seconds 600`. The orchestrator (`bench.load.run`) reads OUT.json.

- A resident submits (multipart, one real JPEG) to a hall that has connected liaisons, reads
  the request back half the time, then thinks (exponential, mean `--think` seconds). Each text
  carries a nonce, so a submit whose answer was lost (connection reset) can be looked up.
- A liaison holds a logged-in WebSocket on /ws/live/ (its session joins its hall's group) and
  reconnects when dropped. The hall's first liaison acts on each new request of its own hall
  (not on those of the compounds below it, which are their own liaisons'): 70% acknowledge,
  then half escalate and half start and resolve with a photo; the other 30% it leaves for the
  first-response clock to run out (the sweep escalates them).
- A township manager polls its escalated requests: acknowledge, escalate (to the county's
  assignment hall). A dispatcher polls the assignment hall: dispatch to a department. An
  officer polls the department: claim, and resolve with a photo a few seconds later.

Retries: reads (GET) up to 3 times on a connection error; a submit, which carries its nonce
as its `Idempotency-Key`, on a connection error or a 5xx for up to SUBMIT_RETRY_FOR seconds
(the server then answers with the request the lost attempt stored, or stores it once); verbs
never (the actor sees the request again on its next poll). A submit still without an answer
after that is "unknown".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import random
import time
from typing import Any

import aiohttp

TEXTS = [
    "小区门口路灯坏了好几天，晚上出门很不方便",
    "村东头下水道堵了，污水漫到路上",
    "楼道里有人给电动车充电，担心起火",
    "垃圾桶破了没人换，味道很大",
    "人行道地砖松动，老人走路容易绊倒",
    "路边护栏被撞坏了，车辆经过很危险",
    "化粪池满了往外冒，请尽快清理",
    "学校门口早上堵车严重，孩子过马路不安全",
]
P_ACK = 0.7
POLL_SECONDS = 2.0
RESOLVE_AFTER = 3.0
SUBMIT_RETRY_FOR = 30.0  # seconds: longer than a restarted `yishiting serve` takes to answer


def jpeg(seed: int = 1) -> bytes:
    """A small real photo (JPEG, 480x360, ~20 kB)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (480, 360), (92, 128, 84))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randint(0, 400), rng.randint(0, 300)
        draw.ellipse((x, y, x + 60, y + 50), fill=tuple(rng.randint(30, 230) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=75)
    return out.getvalue()


class Load:
    """One run: the people, what they did and what they saw."""

    def __init__(self, creds: dict[str, Any], url: str, args: argparse.Namespace) -> None:
        self.creds, self.url, self.args = creds, url.rstrip("/"), args
        self.run_id = f"{int(time.time()) % 100000:05d}"
        self.photo = jpeg()
        self.liaisons = creds["liaisons"][: args.liaisons]
        self.halls = sorted({L["hall"] for L in self.liaisons})
        self.designated: dict[str, int] = {}
        for i, L in enumerate(self.liaisons):
            self.designated.setdefault(L["hall"], i)
        townships = {h[:9] for h in self.halls}
        self.managers = [m for m in creds["managers"] if m["hall"] in townships]
        self.calls: list[tuple[str, float, float, int, str]] = []
        self.submits: list[dict[str, Any]] = []
        self.unknown: list[dict[str, Any]] = []
        self.verbs_ok: list[tuple[int, str, int]] = []
        self.pushes: list[tuple[int, int, float]] = []
        self.changes = 0
        self.connected: dict[int, list[list[float]]] = {i: [] for i in range(len(self.liaisons))}
        self.stopping = asyncio.Event()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.end = 0.0

    # --- plumbing -----------------------------------------------------------------------------

    async def call(
        self,
        name: str,
        method: str,
        path: str,
        token: str,
        *,
        retry: bool = False,
        seen: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> tuple[int, Any]:
        """One HTTP call, recorded as (endpoint, start, ms, status or 0, error kind). `seen`
        receives the answer's headers."""
        headers = {"Authorization": f"Token {token}", **(headers or {})}
        for attempt in range(3 if retry else 1):
            t0, p0 = time.time(), time.perf_counter()
            try:
                async with self.http.request(method, self.url + path, headers=headers, **kw) as r:
                    raw = await r.read()
                    ms = (time.perf_counter() - p0) * 1000
                    self.calls.append((name, t0, ms, r.status, ""))
                    if seen is not None:
                        seen.update(r.headers)
                    try:
                        return r.status, json.loads(raw) if raw else None
                    except ValueError:
                        return r.status, None
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                ms = (time.perf_counter() - p0) * 1000
                self.calls.append((name, t0, ms, 0, type(exc).__name__))
                if attempt < 2 and retry:
                    await asyncio.sleep(0.3)
        return 0, None

    def form(self, fields: dict[str, Any], photo: bool) -> aiohttp.FormData:
        data = aiohttp.FormData()
        for k, v in fields.items():
            data.add_field(k, str(v))
        if photo:
            data.add_field("photos", self.photo, filename="photo.jpg", content_type="image/jpeg")
        return data

    async def verb(
        self, token: str, rid: int, verb: str, version: int, photo: bool = False, **fields: Any
    ) -> dict[str, Any] | None:
        """A verb with the version the actor saw (a stale one is a clean 409)."""
        path = f"/api/v1/requests/{rid}/{verb}"
        if photo:
            kw: dict[str, Any] = {"data": self.form({"version": version, **fields}, True)}
        else:
            kw = {"json": {"version": version, **fields}}
        status, body = await self.call(f"POST {verb}", "POST", path, token, **kw)
        if status == 200 and body:
            self.verbs_ok.append((rid, verb, int(body["version"])))
            return body
        return None

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def pause(self, seconds: float) -> bool:
        """Sleep; True when the run is over."""
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    # --- liaisons on the WebSocket --------------------------------------------------------------

    async def liaison(self, i: int, ready: asyncio.Event, count: list[int]) -> None:
        L = self.liaisons[i]
        ws_url = self.url.replace("http://", "ws://") + "/ws/live/"
        headers = {"Cookie": f"sessionid={L['session']}", "Origin": self.url}
        rng = random.Random(i)
        first = True
        backoff = 0.25
        while not self.stopping.is_set():
            t0, p0 = time.time(), time.perf_counter()
            span: list[float] | None = None
            try:
                async with self.http.ws_connect(ws_url, headers=headers, autoping=True) as ws:
                    self.calls.append(
                        ("WS connect", t0, (time.perf_counter() - p0) * 1000, 101, "")
                    )
                    span = [time.time(), 0.0]
                    self.connected[i].append(span)
                    if first:
                        first = False
                        count[0] += 1
                        if count[0] == len(self.liaisons):
                            ready.set()
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        now = time.time()
                        data = json.loads(msg.data)
                        if data.get("kind") == "new":
                            self.pushes.append((int(data["id"]), i, now))
                            mine = data.get("hall") == L["hall"]  # not a compound's below
                            if (
                                mine
                                and self.designated.get(L["hall"]) == i
                                and not self.stopping.is_set()
                            ):
                                self.spawn(self.liaison_acts(L, data, rng))
                        else:
                            self.changes += 1
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                if span is None:
                    ms = (time.perf_counter() - p0) * 1000
                    self.calls.append(("WS connect", t0, ms, 0, type(exc).__name__))
            finally:
                if span is not None:
                    span[1] = time.time()
            # As the page does (web/static/web/app.js): a back-off doubling from 0.5 s to 15 s,
            # each wait in the upper half of its step, reset by a connection that held 10 s.
            held = span is not None and time.time() - span[0] > 10
            backoff = 0.5 if held else min(15.0, backoff * 2)
            if await self.pause(rng.uniform(0.5, 1.0) * backoff):
                break

    async def liaison_acts(
        self, L: dict[str, Any], push: dict[str, Any], rng: random.Random
    ) -> None:
        if rng.random() > P_ACK:
            return  # left for the first-response clock
        if await self.pause(rng.uniform(0.2, 2.0)):
            return
        rid, token = int(push["id"]), L["token"]
        body = await self.verb(token, rid, "acknowledge", int(push["version"]))
        if body is None:
            return
        if rng.random() < 0.5:
            await self.verb(
                token, rid, "escalate", body["version"], note="村里解决不了，请上级处理"
            )
            return
        body = await self.verb(token, rid, "start", body["version"], note="联络员现场处理")
        if body is None or await self.pause(rng.uniform(1.0, 3.0)):
            return
        await self.verb(token, rid, "resolve", body["version"], photo=True, note="已现场处理完毕")

    # --- residents ------------------------------------------------------------------------------

    async def resident(self, i: int, R: dict[str, Any]) -> None:
        rng = random.Random(1000 + i)
        think = self.args.think
        if await self.pause(rng.uniform(0, think)):
            return
        seq = 0
        while time.time() < self.end:
            seq += 1
            hall = rng.choice(self.halls)
            nonce = f"LT{self.run_id}-{i}-{seq}"
            text = f"{rng.choice(TEXTS)}（编号 {nonce}）"
            t0 = time.time()
            tries = 0
            while True:
                tries += 1
                seen: dict[str, str] = {}
                status, body = await self.call(
                    "POST /requests (photo)",
                    "POST",
                    "/api/v1/requests",
                    R["token"],
                    seen=seen,
                    headers={"Idempotency-Key": nonce},
                    data=self.form({"hall": hall, "text": text}, True),
                )
                if 0 < status < 500 or time.time() - t0 > SUBMIT_RETRY_FOR:
                    break
                await asyncio.sleep(min(0.25 * 2**tries, 2.0))
            if status == 201 and body:
                self.submits.append(
                    {
                        "id": body["id"],
                        "follow_code": body["follow_code"],
                        "nonce": nonce,
                        "hall": hall,
                        "t": t0,
                        "done": time.time(),  # answered: committed by then
                        "version": body["version"],
                        "tries": tries,
                        "replayed": seen.get("Idempotent-Replayed") == "true",
                    }
                )
                if rng.random() < 0.5:
                    await self.call(
                        "GET /requests/{id}",
                        "GET",
                        f"/api/v1/requests/{body['id']}",
                        R["token"],
                        retry=True,
                    )
            elif status == 0 or status >= 500:
                # Still no answer: the request may or may not be there (reconciled by nonce).
                self.unknown.append({"nonce": nonce, "hall": hall, "t": t0, "status": status})
            if await self.pause(rng.expovariate(1 / think)):
                return

    # --- staff who poll -----------------------------------------------------------------------

    async def poll(self, token: str, query: str) -> list[dict[str, Any]]:
        status, body = await self.call(
            "GET /requests?…", "GET", f"/api/v1/requests?{query}&page_size=50", token, retry=True
        )
        return body.get("results", []) if status == 200 and body else []

    async def manager(self, M: dict[str, Any], rng: random.Random) -> None:
        assignment = self.creds["assignment"]
        while not await self.pause(rng.uniform(0.5, 1.5) * POLL_SECONDS):
            for r in await self.poll(M["token"], f"hall={M['hall']}&status=escalated"):
                if r["hall"]["code"] == assignment or "acknowledge" not in r["allowed_verbs"]:
                    continue
                body = await self.verb(M["token"], r["id"], "acknowledge", r["version"])
                if body is not None:
                    await self.verb(
                        M["token"], r["id"], "escalate", body["version"], note="乡镇转县交办"
                    )

    async def dispatcher(self, k: int, D: dict[str, Any], n: int, rng: random.Random) -> None:
        departments = sorted({o["department"] for o in self.creds["officers"]})
        hall = self.creds["assignment"]
        while not await self.pause(rng.uniform(0.5, 1.5) * POLL_SECONDS):
            for r in await self.poll(D["token"], f"hall={hall}&status=escalated"):
                if r["id"] % n != k or r["hall"]["code"] != hall:
                    continue
                await self.verb(
                    D["token"],
                    r["id"],
                    "dispatch",
                    r["version"],
                    department=rng.choice(departments),
                    note="请按时办理",
                )

    async def department(
        self, code: str, officers: list[dict[str, Any]], rng: random.Random
    ) -> None:
        claimed: dict[int, float] = {}
        turn = 0
        while not await self.pause(rng.uniform(0.5, 1.5) * POLL_SECONDS):
            turn += 1
            token = officers[turn % len(officers)]["token"]
            for r in await self.poll(token, f"department={code}&status=dispatched"):
                if await self.verb(token, r["id"], "claim", r["version"]):
                    claimed[r["id"]] = time.time()
            for r in await self.poll(token, f"department={code}&status=claimed"):
                if time.time() - claimed.setdefault(r["id"], 0.0) >= RESOLVE_AFTER:
                    await self.verb(
                        token, r["id"], "resolve", r["version"], photo=True, note="已修复，附照片"
                    )

    # --- the run --------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as self.http:
            ready, count = asyncio.Event(), [0]
            t_ws = time.time()
            sockets = [
                asyncio.ensure_future(self.liaison(i, ready, count))
                for i in range(len(self.liaisons))
            ]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), 120)
            connect_seconds = time.time() - t_ws
            start = time.time()
            self.end = start + self.args.seconds
            if self.args.started:
                with open(self.args.started, "w") as f:
                    f.write(str(start))
            rng = random.Random(7)
            people = [
                *(
                    self.resident(i, R)
                    for i, R in enumerate(self.creds["residents"][: self.args.residents])
                ),
                *(self.manager(M, random.Random(rng.random())) for M in self.managers),
                *(
                    self.dispatcher(
                        k, D, len(self.creds["dispatchers"]), random.Random(rng.random())
                    )
                    for k, D in enumerate(self.creds["dispatchers"])
                ),
            ]
            by_dept: dict[str, list[dict[str, Any]]] = {}
            for o in self.creds["officers"]:
                by_dept.setdefault(o["department"], []).append(o)
            people += [
                self.department(code, os_, random.Random(rng.random()))
                for code, os_ in sorted(by_dept.items())
            ]
            staff = [asyncio.ensure_future(p) for p in people]
            await asyncio.sleep(max(0.0, self.end - time.time()))
            self.stopping.set()
            await asyncio.gather(*staff, return_exceptions=True)
            await asyncio.sleep(2.0)  # late pushes
            for s in sockets:
                s.cancel()
            await asyncio.gather(*sockets, *self.tasks, return_exceptions=True)
            stop = time.time()
        return {
            "start": start,
            "end": self.end,
            "stop": stop,
            "ws_connect_seconds": round(connect_seconds, 2),
            "ws_connected_at_start": count[0],
            "residents": self.args.residents,
            "liaisons": len(self.liaisons),
            "halls": len(self.halls),
            "hall_liaisons": {
                h: [i for i, L in enumerate(self.liaisons) if L["hall"] == h] for h in self.halls
            },
            "calls": self.calls,
            "submits": self.submits,
            "unknown": self.unknown,
            "verbs_ok": self.verbs_ok,
            "pushes": self.pushes,
            "changes": self.changes,
            "connected": self.connected,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("creds")
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--liaisons", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--think", type=float, default=20.0, help="mean seconds between submits")
    parser.add_argument("--started", help="a file to write the load's start time to")
    args = parser.parse_args()
    with open(args.creds) as f:
        creds = json.load(f)
    result = asyncio.run(Load(creds, args.url, args).run())
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
