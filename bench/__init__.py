"""Benchmarks that print one Markdown table of figures, each beside its reference measured in the same run.

Run with ``make bench`` (``BENCH_ARGS="--quick"`` for a CI-sized run) or ``python -m bench --help``.
Everything runs on this machine: in-process fakes and fake servers on 127.0.0.1 only.
"""
