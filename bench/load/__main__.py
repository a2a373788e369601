"""`python -m bench.load`: the load and fault suites (docs/proof.md); prints one table.

    python -m bench.load --size medium --setup pg,sqlite --mode load,faults
    python -m bench.load --size small --residents 20 --seconds 30 --json out.json

Exits 1 when a run has a problem (errors, losses, doubles, misses, or a latency target
missed by a run without faults).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

from bench.load import report
from bench.load.run import ROOT, SIZES, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--setup", default="pg,sqlite", help="pg, sqlite or both (comma)")
    parser.add_argument("--mode", default="load,faults", help="load, faults or both (comma)")
    parser.add_argument("--residents", type=int)
    parser.add_argument("--liaisons", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--faults", type=int, help="faults of each kind")
    parser.add_argument("--think", type=float, help="a resident's mean seconds between submits")
    parser.add_argument("--json", help="write the summaries here")
    parser.add_argument("--keep", action="store_true", help="keep var/load/ (logs, databases)")
    args = parser.parse_args(argv)
    size = SIZES[args.size]
    changes = {
        k: getattr(args, k)
        for k in ("residents", "liaisons", "seconds", "faults", "think")
        if getattr(args, k) is not None
    }
    size = dataclasses.replace(size, **changes)
    summaries = []
    for kind in args.setup.split(","):
        for mode in args.mode.split(","):
            base = ROOT / "var" / "load" / f"{kind}-{mode}-{int(time.time())}"
            print(f"==> {kind} {mode}: {size}", file=sys.stderr)
            s = run(
                kind,
                size,
                faults=mode == "faults",
                base=base,
                log=lambda m: print(m, file=sys.stderr),
            )
            summaries.append(s)
            if not args.keep and not s["problems"]:
                shutil.rmtree(base, ignore_errors=True)
            elif s["problems"]:
                print(f"    kept {base} (logs and data)", file=sys.stderr)
    print(report.table(summaries))
    if args.json:
        Path(args.json).write_text(json.dumps(summaries, indent=1))
    return 1 if any(s["problems"] for s in summaries) else 0


if __name__ == "__main__":
    sys.exit(main())
