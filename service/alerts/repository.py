"""All SQL of the alert exchange."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.models import Alert, AlertDecision, Disposition, FeedItem
from service.protocol.vocabulary import AlertStatus, Role
from service.registry.models import Principal, PrincipalKey

FEED_LOCK_KEY = 0x4C49_4149_534F_4E02 - (1 << 63)
# session.info key: the registry as read once in this transaction (see ``directory``).
_DIRECTORY = "liaison.alerts.directory"


@dataclass(frozen=True)
class FeedRow:
    """One feed item with what serving it needs from its alert and the partner's decision."""

    cursor: int
    type: str
    alert_id: str
    reason: str | None
    created_at: datetime
    originator: str
    status: str
    claims: list[str]
    alert_policy_version: str
    sealed_body: bytes | None
    wrapped_key: bytes | None
    receive: bool | None  # None: no decision (a notice to the originator)
    redacted: list[str] | None
    decision_policy_version: str | None


@dataclass(frozen=True)
class RegistryEntry:
    """A principal as the exchange needs it: its policy facts, and whether it can be sent to
    (it holds an encryption key valid at the moment the directory was read)."""

    id: str
    country: str
    groups: list[str]
    roles: list[str]
    attributes: dict[str, Any]
    deliverable: bool


@dataclass(frozen=True)
class Directory:
    """Every registered principal, read in two plain queries (no ORM objects)."""

    entries: list[RegistryEntry]  # by id

    @property
    def ids(self) -> set[str]:
        return {e.id for e in self.entries}

    @property
    def groups(self) -> set[str]:
        return {g for e in self.entries for g in e.groups}

    @property
    def partners(self) -> list[RegistryEntry]:
        """Every principal that can receive alerts (role ``agency``)."""
        return [e for e in self.entries if Role.AGENCY in e.roles]

    def get(self, principal_id: str) -> RegistryEntry | None:
        return next((e for e in self.entries if e.id == principal_id), None)


class AlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        return self._session

    async def get(self, alert_id: str, *, for_update: bool = False) -> Alert | None:
        statement = select(Alert).where(Alert.id == alert_id)
        if for_update:
            # populate_existing: the row as it is once the lock is ours, not a copy this
            # session loaded before another transaction changed it. The session does not
            # autoflush, so pending changes are flushed first rather than overwritten.
            await self._session.flush()
            statement = statement.with_for_update().execution_options(populate_existing=True)
        return (await self._session.scalars(statement)).one_or_none()

    async def add(self, *rows: Alert | AlertDecision | FeedItem | Disposition) -> None:
        self._session.add_all(rows)
        await self._session.flush()

    async def insert_decisions(self, rows: list[dict[str, Any]]) -> None:
        """Insert many decisions in one statement (a fan-out's worth)."""
        if rows:
            await self._session.execute(insert(AlertDecision), rows)

    async def insert_feed_items(self, rows: list[dict[str, Any]]) -> None:
        """Insert many feed items in one statement; callers hold ``lock_feeds``."""
        if rows:
            await self._session.execute(insert(FeedItem), rows)

    async def directory(self, now: datetime) -> Directory:
        """The registry at ``now``, read once per transaction and kept for its rest.

        Plain column queries: a fan-out used to load every principal and key as ORM
        objects, which cost more than the policy decisions themselves at 20 partners.
        """
        cached = self._session.info.get(_DIRECTORY)
        if isinstance(cached, tuple) and cached[0] == now:
            directory: Directory = cached[1]
            return directory
        principals = select(
            Principal.id, Principal.country, Principal.groups, Principal.roles, Principal.attributes
        ).order_by(Principal.id)
        keys = select(
            PrincipalKey.principal_id,
            PrincipalKey.not_before,
            PrincipalKey.not_after,
            PrincipalKey.revoked_at,
        ).where(PrincipalKey.use == "enc")
        deliverable = {
            owner
            for owner, not_before, not_after, revoked_at in (await self._session.execute(keys))
            if PrincipalKey.window_contains(not_before, not_after, revoked_at, now)
        }
        directory = Directory(
            [
                RegistryEntry(id_, country, groups, roles, attributes, id_ in deliverable)
                for id_, country, groups, roles, attributes in (
                    await self._session.execute(principals)
                )
            ]
        )
        self._session.info[_DIRECTORY] = (now, directory)
        return directory

    async def decisions(self, alert_id: str) -> Sequence[AlertDecision]:
        statement = (
            select(AlertDecision)
            .where(AlertDecision.alert_id == alert_id)
            .order_by(AlertDecision.partner)
        )
        return (await self._session.scalars(statement)).all()

    async def decision(self, alert_id: str, partner: str) -> AlertDecision | None:
        return await self._session.get(AlertDecision, (alert_id, partner))

    async def recipients(self, alert_id: str) -> list[str]:
        statement = select(AlertDecision.partner).where(
            AlertDecision.alert_id == alert_id, AlertDecision.receive.is_(True)
        )
        return sorted((await self._session.scalars(statement)).all())

    async def dispositions(
        self, alert_id: str, partner: str | None = None
    ) -> Sequence[Disposition]:
        statement = select(Disposition).where(Disposition.alert_id == alert_id)
        if partner is not None:
            statement = statement.where(Disposition.partner == partner)
        return (await self._session.scalars(statement.order_by(Disposition.id))).all()

    async def feed(self, partner: str, after: int, limit: int) -> list[FeedRow]:
        """The partner's next ``limit`` items after ``after``, each with its alert and the
        partner's decision on it (None for notices to the originator), in one query.

        The decision is joined on its primary key, so the cost of a page does not depend on
        how many decisions the partner has, nor on the planner's statistics.
        """
        statement = (
            select(
                FeedItem.cursor,
                FeedItem.type,
                FeedItem.alert_id,
                FeedItem.reason,
                FeedItem.created_at,
                Alert.originator,
                Alert.status,
                Alert.claims,
                Alert.policy_version,
                Alert.sealed_body,
                Alert.wrapped_key,
                AlertDecision.receive,
                AlertDecision.redacted,
                AlertDecision.policy_version,
            )
            .join(Alert, Alert.id == FeedItem.alert_id)
            .outerjoin(
                AlertDecision,
                and_(
                    AlertDecision.alert_id == FeedItem.alert_id,
                    AlertDecision.partner == FeedItem.partner,
                ),
            )
            .where(FeedItem.partner == partner, FeedItem.cursor > after)
            .order_by(FeedItem.cursor)
            .limit(limit)
        )
        return [FeedRow(*tuple(row)) for row in (await self._session.execute(statement))]

    async def lock_feeds(self) -> None:
        """Serialise feed appends until this transaction ends (PostgreSQL).

        Cursors come from a sequence; without this, a transaction holding a lower cursor
        could commit after one holding a higher cursor, and a reader that had already
        moved past the higher one would never see the lower one. SQLite needs nothing:
        its write lock already serialises every writing transaction.
        """
        if self._session.get_bind().dialect.name == "postgresql":
            await self._session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK_KEY}
            )

    async def alerts_by_id(self, ids: set[str]) -> dict[str, Alert]:
        if not ids:
            return {}
        rows = (await self._session.scalars(select(Alert).where(Alert.id.in_(ids)))).all()
        return {row.id: row for row in rows}

    async def due_for_expiry(self, now: datetime, limit: int) -> Sequence[Alert]:
        """Published alerts whose ``exp`` has passed, locked; rows another transaction holds
        (a withdrawal in progress) are skipped, and seen again by the next pass if due."""
        statement = (
            select(Alert)
            .where(Alert.status == AlertStatus.PUBLISHED, Alert.expires_at <= now)
            .order_by(Alert.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        await self._session.flush()  # populate_existing must not overwrite pending changes
        return (await self._session.scalars(statement)).all()
