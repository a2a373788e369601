"""One load run on one set-up, with or without faults, judged: `run(...)` returns a summary.

The orchestrator starts the set-up (bench.load.stack), runs the client (bench.load.client) in
its own process, injects the faults in the middle of the load from here, then has
bench.load.check read the database, and judges the whole against the targets.

Faults are spread evenly over the load, the kinds taking turns: `server` (kill -9 of one
server process, round robin; the supervisor starts it again), `worker` (kill -9 of the worker),
`postgres` (`pg_ctl restart -m immediate`). On SQLite, `yishiting serve`'s own supervisor starts
a killed server process again, and the worker is serve's parent process: killing it ends its
server processes too, and the set-up's supervisor starts serve again.

A call counts as an error when it failed (connection error, 5xx) outside every fault window
(from the fault until the set-up served again, plus 2 s), or was refused with a 4xx other than
409. A 409 is a lost race (a person and the sweep, or a stale list) and is counted apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import stack
from bench.load.check import pct

ROOT = stack.ROOT
PUSH_WINDOW = 5.0  # a liaison connected this long after a submit's answer must get its push
WINDOW_GRACE = 2.0

TARGET_SUBMIT_P99_MS = 200.0
TARGET_PUSH_P99_MS = 1000.0


@dataclass
class Size:
    """How big a run is."""

    residents: int
    liaisons: int
    seconds: float
    faults: int  # of each kind
    think: float = 20.0
    first_response: int = 20


SIZES = {
    # 30 s: the faults come one after the other, each once the last has recovered, and a kill
    # of serve (its parent and both servers) takes several seconds to answer again
    "small": Size(10, 50, 30, 2, think=4.0, first_response=6),
    "medium": Size(60, 300, 90, 3, think=20.0, first_response=15),
    "full": Size(200, 1000, 600, 20, think=20.0, first_response=20),
}


class Faults(threading.Thread):
    """Injects the faults at their times; records each one's window and recovery."""

    def __init__(self, st: stack.Stack, kinds: list[str], each: int, seconds: float) -> None:
        super().__init__(name="faults", daemon=True)
        self.st = st
        total = len(kinds) * each
        self.plan = [(seconds * (j + 1) / (total + 1), kinds[j % len(kinds)]) for j in range(total)]
        self.windows: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.start_at = 0.0
        self._go = threading.Event()
        self._halt = threading.Event()

    def begin(self, at: float) -> None:
        self.start_at = at
        self._go.set()

    def stop(self) -> None:
        self._halt.set()
        self._go.set()

    def run(self) -> None:
        self._go.wait()
        turn = 0
        for offset, kind in self.plan:
            if self._halt.wait(max(0.0, self.start_at + offset - time.time())):
                return
            t0 = time.time()
            try:
                if kind == "server":
                    proc = self.st.servers[turn % len(self.st.servers)]
                    turn += 1
                    before = proc.kill9()
                    proc.wait_restarted(before)
                elif kind == "worker":
                    assert self.st.worker is not None
                    before = self.st.worker.kill9()
                    self.st.worker.wait_restarted(before)
                elif kind == "postgres":
                    assert self.st.postgres is not None
                    self.st.postgres.restart()
                # Serving again: an answer through the one port (a server process needs about
                # its import time before it accepts).
                stack.wait_http(self.st.url + "/api/v1/categories", timeout=60)
                if kind == "server":
                    time.sleep(0.1)
            except Exception as exc:  # recorded: a fault the set-up did not recover from
                self.failures.append(f"{kind} at {t0:.1f}: {exc}")
            t1 = time.time()
            self.windows.append({"kind": kind, "t0": t0, "t1": t1, "recover_s": t1 - t0})


ROLES = [  # (role, what its command line holds), first match wins
    ("servers", (b"uvicorn", b"spawn_main")),
    ("worker", (b"yishiting.cli\x00worker", b"yishiting.cli\x00serve")),
    ("postgres", (b"postgres",)),
    ("redis", (b"redis-server",)),
    ("client", (b"bench.load.client",)),
]


