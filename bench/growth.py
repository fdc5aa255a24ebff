"""Growth: poll and inclusion-proof latency as the stored alerts (and audit entries) grow.

The database is filled fast but with valid rows: one real alert is posted over HTTP to a
running ``liaison serve`` and its stored row and decisions are the template; every synthetic
alert copies them under a fresh id, with the body of one of a pool of real signed alerts
sealed under that id (so the server opens, presents and seals it like any other), one
decision and one feed item for one of the polling partners, and the two audit entries the
service writes for them (``alert.submitted``, ``alert.decision``). The audit entries are
integrated directly: canonical leaf bytes, node hashes from a ``Frontier`` and one signed
checkpoint per batch, under the integrator lock, exactly what ``Integrator`` stores.

Then, at each size, partners poll pages of 100 at random positions of their feeds over HTTP
(sequentially, so the figure is the query's cost, not queueing), and inclusion proofs of
random entries are built in-process (plan, one node query, fold) and verified.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, text

from bench.common import Distribution, ScratchDatabase
from bench.exchange import CLEAR, CONTENT, Agency, serve
from service.alerts.models import Alert, AlertDecision, FeedItem
from service.alerts.sealing import seal_alert
from service.audit.integrator import leaf_bytes
from service.audit.models import AuditCheckpoint, AuditEntry
from service.audit.repository import AuditRepository
from service.client import LiaisonClient
from service.client.alerts import AlertsClient, alert_token
from service.db.engine import make_engine, make_sessionmaker
from service.protocol.clock import rfc3339
from service.protocol.merkle import (
    Frontier,
    assemble,
    complete_subtrees,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    plan_addresses,
    verify_consistency,
    verify_inclusion,
)
from service.protocol.note import Checkpoint, NoteSigner, sign_checkpoint
from service.settings import Settings

# Alerts per transaction while populating.
CHUNK = 5_000
# Real signed bodies reused (each sealed again under every synthetic alert's own id).
BODIES = 32


@dataclass(frozen=True)
class GrowthPoint:
    alerts: int
    audit_entries: int
    populate_seconds: float
    poll: Distribution
    inclusion: Distribution
    consistency: Distribution


class Populator:
    """Adds synthetic alerts copying a real posted alert's row, decisions and audit entries."""

    def __init__(self, db: ScratchDatabase, origin: Agency, pollers: list[Agency]) -> None:
        self.db = db
        self.origin = origin
        self.pollers = pollers
        self.engine = make_engine(db.url)
        self.sessionmaker = make_sessionmaker(self.engine)
        self.signer = NoteSigner(Settings().origin, db.keys.checkpoint)
        self.template: dict[str, Any] = {}
        self.decisions: dict[str, dict[str, Any]] = {}
        kb = db.keys.key_binding.public.to_jwk()
        self.bodies = [
            alert_token(origin.signing, origin.id, kb, CLEAR, CONTENT).encode()
            for _ in range(BODIES)
        ]
        self.digests = [hashlib.sha256(body).hexdigest() for body in self.bodies]
        self.count = 0

    async def close(self) -> None:
        await self.engine.dispose()

    async def learn(self, base: str) -> None:
        """Post one real alert and keep its stored row and decisions as the template."""
        token = alert_token(
            self.origin.signing,
            self.origin.id,
            self.db.keys.key_binding.public.to_jwk(),
            CLEAR,
            CONTENT,
        )
        async with LiaisonClient(base, self.origin.signing, timeout=60) as client:
            posted = await AlertsClient(client, self.origin.id).post(token)
        alert_id = posted["alert_id"]
        async with self.sessionmaker() as session:
            alert = (await session.scalars(select(Alert).where(Alert.id == alert_id))).one()
            self.template = {
                c.key: getattr(alert, c.key) for c in Alert.__table__.columns if c.key != "id"
            }
            rows = (
                await session.scalars(
                    select(AlertDecision).where(AlertDecision.alert_id == alert_id)
                )
            ).all()
            self.decisions = {
                row.partner: {
                    "receive": True,
                    "redacted": row.redacted,
                    "policies": row.policies,
                    "policy_version": row.policy_version,
                }
                for row in rows
            }
            self.count = int(await session.scalar(select(func.count(Alert.id))) or 0)

    async def grow_to(self, target: int) -> None:
        while self.count < target:
            await self._chunk(min(CHUNK, target - self.count))
        # A database that grew over months has planner statistics (autovacuum's ANALYZE);
        # one bulk-loaded a minute ago does not, and PostgreSQL then picks O(n) plans.
        async with self.sessionmaker() as session, session.begin():
            await session.execute(text("ANALYZE"))

    async def _chunk(self, count: int) -> None:
        now = datetime.now(UTC)
        stamp = rfc3339(now)
        alerts: list[dict[str, Any]] = []
        decisions: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        payloads: list[dict[str, Any]] = []
        version = self.template["policy_version"]
        for n in range(count):
            alert_id = str(uuid.uuid4())
            body = self.bodies[(self.count + n) % len(self.bodies)]
            digest = self.digests[(self.count + n) % len(self.bodies)]
            sealed = seal_alert(self.db.kek, alert_id, body)
            partner = self.pollers[(self.count + n) % len(self.pollers)].id
            alerts.append(
                {
                    **self.template,
                    "id": alert_id,
                    "received_at": now,
                    "body_sha256": digest,
                    "sealed_body": sealed.sealed_body,
                    "wrapped_key": sealed.wrapped_key,
                }
            )
            decision = self.decisions[partner]
            decisions.append(
                {"alert_id": alert_id, "partner": partner, "decided_at": now, **decision}
            )
            items.append(
                {
                    "partner": partner,
                    "alert_id": alert_id,
                    "type": "alert",
                    "reason": None,
                    "created_at": now,
                }
            )
            payloads.append(
                {
                    "time": stamp,
                    "event": "alert.submitted",
                    "actor": self.origin.id,
                    "alert_id": alert_id,
                    "kind": self.template["kind"],
                    "category": self.template["category"],
                    "tlp": self.template["tlp"],
                    "digest": digest,
                    "policy_version": version,
                }
            )
            payloads.append(
                {
                    "time": stamp,
                    "event": "alert.decision",
                    "actor": "broker",
                    "alert_id": alert_id,
                    "partner": partner,
                    "decision": "received",
                    "redacted": decision["redacted"],
                    "policies": decision["policies"],
                    "policy_version": version,
                }
            )
        async with self.sessionmaker() as session, session.begin():
            for table, rows in ((Alert, alerts), (AlertDecision, decisions), (FeedItem, items)):
                for start in range(0, len(rows), 1000):
                    await session.execute(insert(table), rows[start : start + 1000])
            repository = AuditRepository(session)
            await repository.take_integrator_lock(wait=True)
            latest = await repository.latest_checkpoint()
            size = latest.size if latest is not None else 0
            frontier = Frontier.from_stored(
                size, await repository.nodes(complete_subtrees(0, size))
            )
            entries: list[dict[str, Any]] = []
            nodes = []
            for offset, payload in enumerate(payloads):
                data = leaf_bytes(payload, size + offset)
                nodes.extend(frontier.append(leaf_hash(data)))
                entries.append(
                    {
                        "idx": size + offset,
                        "leaf": data,
                        "time": now,
                        "event": payload["event"],
                        "actor": payload["actor"],
                        "alert_id": payload["alert_id"],
                        "partner": payload.get("partner"),
                        "principal": None,
                    }
                )
            note = sign_checkpoint(
                Checkpoint(self.signer.name, frontier.size, frontier.root()), self.signer
            )
            await repository.store_integrated(
                entries,
                nodes,
                {"size": frontier.size, "root": frontier.root(), "note": note, "signed_at": now},
                [],
            )
        self.count += count

    async def audit_size(self) -> int:
        async with self.sessionmaker() as session:
            return int(await session.scalar(select(func.count(AuditEntry.idx))) or 0)

    async def inclusion(self, samples: int, rng: random.Random) -> Distribution:
        """Inclusion proofs of random entries of the latest checkpoint, each verified."""
        async with self.sessionmaker() as session:
            latest = (
                await session.scalars(
                    select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)
                )
            ).one()
        size, root = latest.size, latest.root
        timings: list[float] = []
        for _ in range(samples):
            index = rng.randrange(size)
            async with self.sessionmaker() as session, session.begin():
                started = time.perf_counter()
                plan = inclusion_plan(index, size)
                proof = assemble(plan, await AuditRepository(session).nodes(plan_addresses(plan)))
                timings.append(time.perf_counter() - started)
                entry = await AuditRepository(session).entry(index)
            if entry is None:
                raise RuntimeError(f"entry {index} is missing from the log")
            verify_inclusion(leaf_hash(entry.leaf), index, size, proof, root)
        return Distribution.of(timings)

    async def consistency(self, samples: int, rng: random.Random) -> Distribution:
        """Consistency proofs from random earlier sizes to the latest checkpoint, each verified
        against the stored checkpoint of that size."""
        async with self.sessionmaker() as session:
            checkpoints = (
                await session.execute(select(AuditCheckpoint.size, AuditCheckpoint.root))
            ).all()
        roots = {size: root for size, root in checkpoints}
        size = max(roots)
        earlier = sorted(s for s in roots if 0 < s < size)
        timings: list[float] = []
        for _ in range(samples if earlier else 0):
            old = rng.choice(earlier)
            async with self.sessionmaker() as session, session.begin():
                started = time.perf_counter()
                plan = consistency_plan(old, size)
                proof = assemble(plan, await AuditRepository(session).nodes(plan_addresses(plan)))
                timings.append(time.perf_counter() - started)
            verify_consistency(old, size, proof, roots[old], roots[size])
        return Distribution.of(timings)

    async def max_cursor(self) -> int:
        async with self.sessionmaker() as session:
            return int(await session.scalar(select(func.max(FeedItem.cursor))) or 0)


