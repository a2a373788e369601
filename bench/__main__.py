"""Run every benchmark and print its table."""

from __future__ import annotations

import os

from bench import deliberation, lag, ledger, routing, stats, sweep

if __name__ == "__main__":
    sweep.main()
    lag.main()
    ledger.main()
    # Deliberation: a 5,000-household tally and 1,000 residents voting at once (~1.5 min).
    deliberation.main()
    # Statistics: 10k and 100k requests by default (~5 min); BENCH_STATS_SIZES for more.
    stats.main()
    # Routing fills a 1M-request database (~8 min): opt in with BENCH_ROUTING=1.
    if os.environ.get("BENCH_ROUTING"):
        routing.main()
