"""The integrator: the one writer that turns queued entries into leaves, nodes and checkpoints."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.repository import AuditRepository
from service.protocol.clock import Clock
from service.protocol.merkle import Frontier, complete_subtrees, leaf_hash
from service.protocol.note import Checkpoint, NoteSigner, sign_checkpoint

logger = logging.getLogger("liaison.audit")
# A batch holds the integrator's transaction (on SQLite, the process's only writer) for about
# 0.1 ms per entry: 1,000 entries keep that under ~100 ms while costing no more per entry than
# larger batches (measured: 80-110 µs/entry from 200 entries up).
BATCH_SIZE = 1000
POLL_SECONDS = 0.5
WAKE_DEBOUNCE_SECONDS = 0.1


def leaf_bytes(payload: dict[str, Any], index: int) -> bytes:
    """The exact bytes of a leaf: canonical JSON (sorted keys, no whitespace, UTF-8)."""
    document = {**payload, "index": index}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _optional_str(payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    return value if isinstance(value, str) else None


@dataclass
class Integrator:
    """Integrates the queue in batches; safe to run in every process at once.

    Each batch is one transaction holding the integrator lock: it reads the latest
    checkpoint's size and the frontier (O(log n) node reads), assigns the next dense indices
    to the oldest queued entries, stores their leaves and every newly completed subtree hash,
    signs a checkpoint of the new size and dequeues exactly the entries it integrated. A
    process that cannot take the lock does nothing: its entries are integrated by the holder.
    """

    sessionmaker: async_sessionmaker[AsyncSession]
    signer: NoteSigner
    clock: Clock
    batch_size: int = BATCH_SIZE
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # The frontier this integrator last committed. Checkpoint sizes only grow and stored nodes
    # never change, so while the latest checkpoint still has its size it is exactly the stored
    # frontier, and the next batch need not read it back.
    _frontier: Frontier | None = field(default=None, init=False, repr=False)

    async def integrate_once(self, *, wait: bool = False) -> int:
        """Integrate up to ``batch_size`` queued entries; return how many were integrated.

        With ``wait``, block until another process's integration finishes instead of leaving
        the work to it.
        """
        async with self.sessionmaker() as session, session.begin():
            repository = AuditRepository(session)
            if not await repository.take_integrator_lock(wait=wait):
                return 0
            latest = await repository.latest_size()
            pending = await repository.pending(self.batch_size)
            if latest is not None and not pending:
                return 0
            size = latest or 0
            if self._frontier is not None and self._frontier.size == size:
                frontier = self._frontier.copy()
            else:
                frontier = Frontier.from_stored(
                    size, await repository.nodes(complete_subtrees(0, size))
                )
            entries: list[dict[str, Any]] = []
            nodes = []
            for offset, (_, payload) in enumerate(pending):
                index = size + offset
                data = leaf_bytes(payload, index)
                nodes.extend(frontier.append(leaf_hash(data)))
                entries.append(
                    {
                        "idx": index,
                        "leaf": data,
                        "time": datetime.fromisoformat(payload["time"]),
                        "event": payload["event"],
                        "actor": payload["actor"],
                        "alert_id": _optional_str(payload, "alert_id"),
                        "partner": _optional_str(payload, "partner"),
                        "principal": _optional_str(payload, "principal"),
                    }
                )
            checkpoint = Checkpoint(self.signer.name, frontier.size, frontier.root())
            note = sign_checkpoint(checkpoint, self.signer)
            await repository.store_integrated(
                entries,
                nodes,
                {
                    "size": frontier.size,
                    "root": frontier.root(),
                    "note": note,
                    "signed_at": self.clock.now(),
                },
                [queue_id for queue_id, _ in pending],
            )
        # Committed: only now is the new frontier the stored one.
        self._frontier = frontier
        return len(pending)

    async def drain(self, *, wait: bool = False) -> int:
        """Integrate until the queue is empty; return the count.

        With ``wait``, the queue is empty on return (of everything committed before the call),
        whoever integrated it.
        """
        total = 0
        while (count := await self.integrate_once(wait=wait)) > 0:
            total += count
        return total

    async def run(self) -> None:
        """Integrate forever: shortly after a wake-up and at least every POLL_SECONDS.

        A wake-up waits WAKE_DEBOUNCE_SECONDS before draining, so that a burst of commits is
        integrated in one batch instead of one transaction each competing with the requests
        (on SQLite they share one connection); the 2 s checkpoint bound is unaffected.
        """
        while True:
            try:
                await self.drain()
            except Exception:
                logger.exception(
                    "audit integration failed; retrying",
                    extra={
                        "event": "audit.integration_failed",
                        "log_size": None if self._frontier is None else self._frontier.size,
                    },
                )
            self.wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
            # arrives with a wake-up, and shutdown would then wait for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await self.wake.wait()
                await asyncio.sleep(WAKE_DEBOUNCE_SECONDS)