async def poll_at_random(
    base: str, pollers: list[Agency], max_cursor: int, samples: int, rng: random.Random
) -> Distribution:
    """Sequential polls of 100 items at random positions of random pollers' feeds."""
    clients = {a.id: LiaisonClient(base, a.signing, timeout=60) for a in pollers}
    latencies: list[float] = []
    # Keep clear of the end so that every page is full (each poller has an item every
    # len(pollers) cursors, and publishing leaves a few gaps).
    span = max(1, max_cursor - 150 * len(pollers))
    try:
        for _ in range(samples):
            agency = rng.choice(pollers)
            after = rng.randrange(span)
            started = time.perf_counter()
            response = await clients[agency.id].request(
                "GET", "/v1/feed", params={"limit": 100, "after": str(after)}
            )
            latencies.append(time.perf_counter() - started)
            served = len(response.json()["items"])
            if served == 0:
                raise RuntimeError(f"empty page at {after} of {max_cursor}")
    finally:
        for client in clients.values():
            await client.aclose()
    return Distribution.of(latencies)


async def run_growth(
    db: ScratchDatabase,
    origin: Agency,
    pollers: list[Agency],
    sizes: list[int],
    workers: int,
    polls: int,
    proofs: int,
) -> list[GrowthPoint]:
    """Grow ``db`` to each of ``sizes`` alerts and measure poll and proof latency there."""
    rng = random.Random(6)
    populator = Populator(db, origin, pollers)
    points: list[GrowthPoint] = []
    try:
        async with serve(db, workers) as server:
            await populator.learn(server.base_url)
            for size in sizes:
                started = time.perf_counter()
                await populator.grow_to(size)
                seconds = time.perf_counter() - started
                poll = await poll_at_random(
                    server.base_url, pollers, await populator.max_cursor(), polls, rng
                )
                inclusion = await populator.inclusion(proofs, rng)
                consistency = await populator.consistency(proofs, rng)
                points.append(
                    GrowthPoint(
                        size, await populator.audit_size(), seconds, poll, inclusion, consistency
                    )
                )
    finally:
        await populator.close()
    return points
