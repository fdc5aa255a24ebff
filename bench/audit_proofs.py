"""A large log built by the real integrator, and the latency of its proofs in-process.

The log is populated the way production fills it, only faster: pending rows identical to
what ``AuditLog.append`` queues are bulk-inserted, and the service's ``Integrator`` (with a
large batch) turns them into leaves, node hashes and signed checkpoints. Every proof timed is
also verified (untimed) against the signed root, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from bench.common import Distribution, ScratchDatabase
from service.api.principal import unsafe_principal
from service.audit.integrator import Integrator
from service.audit.log import AuditLog
from service.audit.models import AuditCheckpoint, AuditNode, PendingEntry
from service.audit.repository import AuditRepository
from service.audit.service import AuditService
from service.db.engine import make_engine, make_sessionmaker
from service.protocol.clock import SystemClock, rfc3339
from service.protocol.merkle import (
    assemble,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    plan_addresses,
    root_plan,
    verify_consistency,
    verify_inclusion,
)
from service.protocol.note import NoteSigner, verify_checkpoint
from service.protocol.vocabulary import Role

ORIGIN = "bench.liaison.local/audit"
POPULATE_BATCH = 20_000
# Pending rows per INSERT statement and per transaction while populating.
INSERT_ROWS = 5_000
QUEUE_ROWS = 100_000
AUDITOR = unsafe_principal("bench-auditor", frozenset({Role.AUDITOR}), kid="bench")


@dataclass(frozen=True)
class PopulateResult:
    size: int
    seconds_enqueue: float
    seconds_integrate: float
    integrate_rate: float
    checkpoints: int
    nodes: int


@dataclass(frozen=True)
class ProofResult:
    size: int
    inclusion: Distribution
    inclusion_request: Distribution
    service_inclusion: Distribution
    consistency: Distribution


def _pending_row(n: int, now: datetime) -> dict[str, Any]:
    # Exactly the row AuditLog.append would queue for these fields.
    fields = {
        "alert_id": f"alert-{n // 4}",
        "partner": f"agency-{n % 17}",
        "decision": "allow" if n % 3 else "deny",
        "digest": hashlib.sha256(n.to_bytes(8, "big")).hexdigest(),
    }
    payload = {"time": rfc3339(now), "event": "alert.delivered", "actor": "bench", **fields}
    return {"payload": payload, "enqueued_at": now}


async def _count(session: AsyncSession, column: InstrumentedAttribute[int]) -> int:
    return int((await session.scalar(select(func.count(column)))) or 0)


async def _size(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        latest = await AuditRepository(session).latest_checkpoint()
    return latest.size if latest is not None else 0


async def populate(database: ScratchDatabase, entries: int) -> PopulateResult:
    """Grow the log to ``entries`` leaves with the service's integrator (batch 20,000)."""
    engine = make_engine(database.url)
    try:
        sessionmaker = make_sessionmaker(engine)
        signer = NoteSigner(ORIGIN, database.keys.checkpoint)
        integrator = Integrator(sessionmaker, signer, SystemClock(), batch_size=POPULATE_BATCH)
        await integrator.drain(wait=True)
        start_size = size = await _size(sessionmaker)
        async with sessionmaker() as session:
            checkpoints_before = await _count(session, AuditCheckpoint.size)
        enqueue = integrate = 0.0
        while size < entries:
            started = time.perf_counter()
            queued = min(QUEUE_ROWS, entries - size)
            now = datetime.now(UTC)
            for offset in range(0, queued, INSERT_ROWS):
                rows = [
                    _pending_row(size + n, now)
                    for n in range(offset, min(queued, offset + INSERT_ROWS))
                ]
                async with sessionmaker() as session, session.begin():
                    await session.execute(insert(PendingEntry), rows)
            integrating = time.perf_counter()
            size += await integrator.drain(wait=True)
            enqueue += integrating - started
            integrate += time.perf_counter() - integrating
        async with sessionmaker() as session:
            checkpoints = await _count(session, AuditCheckpoint.size)
            nodes = await _count(session, AuditNode.idx)
        return PopulateResult(
            size=size,
            seconds_enqueue=enqueue,
            seconds_integrate=integrate,
            integrate_rate=(size - start_size) / integrate if integrate else 0.0,
            checkpoints=checkpoints - checkpoints_before,
            nodes=nodes,
        )
    finally:
        await engine.dispose()


