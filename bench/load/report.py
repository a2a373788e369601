"""The one table: a row per measure, a column per run (and the fuzz suites' lines below)."""

from __future__ import annotations

from typing import Any

from bench.load.run import ROLES as _ROLES

ENDPOINTS = [
    "POST /requests (photo)",
    "GET /requests/{id}",
    "GET /requests?…",
    "POST acknowledge",
    "POST escalate",
    "POST start",
    "POST dispatch",
    "POST claim",
    "POST resolve",
    "WS connect",
]


ROLES = [role for role, _marks in _ROLES] + ["other"]  # the CPU row's columns


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f}"


def _s(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def _cpu(c: dict[str, float]) -> str:
    if not c:
        return "–"
    parts = " / ".join(f"{c.get(k, 0):.0f}" for k in ROLES)
    return f"{c.get('machine', 0):.0f} ({parts})"


def title(s: dict[str, Any]) -> str:
    name = "PostgreSQL+Redis, 4 servers" if s["setup"] == "pg" else "SQLite, yishiting serve"
    return f"{name}{' + faults' if s['faults'] else ''}"


def rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    """(measure, value) for one run."""
    e = s["endpoints"]
    out = [
        (
            "residents / liaisons / seconds",
            f"{s['residents']} / {s['liaisons']} / {s['seconds']:.0f}",
        ),
        (
            "liaisons connected (connect s)",
            f"{s['ws_connected']} ({s['ws_connect_seconds']:.1f} s)",
        ),
        ("calls (HTTP + WS), per s", f"{s['calls']}, {s['calls_per_s']}"),
        ("submits 201, per s", f"{s['accepted']}, {s['submits_per_s']}"),
    ]
    for name in ENDPOINTS:
        if name in e:
            out.append(
                (
                    f"{name} p50 / p99 ms (n)",
                    f"{_ms(e[name]['p50'])} / {_ms(e[name]['p99'])} ({e[name]['n']})",
                )
            )
    out += [
        ("live push p50 / p99 ms", f"{_ms(s['push_p50'])} / {_ms(s['push_p99'])}"),
        ("pushes received / expected", f"{s['push_received']} / {s['push_expected']}"),
        ("pushes missed in fault windows", str(s["push_missed_in_faults"])),
        ("errors", str(s["errors"])),
        ("409 (lost races)", str(s["conflicts"])),
        ("failed calls in fault windows", str(s["fault_failures"])),
        (
            "submits retried (answered by replay)",
            f"{s.get('submits_retried', 0)} ({s.get('submits_replayed', 0)})",
        ),
        ("submits unknown (found after)", f"{s['unknown']} ({s['unknown_found']})"),
        ("lost (201 not in DB)", str(s["lost"])),
        ("200 verbs without event", str(s["verbs_missing"])),
        ("replay mismatches", str(s["replay_mismatches"])),
        ("requests / events in DB", f"{s['requests']} / {s['events']}"),
        ("auto-escalations (twice)", f"{s['auto_escalations']} ({s['double_escalations']})"),
        ("clocks breached twice", str(s["double_breaches"])),
        ("deadlines left unhandled", str(s["deadlines_unhandled"])),
        (
            "sweep lag p50 / p99 / max s",
            f"{_s(s['sweep_lag_p50'])} / {_s(s['sweep_lag_p99'])} / {_s(s['sweep_lag_max'])}",
        ),
        (
            "faults (server / worker / pg)",
            "–"
            if not s["faults"]
            else " / ".join(
                str(s["fault_counts"].get(k, "–")) for k in ("server", "worker", "postgres")
            ),
        ),
        ("recovery max s", _s(s["recover_max_s"])),
        ("restarts by the supervisor", str(sum(s["restarts"].values()))),
        ("tasks left RUNNING", str(s["tasks_running"])),
        (
            "tasks done / queued; notifications pending",
            f"{s['tasks'].get('SUCCESSFUL', 0)} / {s['tasks'].get('READY', 0)}; "
            f"{s['notifications'].get('pending', 0)}",
        ),
        (
            "deliveries: done by outcome; notifications sent p50 / p99 s",
            ", ".join(f"{k} {v}" for k, v in sorted(s.get("task_outcomes", {}).items()))
            + f"; {_s(s.get('notify_lag_p50'))} / {_s(s.get('notify_lag_p99'))}",
        ),
        (
            "CPU s: machine (servers / worker / postgres / redis / client / other)",
            _cpu(s.get("cpu", {})),
        ),
        ("verdict", "PASS" if not s["problems"] else "FAIL"),
    ]
    return out


def table(summaries: list[dict[str, Any]], extra: list[tuple[str, str]] | None = None) -> str:
    """Markdown: measures down, runs across; `extra` lines (the fuzz suites) after."""
    columns = [title(s) for s in summaries]
    measures: list[str] = []
    values: dict[tuple[str, int], str] = {}
    for j, s in enumerate(summaries):
        for name, value in rows(s):
            if name not in measures:
                measures.append(name)
            values[(name, j)] = value
    lines = ["| measure | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name in measures:
        cells = [values.get((name, j), "–") for j in range(len(summaries))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name, value in extra or []:
        lines.append(f"| {name} | {value}" + " |" * len(columns))
    problems = [f"- {title(s)}: {p}" for s in summaries for p in s["problems"]]
    if problems:
        lines += ["", "Problems:", *problems]
    return "\n".join(lines)
