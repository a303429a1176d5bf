"""``python -m bench [--quick] [NAME ...]``: run the benchmarks and print one Markdown table of figures."""

from __future__ import annotations

import os

# python-telegram-bot 22 warns on every RetryAfter unless it may use timedelta values (as bot/__main__.py does).
os.environ.setdefault("PTB_TIMEDELTA", "true")

import argparse
import asyncio
import logging
import platform
import sys
import time
from collections.abc import Sequence

from bench.common import Row
from bench.suite import BENCHMARKS, run_benchmark
from bot.logs import configure_logging


def render(rows: Sequence[Row]) -> str:
    """The Markdown table for the README's Performance section."""
    lines = [
        "| Benchmark | Case | Measured | Reference (same run) | Notes |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        cells = (row.bench, row.case, row.measured, row.reference, row.note)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI-sized run (well under a minute)")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"any of {', '.join(BENCHMARKS)} (default: all)"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return args


def quiet_logging() -> None:
    """Log as ``imagine-bot run`` does (INFO, redacting formatter), so its cost is counted, but to /dev/null."""
    configure_logging("INFO", [])
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)


async def run_all(names: Sequence[str], quick: bool) -> list[Row]:
    rows: list[Row] = []
    for name in names:
        start = time.perf_counter()
        print(f"[bench] {name} …", file=sys.stderr, flush=True)
        rows += await run_benchmark(name, quick)
        print(f"[bench] {name} done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return sorted(rows, key=lambda row: row.bench)  # stable: each benchmark's own order is kept


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.names or list(BENCHMARKS)
    quiet_logging()
    start = time.perf_counter()
    rows = asyncio.run(run_all(names, args.quick))
    elapsed = time.perf_counter() - start
    mode = "quick" if args.quick else "full"
    print(
        f"\n_{mode} run of {', '.join(names)} in {elapsed:.0f} s · Python {platform.python_version()} · "
        f"{os.cpu_count()} CPUs · {platform.system()}_\n"
    )
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
