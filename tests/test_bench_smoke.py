"""The benchmarks run in tiny sizes and give well-formed figures; the exact ones hold. Times are never asserted."""

from __future__ import annotations

import math
from dataclasses import replace

from bench import (
    failover,
    http_api,
    limiter,
    limiter_pg,
    lines,
    memory,
    overhead,
    replicas,
    scaling,
    telegram,
    web_history,
    webhook,
)
from bench.__main__ import parse_args, render
from bench.common import Row, percentile
from bench.pg_cluster import PostgresCluster
from bench.suite import BENCHMARKS


def well_formed(rows: list[Row], bench: str) -> None:
    assert rows
    for row in rows:
        assert row.bench == bench
        assert row.case and row.measured and row.reference
        assert all(math.isfinite(value) for value in row.metrics.values()), row


async def test_overhead_gives_p50_and_p99_for_every_cell() -> None:
    config = replace(
        overhead.QUICK, latencies=(0.0, 0.02), samples=20, budget_seconds=0.1, warmup=2, http_samples=10
    )
    rows = await overhead.run(config)
    well_formed(rows, overhead.NAME)
    assert len(rows) == len(config.latencies) * len(config.concurrencies) + 1
    for row in rows:
        assert row.metrics["n"] >= 1
        assert row.metrics["p99"] >= row.metrics["p50"]
        assert row.metrics["ref_p99"] >= row.metrics["ref_p50"]


async def test_telegram_rows_time_imagine_to_send_photo_and_count_bot_api_calls() -> None:
    config = replace(telegram.QUICK, latencies=(0.0,), concurrencies=(1, 3), samples=3)
    rows = await telegram.run(config)
    well_formed(rows, overhead.NAME)
    assert len(rows) == 2
    for row in rows:
        assert row.metrics["n"] == 3
        assert row.metrics["p99"] >= row.metrics["p50"]
        assert row.metrics["calls_per_image"] >= 1  # at least the sendPhoto itself


async def test_scaling_computes_the_ratio_and_respects_the_cap() -> None:
    rows = await scaling.run(replace(scaling.QUICK, latency=0.05))
    well_formed(rows, scaling.NAME)
    assert [row.metrics["users"] for row in rows] == [1, 10, 100, 500, 500]
    for row in rows:
        assert row.metrics["ratio"] > 0
    default_500, raised_500 = rows[-2:]
    # how many overlap depends on timing; that the cap is never exceeded does not
    assert 1 <= default_500.metrics["peak"] <= scaling.DEFAULT_CAP and default_500.metrics["ideal"] == 3
    assert 1 <= raised_500.metrics["peak"] <= 500 and raised_500.metrics["ideal"] == 1


async def test_failover_costs_one_call_per_image_after_learning_for_every_k() -> None:
    rows = await failover.run(replace(failover.QUICK, images=2, herd=3))
    well_formed(rows, failover.NAME)
    assert len(rows) == 10
    for spent, row in enumerate(rows):
        assert row.metrics["steady"] == 1.0
        assert row.metrics["restarted"] == 1.0  # spent accounts are remembered across a restart
        assert row.metrics["learning"] == spent + 1
        assert row.metrics["seed"] == spent + 1  # the seed worker pays for every spent account every time
        assert row.metrics["herd"] >= 3


async def test_limiter_admits_exactly_the_limit() -> None:
    rows = await limiter.run(limiter.QUICK)
    well_formed(rows, limiter.NAME)
    for row in rows:
        assert row.metrics["admitted"] == row.metrics["expected"]
        assert row.metrics["exact"] == 1.0


async def test_postgres_limiter_is_exact_with_the_advisory_lock_and_serializable(
    pg_cluster: PostgresCluster,
) -> None:
    rows = await limiter_pg.run(limiter_pg.QUICK, pg_cluster)
    well_formed(rows, limiter_pg.NAME)
    by_case = {row.case.rsplit(", ", 1)[1]: row for row in rows}
    assert set(by_case) == {"advisory", "serializable", "plain"}
    for case in ("advisory", "serializable"):
        assert by_case[case].metrics["exact"] == 1.0
        assert by_case[case].metrics["admitted"] == limiter_pg.QUICK.users * limiter_pg.QUICK.per_day
    assert by_case["plain"].metrics["admitted"] >= limiter_pg.QUICK.users * limiter_pg.QUICK.per_day


