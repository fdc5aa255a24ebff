"""Repository of seen request nonces: the replay check that holds across restarts and replicas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import SeenNonce


class NonceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def remember(self, keyid: str, nonce: str, now: datetime) -> bool:
        """Record ``(keyid, nonce)``; True if it was new, False if it had been seen before.

        The insert is atomic against concurrent requests on either database: on PostgreSQL a
        second inserter waits for the first transaction and then sees the conflict.
        """
        values = {"keyid": keyid, "nonce": nonce, "seen_at": now}
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(SeenNonce).values(values).on_conflict_do_nothing()
        result = await self._session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def forget_before(self, cutoff: datetime) -> int:
        """Delete nonces seen before ``cutoff``; they can no longer pass the freshness check."""
        result = await self._session.execute(delete(SeenNonce).where(SeenNonce.seen_at < cutoff))
        return int(result.rowcount)  # type: ignore[attr-defined]
