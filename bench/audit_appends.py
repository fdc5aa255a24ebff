"""Sustained appends per second and checkpoint lag, with writers in separate app processes.

Each writer process is built like an app process: settings, engine, the broker keys
unwrapped with the KEK, and an ``Integrator`` running its ``run()`` loop in the background.
Writer tasks append ``batch`` entries per transaction through ``AuditLog.append`` inside the
API's own request transaction (``service.api.dependencies.transaction``), which wakes the
integrator after each commit. The parent process only observes: a thread polls the latest
checkpoint so that the lag of sampled entries can be read off its timeline afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import threading
import time
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import InstrumentedAttribute

from bench.common import Distribution, ScratchDatabase, stop
from service.api.dependencies import transaction
from service.audit.integrator import Integrator
from service.audit.log import AuditLog
from service.audit.models import AuditCheckpoint, AuditEntry, PendingEntry
from service.audit.repository import AuditRepository
from service.db.engine import make_engine, make_sessionmaker
from service.live import open_runtime
from service.protocol.clock import SystemClock
from service.protocol.crypto import b64url_encode
from service.protocol.note import NoteSigner
from service.runtime import Runtime
from service.settings import Settings

ORIGIN = "bench.liaison.local/audit"
POLL_SECONDS = 0.002
# Writers start together at a wall-clock instant this far after they are launched.
START_DELAY_SECONDS = 4.0
GRACE_SECONDS = 10.0
SETTLE_SECONDS = 120.0


@dataclass(frozen=True)
class LoadSpec:
    url: str
    kek: bytes
    writer: int
    writers: int
    tasks: int
    batch: int
    start_at: float
    seconds: float
    # Seconds between one task's transactions (offered load); 0 appends as fast as it can.
    interval: float
    # "append": one AuditLog.append per entry; "append_many": one call per transaction.
    api: str


@dataclass
class WriterReport:
    """What one writer process committed: (wall time, entries) per transaction, and the
    commit time of each sampled entry (the first of every transaction), by its marker."""

    writer: int
    commits: list[tuple[float, int]] = field(default_factory=list)
    samples: dict[str, float] = field(default_factory=dict)
    failures: int = 0
    first_errors: list[str] = field(default_factory=list)
    started_late_by: float = 0.0
    # Tasks still pending after the integrator stopped and a grace period: diagnostics for
    # a process that would otherwise hang in asyncio.run's final cancellation.
    leftover_tasks: list[str] = field(default_factory=list)


def _fields(marker: str, k: int) -> dict[str, str]:
    # What a fan-out records per partner: identifiers, a decision and a digest.
    digest = hashlib.sha256(f"{marker}/{k}".encode()).hexdigest()
    fields = {"partner": "agency-b", "decision": "allow", "digest": digest}
    if k == 0:
        fields["alert_id"] = marker
    return fields


async def _writer_task(
    spec: LoadSpec, task: int, runtime: Runtime, report: WriterReport, deadline: float
) -> None:
    """Append ``spec.batch`` entries per transaction until ``deadline``; record each commit."""
    actor = f"bench-writer-{spec.writer}"
    n = 0
    # Tasks are staggered over one interval so that paced load arrives evenly.
    slot = spec.writer * spec.tasks + task
    next_at = spec.start_at + spec.interval * slot / (spec.tasks * spec.writers)
    while time.time() < deadline:
        if spec.interval:
            await asyncio.sleep(max(0.0, next_at - time.time()))
            next_at += spec.interval
        marker = f"lag-{spec.writer}-{task}-{n}"
        try:
            # The request transaction of the API: commits, then wakes this process's integrator.
            async with transaction(runtime) as session:
                log = AuditLog(session, runtime.clock.now())
                batch = [_fields(marker, k) for k in range(spec.batch)]
                if spec.api == "append_many":
                    await log.append_many("bench.append", actor, batch)
                else:
                    for fields in batch:
                        await log.append("bench.append", actor, fields)
        except Exception as exc:
            report.failures += 1
            if len(report.first_errors) < 5:
                report.first_errors.append(f"{type(exc).__name__}: {exc}")
            continue
        committed = time.time()
        report.commits.append((committed, spec.batch))
        report.samples[marker] = committed
        n += 1


async def _writer(spec: LoadSpec) -> WriterReport:
    """One app process's worth of writers, built as ``service/app.py`` builds its runtime."""
    settings = Settings(
        database_url=spec.url,
        kek=SecretStr(b64url_encode(spec.kek)),
        origin=ORIGIN,
    )
    report = WriterReport(writer=spec.writer)
    # No policy set: these writers append audit entries only, as the request transaction does.
    async with open_runtime(settings, load_policy=False) as runtime:
        if runtime.integrator is None:
            raise RuntimeError("the runtime has no integrator")
        # Warm the pool so that the first timed transactions do not pay for connecting.
        async with runtime.sessionmaker() as session:
            await AuditRepository(session).latest_checkpoint()
        background = asyncio.create_task(runtime.integrator.run(), name="audit-integrator")
        report.started_late_by = max(0.0, time.time() - spec.start_at)
        await asyncio.sleep(max(0.0, spec.start_at - time.time()))
        deadline = spec.start_at + spec.seconds
        try:
            await asyncio.gather(
                *(_writer_task(spec, task, runtime, report, deadline) for task in range(spec.tasks))
            )
        finally:
            await stop(background)
            others = asyncio.all_tasks() - {asyncio.current_task()}
            if others:
                _, pending = await asyncio.wait(others, timeout=GRACE_SECONDS)
                report.leftover_tasks = [repr(task) for task in pending]
    return report


