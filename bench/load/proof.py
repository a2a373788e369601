"""`make proof`: the load, fault and fuzz suites at full size, and ONE table (docs/proof.md).

    python -m bench.load.proof                  # full size: 4 runs of 10 minutes + the fuzz
    python -m bench.load.proof --size medium    # 90-second runs
    python -m bench.load.proof --no-fuzz --setup sqlite

Per set-up (PostgreSQL + Redis + 4 servers + worker; SQLite `yishiting serve`): one run under
load alone (its latencies are judged against the targets) and one with the faults in the
middle of the load. Then the fuzz suites: the schemathesis test of API v1 and every test marked
`fuzz` (bad input). Exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.load import report
from bench.load.run import ROOT, SIZES, run

FUZZ = [
    ("fuzz: schemathesis, API v1", ["yishiting/api/tests/test_schemathesis.py"]),
    ("fuzz: bad input (pytest -m fuzz)", ["-m", "fuzz", "yishiting"]),
]


def pytest_line(args: list[str]) -> tuple[str, bool]:
    """Run pytest; its summary line and whether it passed (no tests selected counts as none)."""
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    tail = [line for line in proc.stdout.splitlines() if line.strip()][-1:] or ["(no output)"]
    summary = re.sub(r"=+", "", tail[0]).strip()
    if proc.returncode == 5:
        return "no tests selected", True
    return f"{summary} ({time.monotonic() - t0:.0f} s)", proc.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.proof", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--setup", default="pg,sqlite")
    parser.add_argument("--mode", default="load,faults")
    parser.add_argument("--no-fuzz", action="store_true")
    parser.add_argument("--json", default=str(ROOT / "var" / "proof.json"))
    args = parser.parse_args(argv)
    size = SIZES[args.size]
    summaries = []
    for kind in args.setup.split(","):
        for mode in args.mode.split(","):
            base = ROOT / "var" / "load" / f"proof-{kind}-{mode}-{int(time.time())}"
            print(f"==> {kind} {mode}: {size}", file=sys.stderr, flush=True)
            s = run(
                kind,
                size,
                faults=mode == "faults",
                base=base,
                log=lambda m: print(m, file=sys.stderr, flush=True),
            )
            summaries.append(s)
            if s["problems"]:
                print(f"    problems; kept {base}", file=sys.stderr)
            else:
                shutil.rmtree(base, ignore_errors=True)
    extra: list[tuple[str, str]] = []
    fuzz_ok = True
    if not args.no_fuzz:
        for name, pytest_args in FUZZ:
            print(f"==> {name}", file=sys.stderr, flush=True)
            line, ok = pytest_line(pytest_args)
            extra.append((name, line))
            fuzz_ok &= ok
    print(report.table(summaries, extra))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"summaries": summaries, "fuzz": extra}, indent=1))
    return 0 if fuzz_ok and not any(s["problems"] for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
