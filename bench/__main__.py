"""Run every benchmark and print its table."""

from __future__ import annotations

import os

from bench import deliberation, duplicates, lag, ledger, routing, stats, sweep

if __name__ == "__main__":
    sweep.main()
    lag.main()
    ledger.main()
    # Deliberation: a 5,000-household tally and 1,000 residents voting at once (~1.5 min).
    deliberation.main()
    # Statistics: 10k, 100k, 1M and 10M requests (~80 min, 16 GB of temporary disk);
    # BENCH_STATS_SIZES=10000,100000 for a two-minute run.
    stats.main()
    # Duplicate lookup: 20k requests by default; BENCH_DUP_SIZES=1000000 for the 1M figure.
    duplicates.main()
    # Routing fills a 1M-request database (~8 min): opt in with BENCH_ROUTING=1.
    if os.environ.get("BENCH_ROUTING"):
        routing.main()