def cpu_snapshot() -> dict[int, tuple[str, float]]:
    """Each process's role and CPU seconds so far (user + system), from /proc; `machine` is
    pid 0, the whole machine's busy time."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[str, float]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes()
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        role = next((r for r, marks in ROLES if any(m in cmd for m in marks)), "other")
        out[int(d.name)] = (role, (int(fields[11]) + int(fields[12])) / tick)
    cpu = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    busy = sum(int(x) for x in cpu) - int(cpu[3]) - int(cpu[4])  # all but idle and iowait
    out[0] = ("machine", busy / tick)
    return out


def cpu_by_role(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds each role used between two snapshots (a process that died in between is
    not counted: fault runs undercount the killed ones)."""
    out: dict[str, float] = defaultdict(float)
    for pid, (role, secs) in after.items():
        out[role] += secs - (before[pid][1] if pid in before else 0.0)
    return {k: round(v, 1) for k, v in sorted(out.items())}


def _in_window(t: float, ms: float, windows: list[dict[str, Any]]) -> bool:
    end = t + ms / 1000
    return any(t <= w["t1"] + WINDOW_GRACE and end >= w["t0"] for w in windows)


def analyse(client: dict[str, Any], windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Latencies, throughput, errors and pushes from the client's record."""
    calls = client["calls"]
    span = max(1e-6, client["end"] - client["start"])
    in_load = [c for c in calls if client["start"] <= c[1] <= client["stop"]]
    endpoints: dict[str, dict[str, Any]] = {}
    by_name: dict[str, list[Any]] = defaultdict(list)
    for c in calls:
        by_name[c[0]].append(c)
    errors = conflicts = fault_failures = 0
    samples: list[str] = []
    for name, cs in sorted(by_name.items()):
        ok = [c[2] for c in cs if 100 <= c[3] < 400]
        e = 0
        for _n, t, ms, status, kind in cs:
            if status == 409:
                conflicts += 1
            elif status == 0 or status >= 500:
                if _in_window(t, ms, windows):
                    fault_failures += 1
                else:
                    e += 1
                    if len(samples) < 10:
                        samples.append(f"{name}: {status or kind}")
            elif status >= 400:
                e += 1
                if len(samples) < 10:
                    samples.append(f"{name}: {status}")
        errors += e
        endpoints[name] = {
            "n": len(cs),
            "p50": pct(ok, 50),
            "p99": pct(ok, 99),
            "errors": e,
            "rps": round(len(cs) / span, 2),
        }
    # Pushes: each accepted submit, to each liaison of its hall connected throughout: from
    # before the submit was sent until PUSH_WINDOW after its answer (the event committed at
    # some time in between; a loaded server may take seconds to answer).
    arrivals = {(rid, i): t for rid, i, t in client["pushes"]}
    latencies: list[float] = []
    expected = received = missed_in_faults = missed = 0
    for s in client["submits"]:
        until = s.get("done", s["t"]) + PUSH_WINDOW
        for i in client["hall_liaisons"][s["hall"]]:
            spans = client["connected"][str(i)]
            if not any(up <= s["t"] and down >= until for up, down in spans):
                continue
            expected += 1
            got = arrivals.get((s["id"], i))
            if got is not None:  # late is slow (the p99 shows it), not lost
                received += 1
                latencies.append((got - s["t"]) * 1000)
            elif _in_window(s["t"], (until - s["t"]) * 1000, windows):
                missed_in_faults += 1
            else:
                missed += 1
    return {
        "seconds": round(span, 1),
        "calls": len(in_load),
        "calls_per_s": round(len(in_load) / span, 1),
        "submits_per_s": round(len(client["submits"]) / span, 2),
        # Submits answered only after a retry under their Idempotency-Key, and of those, the
        # ones the server answered with the request a lost attempt had stored.
        "submits_retried": sum(1 for x in client["submits"] if x.get("tries", 1) > 1),
        "submits_replayed": sum(1 for x in client["submits"] if x.get("replayed")),
        "endpoints": endpoints,
        "errors": errors,
        "error_samples": samples,
        "conflicts": conflicts,
        "fault_failures": fault_failures,
        "push_expected": expected,
        "push_received": received,
        "push_missed": missed,
        "push_missed_in_faults": missed_in_faults,
        "push_p50": pct(latencies, 50),
        "push_p99": pct(latencies, 99),
        "ws_connect_seconds": client["ws_connect_seconds"],
        "ws_connected": client["ws_connected_at_start"],
    }


def run(kind: str, size: Size, *, faults: bool, base: Path, log: Any = print) -> dict[str, Any]:
    """One run of `size` on set-up `kind` ("pg" or "sqlite"); the judged summary."""
    base.mkdir(parents=True, exist_ok=True)
    setup = stack.postgres_stack if kind == "pg" else stack.sqlite_stack
    kinds = ["server", "worker", "postgres"] if kind == "pg" else ["server", "worker"]
    t_setup = time.time()
    with setup(base, size.first_response) as (st, creds):
        log(f"[{kind}] set-up ready in {time.time() - t_setup:.0f} s at {st.url}")
        injector = Faults(st, kinds if faults else [], size.faults, size.seconds)
        injector.start()
        started = base / "started"
        started.unlink(missing_ok=True)
        client_out = base / "client.json"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.load.client",
                str(creds),
                st.url,
                str(client_out),
                "--residents",
                str(size.residents),
                "--liaisons",
                str(size.liaisons),
                "--seconds",
                str(size.seconds),
                "--think",
                str(size.think),
                "--started",
                str(started),
            ],
            cwd=ROOT,
        )
        while not started.exists() and proc.poll() is None:
            time.sleep(0.1)
        if started.exists():
            injector.begin(float(started.read_text() or time.time()))
        cpu_before = cpu_snapshot()
        _pid, status, usage = os.wait4(proc.pid, 0)  # the client's own CPU: gone after
        code = proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = cpu_by_role(cpu_before, cpu_snapshot())
        cpu["client"] = round(usage.ru_utime + usage.ru_stime, 1)
        injector.stop()
        injector.join(90)
        if code != 0:
            raise RuntimeError(f"the load client failed ({code})")
        # The app serves again, every process is up.
        stack.wait_http(st.url + "/api/v1/categories", timeout=60)
        alive = all(p.alive() for p in st.processes())
        check_out = base / "check.json"
        subprocess.run(
            [sys.executable, "-m", "bench.load.check", str(client_out), str(check_out)],
            env=st.env,
            cwd=ROOT,
            check=True,
        )
        restarts = {p.name: len(p.starts) - 1 for p in st.processes()}
    client = json.loads(client_out.read_text())
    checked = json.loads(check_out.read_text())
    summary: dict[str, Any] = {
        "setup": kind,
        "faults": faults,
        "residents": size.residents,
        "liaisons": size.liaisons,
        **analyse(client, injector.windows),
        **{k: v for k, v in checked.items() if k != "lost_ids"},
        "lost_ids": checked.get("lost_ids", []),
        "fault_windows": injector.windows,
        "fault_counts": {
            k: sum(1 for w in injector.windows if w["kind"] == k) for k in kinds if faults
        },
        "fault_failures_unrecovered": injector.failures,
        "recover_max_s": max((w["recover_s"] for w in injector.windows), default=None),
        "restarts": restarts,
        "all_alive": alive,
        "cpu": cpu,
    }
    summary["problems"] = problems(summary, latency=not faults)
    return summary