async def test_replicas_propagate_state_and_learn_each_spent_account_once(
    pg_cluster: PostgresCluster,
) -> None:
    rows = await replicas.run(replace(replicas.QUICK, images=0), pg_cluster)
    well_formed(rows, replicas.NAME)
    propagation, *bursts = rows
    assert propagation.metrics["p99"] >= propagation.metrics["p50"] > 0
    assert len(bursts) == 2
    for (
        row
    ) in bursts:  # the floor, or a little above when an answer outlasts the 2 s patience on a busy machine
        assert row.metrics["calls"] >= row.metrics["floor"]


async def test_memory_measures_with_every_job_at_the_provider() -> None:
    (row,) = await memory.run(replace(memory.QUICK, jobs=4, arrival_spacing=0.0))
    well_formed([row], memory.NAME)
    assert row.metrics["reached"] == 4
    assert row.metrics["all_in"] > 0 and row.metrics["peak"] >= row.metrics["all_in"]
    assert 0 <= row.metrics["originals_alive"] <= row.metrics["references"]


def test_table_and_arguments() -> None:
    row = Row("9 demo", "a|b", "1", "2", "", {})
    table = render([row]).splitlines()
    assert table[0].startswith("| Benchmark |") and table[2] == "| 9 demo | a\\|b | 1 | 2 |  |"
    assert parse_args(["--quick", "limiter"]).names == ["limiter"]
    assert parse_args([]).names == []
    assert set(BENCHMARKS) == {
        "overhead",
        "telegram",
        "scaling",
        "failover",
        "limiter",
        "limiter-pg",
        "lines",
        "replicas",
        "memory",
        "hostile",
        "http",
        "web-history",
        "webhook",
    }
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0 and percentile([1.0, 2.0], 99) == 2.0


async def test_hostile_files_end_in_an_image_or_a_sentence_each() -> None:
    (row,) = await memory.run_hostile(memory.HOSTILE_QUICK)
    well_formed([row], memory.NAME)
    # one user per kind: both progressive JPEGs are over the 16 MB budget, the long JPEG and the PNG decode
    assert (row.metrics["requests"], row.metrics["images"]) == (4, 2)
    assert "2× too_many_pixels" in row.measured
    assert row.metrics["peak"] >= row.metrics["baseline"]


async def test_http_bench_times_the_api_against_a_bare_route_and_the_first_progress_chunk() -> None:
    config = replace(
        http_api.QUICK, latencies=(0.0, 0.02), concurrencies=(1, 2), samples=4, warmup=1, stream_samples=2
    )
    rows = await http_api.run(config)
    well_formed(rows, http_api.NAME)
    assert len(rows) == len(config.latencies) * len(config.concurrencies) + 1  # one stream row, for L > 0
    for row in rows[:-1]:
        assert row.metrics["n"] >= 1 and row.metrics["p99"] >= row.metrics["p50"] and row.metrics["ratio"] > 0
    assert rows[-1].metrics["n"] == 2


async def test_web_history_finds_the_same_page_with_and_without_its_indexes() -> None:
    rows = await web_history.run(web_history.Config(jobs=2_000, users=20, queries=4))
    well_formed(rows, web_history.NAME)
    [row] = rows
    assert row.metrics["found"] == row.metrics["found_plain"] >= web_history.PAGE


async def test_lines_cost_rows_for_both_backends_beside_the_limits_check(pg_cluster: PostgresCluster) -> None:
    rows = await lines.run(lines.QUICK, pg_cluster)
    well_formed(rows, lines.NAME)
    assert [row.case.split(", ")[-1].split(":")[0] for row in rows] == ["SQLite", "PostgreSQL"]
    for row in rows:
        assert row.metrics["rate"] > 0 and row.metrics["reference"] > 0 and row.metrics["floor"] > 0


async def test_webhook_bench_answers_every_update_and_spreads_them_over_the_replicas(
    pg_cluster: PostgresCluster,
) -> None:
    answer, imagine = await webhook.run(webhook.QUICK, pg_cluster)
    well_formed([answer, imagine], webhook.NAME)
    assert answer.metrics["p99"] >= answer.metrics["p50"] > 0 and answer.metrics["reference"] > 0
    # one Workers AI call per photo, whichever replica drew it
    assert imagine.metrics["calls_per_image"] == 1.0
    assert imagine.metrics["replicas_used"] == 3 and imagine.metrics["per_second"] > 0
