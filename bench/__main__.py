"""Run every benchmark and print its table."""

from __future__ import annotations

import os

from bench import lag, routing, sweep

if __name__ == "__main__":
    sweep.main()
    lag.main()
    # Routing fills a 1M-request database (~8 min): opt in with BENCH_ROUTING=1.
    if os.environ.get("BENCH_ROUTING"):
        routing.main()