def problems(s: dict[str, Any], *, latency: bool) -> list[str]:
    """What fails the run: errors, losses, doubles, misses; latencies only without faults."""
    out = []
    checks = [
        ("errors", s["errors"]),
        ("lost (201 not in the database)", s["lost"]),
        ("verbs answered 200 without their event", s["verbs_missing"]),
        ("requests without a submit event", s["no_submit_event"]),
        ("replay mismatches", s["replay_mismatches"]),
        ("submits accepted twice", s["accepted_twice"] + s["unknown_twice"]),
        ("requests stored twice (same nonce)", s["stored_twice"]),
        ("first-response breaches escalated twice", s["double_escalations"]),
        ("clocks breached twice", s["double_breaches"]),
        ("deadlines left unhandled", s["deadlines_unhandled"]),
        ("pushes lost", s["push_missed"]),
        ("faults not recovered from", len(s["fault_failures_unrecovered"])),
        ("tasks left RUNNING by a dead worker", s["tasks_running"]),
    ]
    out += [f"{name}: {n}" for name, n in checks if n]
    if not s["all_alive"]:
        out.append("a process was not running at the end")
    if s["accepted"] == 0:
        out.append("nothing was submitted")
    if latency:
        submit = s["endpoints"].get("POST /requests (photo)", {}).get("p99")
        if submit is not None and submit > TARGET_SUBMIT_P99_MS:
            out.append(f"target: submit p99 {submit:.0f} ms > {TARGET_SUBMIT_P99_MS:.0f} ms")
        if s["push_p99"] is not None and s["push_p99"] > TARGET_PUSH_P99_MS:
            out.append(
                f"target: live push p99 {s['push_p99']:.0f} ms > {TARGET_PUSH_P99_MS:.0f} ms"
            )
    return out
