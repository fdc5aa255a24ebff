"""``python -m bench audit``: the audit log against the issue's targets, on each backend.

1. Appends per second: writer app processes append in transactions of ``--batch`` entries
   while their integrators run, once through ``AuditLog.append`` per entry and once through
   ``AuditLog.append_many`` per transaction. Offering the target rate (``--rate``), the
   question is whether integration keeps up, on an empty log and on a large one; flat out
   finds the ceiling. The rate that counts is entries integrated into signed checkpoints per
   second; the committed (enqueue) rate is shown beside it.
2. Checkpoint lag under each load: commit to the first visible checkpoint covering the entry.
3. Proof latency at ``--entries`` leaves: inclusion (and consistency) proofs in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, cast

from bench.audit_appends import LoadResult, measure_load
from bench.audit_proofs import (
    POPULATE_BATCH,
    PopulateResult,
    ProofResult,
    measure_proofs,
    populate,
)
from bench.common import (
    BACKENDS,
    Backend,
    Distribution,
    against,
    machine,
    postgresql_version,
    scratch_database,
)

TARGET_APPENDS_PER_SECOND = 5_000
# AuditLog's contract: integrated into a signed checkpoint within 2 s of commit.
TARGET_CHECKPOINT_LAG_SECONDS = 2.0
TARGET_INCLUSION_MEDIAN_MS = 2.0
# Each load runs once per way of appending: an entry at a time, and a transaction's worth.
APIS = ("append", "append_many")


@dataclass(frozen=True)
class Options:
    backends: tuple[Backend, ...]
    seconds: float
    entries: int
    proofs: int
    writers: int
    tasks: int
    batch: int
    rate: float
    json_path: str | None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="3 s of load, 100,000 entries")
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--entries", type=int, help="log size for proofs (default 1,000,000)")
    parser.add_argument("--seconds", type=float, help="load duration (default 10)")
    parser.add_argument("--proofs", type=int, help="proofs of each kind (default 1,000)")
    parser.add_argument("--writers", type=int, default=2, help="writer app processes")
    parser.add_argument("--tasks", type=int, default=4, help="concurrent writers per process")
    parser.add_argument("--batch", type=int, default=100, help="entries per transaction")
    parser.add_argument(
        "--rate",
        type=float,
        default=TARGET_APPENDS_PER_SECOND,
        help="offered entries/s of the paced runs (default: the target)",
    )
    parser.add_argument("--json", dest="json_path", help="also write the figures here")


def options(arguments: argparse.Namespace) -> Options:
    quick = bool(arguments.quick)
    backend = str(arguments.backend)
    return Options(
        backends=BACKENDS if backend == "both" else (cast(Backend, backend),),
        seconds=arguments.seconds or (3.0 if quick else 10.0),
        entries=arguments.entries or (100_000 if quick else 1_000_000),
        proofs=arguments.proofs or 1_000,
        writers=arguments.writers,
        tasks=arguments.tasks,
        batch=arguments.batch,
        rate=arguments.rate,
        json_path=arguments.json_path,
    )


def _say(text: str = "") -> None:
    print(text, flush=True)


def _load_average() -> str:
    # Other work on the machine skews every figure; the reader should see how much there was.
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _ms(distribution: Distribution) -> str:
    d = distribution
    return (
        f"median {d.median:.3f} ms, p95 {d.p95:.3f}, p99 {d.p99:.3f}, max {d.maximum:.3f} "
        f"(n={d.count:,})"
    )


def _report_load(load: LoadResult) -> None:
    offered = f"offered {load.offered_rate:,.0f}/s" if load.offered_rate else "flat out"
    _say(
        f"  load {offered} on a log of {load.log_size_at_start:,}, {load.api}: {load.writers} "
        f"processes x {load.tasks} writers, {load.batch} entries per transaction, "
        f"{load.seconds:g} s"
    )
    rate = load.integrated_rate
    _say(
        f"    appends/s integrated {rate:,.0f} "
        f"{against(rate, TARGET_APPENDS_PER_SECOND, higher_is_better=True)}"
    )
    _say(
        f"    appends/s committed  {load.enqueue_rate:,.0f}; queued when writers stopped "
        f"{load.backlog_at_end:,}; {load.checkpoints:,} checkpoints; {load.failures} failed "
        "transactions"
    )
    for error in load.first_errors:
        _say(f"    failed transaction: {error}")
    for task in load.leftover_tasks:
        _say(f"    task left running after the integrator stopped: {task}")
    lag = load.lag
    _say(
        f"    checkpoint lag p50 {lag.median * 1000:,.0f} ms, p95 {lag.p95 * 1000:,.0f} ms, "
        f"max {lag.maximum * 1000:,.0f} ms (n={lag.count}) "
        f"{against(lag.p95, TARGET_CHECKPOINT_LAG_SECONDS, higher_is_better=False)} [p95]"
    )


def _report_populate(built: PopulateResult) -> None:
    _say(
        f"  populated {built.size:,} entries: queue {built.seconds_enqueue:.1f} s, integrate "
        f"{built.seconds_integrate:.1f} s ({built.integrate_rate:,.0f} entries/s at batch "
        f"{POPULATE_BATCH:,}), {built.checkpoints} checkpoints, {built.nodes:,} stored nodes"
    )


def _report_proofs(proofs: ProofResult) -> None:
    median = proofs.inclusion.median
    _say(f"  proofs at {proofs.size:,} entries:")
    _say(
        f"    inclusion, proof work    {_ms(proofs.inclusion)} "
        f"{against(median, TARGET_INCLUSION_MEDIAN_MS, higher_is_better=False)} [median]"
    )
    _say(f"    inclusion, with its txn  {_ms(proofs.inclusion_request)}")
    _say(f"    AuditService.inclusion   {_ms(proofs.service_inclusion)}")
    _say(f"    consistency, proof work  {_ms(proofs.consistency)}")


async def run_backend(backend: Backend, chosen: Options) -> dict[str, Any]:
    """Every audit benchmark on one fresh database of ``backend``; returns the figures."""
    _say(f"== {backend} (load average {_load_average()})")
    started = time.perf_counter()
    async with scratch_database(backend) as database:

        async def load(rate: float | None) -> list[dict[str, Any]]:
            results = []
            for api in APIS:
                result = await measure_load(
                    database,
                    writers=chosen.writers,
                    tasks=chosen.tasks,
                    batch=chosen.batch,
                    seconds=chosen.seconds,
                    rate=rate,
                    api=api,
                )
                _report_load(result)
                results.append(asdict(result))
            return results

        # At the target rate on an empty log; then, once the log is large (where any cost
        # that grows with the log shows), at the target rate again and flat out. Flat out
        # comes last because it can add far more entries than the proofs are meant to see.
        loads = await load(chosen.rate)
        built = await populate(database, chosen.entries)
        _report_populate(built)
        proofs = await measure_proofs(database, chosen.proofs)
        _report_proofs(proofs)
        loads += await load(chosen.rate) + await load(None)
    _say(f"  ({time.perf_counter() - started:.0f} s; load average now {_load_average()})")
    return {"load": loads, "populate": asdict(built), "proofs": asdict(proofs)}


async def run(chosen: Options) -> int:
    """Run the audit benchmarks; 0 when they ran (a missed target is reported, not an error)."""
    host = machine()
    host["postgresql"] = await postgresql_version()
    _say("machine: " + ", ".join(f"{key} {value}" for key, value in host.items()))
    _say(f"options: {chosen}")
    results: dict[str, Any] = {"machine": host, "options": asdict(chosen)}
    for backend in chosen.backends:
        results[backend] = await run_backend(backend, chosen)
    if chosen.json_path is not None:
        with open(chosen.json_path, "w") as handle:  # noqa: ASYNC230 - once, after timing
            json.dump(results, handle, indent=2)
    return 0


def main(arguments: argparse.Namespace) -> int:
    return asyncio.run(run(options(arguments)))


if __name__ == "__main__":
    sys.exit("run it as: python -m bench audit")