async def _write_and_send(spec: LoadSpec, sender: Connection) -> None:
    # Sent from inside the loop: the parent has the figures even if interpreter shutdown stalls.
    sender.send(await _writer(spec))


def run_writer(spec: LoadSpec, sender: Connection) -> None:
    """Entry point of one writer process: sends its WriterReport through ``sender``."""
    try:
        asyncio.run(_write_and_send(spec, sender))
    finally:
        sender.close()


class CheckpointPoller:
    """Polls the latest checkpoint size from its own thread, event loop and engine, and keeps
    the timeline of (first time seen, size). A plain engine (not the service's, which makes
    every SQLite transaction a writer) so that observing does not take the write lock."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = threading.Event()
        self._target = 0
        self._reached = threading.Event()
        self.timeline: list[tuple[float, int]] = []
        self._thread = threading.Thread(target=self._run, name="checkpoint-poller", daemon=True)

    def __enter__(self) -> CheckpointPoller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        asyncio.run(self._poll())

    async def _poll(self) -> None:
        engine = create_async_engine(self._url)
        statement = select(func.max(AuditCheckpoint.size))
        try:
            async with engine.connect() as connection:
                while not self._stop.is_set():
                    size = (await connection.scalar(statement)) or 0
                    await connection.rollback()
                    seen = time.time()
                    if not self.timeline or size > self.timeline[-1][1]:
                        self.timeline.append((seen, size))
                    if self._target and size >= self._target:
                        self._reached.set()
                    await asyncio.sleep(POLL_SECONDS)
        finally:
            await engine.dispose()

    async def until(self, size: int) -> None:
        """Return once a checkpoint of at least ``size`` has been seen; TimeoutError if none
        is within SETTLE_SECONDS."""
        self._target = size
        if not await asyncio.to_thread(self._reached.wait, SETTLE_SECONDS):
            raise TimeoutError(f"no checkpoint of size {size} within {SETTLE_SECONDS} s")

    def first_covering(self, index: int) -> float | None:
        """When a checkpoint covering leaf ``index`` (size > index) was first seen."""
        sizes = [size for _, size in self.timeline]
        position = bisect_right(sizes, index)
        return self.timeline[position][0] if position < len(self.timeline) else None


@dataclass(frozen=True)
class LoadResult:
    api: str
    offered_rate: float | None
    log_size_at_start: int
    writers: int
    tasks: int
    batch: int
    seconds: float
    committed: int
    enqueue_rate: float
    integrated_rate: float
    backlog_at_end: int
    checkpoints: int
    lag: Distribution
    failures: int
    first_errors: list[str]
    started_late_by: float
    leftover_tasks: list[str]


async def _count(url: str, column: InstrumentedAttribute[int]) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return int((await connection.scalar(select(func.count(column)))) or 0)
    finally:
        await engine.dispose()


async def _indices_of(url: str, markers: Sequence[str]) -> dict[str, int]:
    engine = create_async_engine(url)
    found: dict[str, int] = {}
    try:
        async with engine.connect() as connection:
            for start in range(0, len(markers), 500):
                chunk = markers[start : start + 500]
                statement = select(AuditEntry.alert_id, AuditEntry.idx).where(
                    AuditEntry.alert_id.in_(chunk)
                )
                for marker, index in (await connection.execute(statement)).all():
                    found[str(marker)] = int(index)
    finally:
        await engine.dispose()
    return found


async def _run_writers(specs: Sequence[LoadSpec], deadline: float) -> list[WriterReport]:
    """Run one spawned process per spec; kill any that has not reported by ``deadline``
    (RuntimeError) or that hangs after reporting (its figures are kept)."""
    context = multiprocessing.get_context("spawn")
    started = []
    for spec in specs:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=run_writer, args=(spec, sender), name=f"bench-writer-{spec.writer}"
        )
        process.start()
        sender.close()
        started.append((process, receiver))
    reports = []
    try:
        for process, receiver in started:
            remaining = max(0.0, deadline - time.time())
            if not await asyncio.to_thread(receiver.poll, remaining):
                raise RuntimeError(f"{process.name} did not report in time")
            report = receiver.recv()
            if not isinstance(report, WriterReport):
                raise TypeError(f"{process.name} sent {type(report).__name__}, not a report")
            reports.append(report)
    finally:
        for process, receiver in started:
            await asyncio.to_thread(process.join, GRACE_SECONDS)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join)
                print(f"  warning: {process.name} hung on exit and was killed", flush=True)
            receiver.close()
    return reports


def _size_at(timeline: Sequence[tuple[float, int]], moment: float) -> int:
    position = bisect_right([seen for seen, _ in timeline], moment)
    return timeline[position - 1][1] if position else 0


async def measure_load(
    database: ScratchDatabase,
    *,
    writers: int,
    tasks: int,
    batch: int,
    seconds: float,
    rate: float | None,
    api: str,
) -> LoadResult:
    """Run ``writers`` app processes appending for ``seconds``; then drain and measure.

    With ``rate``, the writers together offer that many entries per second; without, they
    append as fast as they can. ``api`` picks ``AuditLog.append`` per entry or
    ``AuditLog.append_many`` per transaction. The enqueue rate counts entries committed
    inside the window; the integrated rate is the growth of the latest checkpoint over the
    same window, as the poller saw it.
    """
    start_at = time.time() + START_DELAY_SECONDS
    interval = batch * writers * tasks / rate if rate else 0.0
    specs = [
        LoadSpec(
            url=database.url,
            kek=database.kek,
            writer=writer,
            writers=writers,
            tasks=tasks,
            batch=batch,
            start_at=start_at,
            seconds=seconds,
            interval=interval,
            api=api,
        )
        for writer in range(writers)
    ]
    checkpoints_before = await _count(database.url, AuditCheckpoint.size)
    size_before = await _count(database.url, AuditEntry.idx)
    with CheckpointPoller(database.url) as poller:
        reports = await _run_writers(specs, start_at + seconds + SETTLE_SECONDS)
        end = start_at + seconds
        backlog = await _count(database.url, PendingEntry.id)
        # Whatever the writers' integrators left is integrated here, still under observation.
        engine = make_engine(database.url)
        try:
            sessionmaker = make_sessionmaker(engine)
            signer = NoteSigner(ORIGIN, database.keys.checkpoint)
            await Integrator(sessionmaker, signer, SystemClock()).drain(wait=True)
            async with sessionmaker() as session:
                latest = await AuditRepository(session).latest_checkpoint()
            final_size = latest.size if latest is not None else 0
        finally:
            await engine.dispose()
        await poller.until(final_size)
    committed = sum(n for report in reports for moment, n in report.commits if moment <= end)
    integrated = _size_at(poller.timeline, end) - _size_at(poller.timeline, start_at)
    samples = {m: t for report in reports for m, t in report.samples.items()}
    indices = await _indices_of(database.url, sorted(samples))
    lags = []
    for marker, committed_at in samples.items():
        seen = poller.first_covering(indices[marker])
        if seen is None:
            raise RuntimeError(f"{marker} never appeared in a checkpoint")
        lags.append(max(0.0, seen - committed_at))
    return LoadResult(
        api=api,
        offered_rate=rate,
        log_size_at_start=size_before,
        writers=writers,
        tasks=tasks,
        batch=batch,
        seconds=seconds,
        committed=committed,
        enqueue_rate=committed / seconds,
        integrated_rate=integrated / seconds,
        backlog_at_end=backlog,
        checkpoints=await _count(database.url, AuditCheckpoint.size) - checkpoints_before,
        lag=Distribution.of(lags),
        failures=sum(report.failures for report in reports),
        first_errors=[error for report in reports for error in report.first_errors],
        leftover_tasks=[task for report in reports for task in report.leftover_tasks],
        started_late_by=max(report.started_late_by for report in reports),
    )
