"""Run every benchmark and print its table."""

from __future__ import annotations

from bench import sweep

if __name__ == "__main__":
    sweep.main()
