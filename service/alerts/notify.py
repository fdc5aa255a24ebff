"""Waking long-polling feed requests when items arrive.

In-process waiters are woken directly after the publishing transaction commits. Across
processes, PostgreSQL's LISTEN/NOTIFY carries the partner ids (NOTIFY is transactional, so a
notification never precedes the commit that made the items visible). Every waiter also
re-checks the database at least every ``POLL_SECONDS``, so a missed notification (SQLite with
several processes, a dropped listener connection) delays an item by at most that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger("liaison.feed")
CHANNEL = "liaison_feed"
POLL_SECONDS = 0.5
# Session flag: partners whose feeds this transaction added items to.
FEED_PARTNERS = "liaison.feed.partners"


class FeedNotifier:
    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    def notify(self, partners: Iterable[str]) -> None:
        for partner in partners:
            for event in self._waiters.get(partner, ()):
                event.set()

    @contextlib.asynccontextmanager
    async def waiter(self, partner: str) -> AsyncIterator[asyncio.Event]:
        """Register before querying, so that an item committed in between is never missed."""
        event = asyncio.Event()
        self._waiters[partner].add(event)
        try:
            yield event
        finally:
            self._waiters[partner].discard(event)
            if not self._waiters[partner]:
                del self._waiters[partner]


async def mark_published(session: AsyncSession, partners: Iterable[str]) -> None:
    """Record, in the publishing transaction, whose feeds grew (and NOTIFY on PostgreSQL)."""
    names = sorted(set(partners))
    if not names:
        return
    session.info.setdefault(FEED_PARTNERS, set()).update(names)
    if session.get_bind().dialect.name == "postgresql":
        # Payloads are limited to 8000 bytes: send the ids in chunks.
        chunk: list[str] = []
        for name in names:
            if sum(len(n) + 1 for n in chunk) + len(name) > 7000:
                await session.execute(
                    text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": ",".join(chunk)}
                )
                chunk = []
            chunk.append(name)
        await session.execute(
            text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": ",".join(chunk)}
        )


async def listen(database_url: str, notifier: FeedNotifier) -> None:
    """Forward PostgreSQL notifications to ``notifier`` forever, reconnecting on failure."""
    import asyncpg

    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    def forward(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        notifier.notify(payload.split(","))

    while True:
        connection = None
        try:
            connection = await asyncpg.connect(dsn)
            await connection.add_listener(CHANNEL, forward)
            while True:
                await asyncio.sleep(30)
                await connection.execute("SELECT 1")
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("feed listener lost its connection; reconnecting")
            await asyncio.sleep(1)
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