async def _verify_inclusions(
    sessionmaker: async_sessionmaker[AsyncSession],
    proofs: list[tuple[int, list[bytes]]],
    size: int,
    root: bytes,
) -> None:
    """Raise VerificationError unless every proof links its stored leaf to the signed root."""
    async with sessionmaker() as session:
        repository = AuditRepository(session)
        for index, proof in proofs:
            entry = await repository.entry(index)
            if entry is None:
                raise RuntimeError(f"entry {index} is missing from the log")
            verify_inclusion(leaf_hash(entry.leaf), index, size, proof, root)


def _ms(seconds: float) -> float:
    return seconds * 1000.0


async def measure_proofs(database: ScratchDatabase, count: int, seed: int = 1) -> ProofResult:
    """Time ``count`` inclusion and consistency proofs at random indices of the latest tree.

    Three inclusion figures: the proof work alone (plan, one node query, fold) inside an open
    transaction; the same as a request (session, BEGIN, work, COMMIT); and the service call an
    auditor's request makes (``AuditService.inclusion``: latest checkpoint, entry, its own
    audit record, proof), whose transaction is rolled back so the log does not grow.
    """
    rng = random.Random(seed)
    engine = make_engine(database.url)
    try:
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as session:
            repository = AuditRepository(session)
            latest = await repository.latest_checkpoint()
            if latest is None:
                raise RuntimeError("no signed checkpoint: populate first")
        verifier = NoteSigner(ORIGIN, database.keys.checkpoint).verifier
        signed = verify_checkpoint(latest.note, verifier, ORIGIN)
        size, root = signed.size, signed.root_hash
        work: list[float] = []
        request: list[float] = []
        proofs: list[tuple[int, list[bytes]]] = []
        for _ in range(count):
            index = rng.randrange(size)
            began = time.perf_counter()
            async with sessionmaker() as session, session.begin():
                started = time.perf_counter()
                plan = inclusion_plan(index, size)
                proof = assemble(plan, await AuditRepository(session).nodes(plan_addresses(plan)))
                finished = time.perf_counter()
            request.append(_ms(time.perf_counter() - began))
            work.append(_ms(finished - started))
            proofs.append((index, proof))
        service: list[float] = []
        for _ in range(count):
            index = rng.randrange(size)
            async with sessionmaker() as session:
                transaction = await session.begin()
                audit = AuditService(AuditRepository(session), AuditLog(session, datetime.now(UTC)))
                started = time.perf_counter()
                proof = await audit.inclusion(AUDITOR, index, size)
                service.append(_ms(time.perf_counter() - started))
                await transaction.rollback()
            proofs.append((index, proof))
        consistency: list[float] = []
        for _ in range(count):
            old = rng.randrange(1, size)
            async with sessionmaker() as session, session.begin():
                repository = AuditRepository(session)
                started = time.perf_counter()
                plan = consistency_plan(old, size)
                proof = assemble(plan, await repository.nodes(plan_addresses(plan)))
                consistency.append(_ms(time.perf_counter() - started))
                # The old root from the stored nodes: the proof must link it to the signed root.
                old_plan = root_plan(old)
                (old_root,) = assemble(old_plan, await repository.nodes(plan_addresses(old_plan)))
            verify_consistency(old, size, proof, old_root, root)
        await _verify_inclusions(sessionmaker, proofs, size, root)
        return ProofResult(
            size=size,
            inclusion=Distribution.of(work),
            inclusion_request=Distribution.of(request),
            service_inclusion=Distribution.of(service),
            consistency=Distribution.of(consistency),
        )
    finally:
        await engine.dispose()
