"""All SQL of review cases, heightened review and purge deadlines (shared by the alert
exchange and governance)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.models import Alert, HeightenedReview, ReviewCase
from service.protocol.vocabulary import ENDED_STATUSES, CaseStatus


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, *rows: ReviewCase | HeightenedReview) -> None:
        self._session.add_all(rows)
        await self._session.flush()

    async def heightened(self, principal_id: str) -> HeightenedReview | None:
        return await self._session.get(HeightenedReview, principal_id)

    async def remove(self, row: HeightenedReview) -> None:
        await self._session.delete(row)
        await self._session.flush()

    async def open_case(self, alert_id: str, kind: str | None = None) -> ReviewCase | None:
        statement = select(ReviewCase).where(
            ReviewCase.alert_id == alert_id, ReviewCase.status == CaseStatus.OPEN
        )
        if kind is not None:
            statement = statement.where(ReviewCase.kind == kind)
        return (await self._session.scalars(statement.order_by(ReviewCase.id))).first()

    async def locked_cases_for(self, alert_id: str) -> Sequence[ReviewCase]:
        """Every case of the alert, oldest first, locked until the transaction ends
        (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write lock serialises anyway).

        Callers lock the alert's row first (``AlertRepository.get(for_update=True)``): one
        lock order everywhere, so two deciders never deadlock.
        """
        statement = (
            select(ReviewCase)
            .where(ReviewCase.alert_id == alert_id)
            .order_by(ReviewCase.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        await self._session.flush()  # populate_existing must not overwrite pending changes
        return (await self._session.scalars(statement)).all()

    async def cases(self, status: str | None, limit: int) -> Sequence[ReviewCase]:
        statement = select(ReviewCase).order_by(ReviewCase.id).limit(limit)
        if status is not None:
            statement = statement.where(ReviewCase.status == status)
        return (await self._session.scalars(statement)).all()

    async def cases_for(self, alert_id: str) -> Sequence[ReviewCase]:
        statement = select(ReviewCase).where(ReviewCase.alert_id == alert_id)
        return (await self._session.scalars(statement.order_by(ReviewCase.id))).all()

    async def with_purge_deadline(self, limit: int) -> Sequence[Alert]:
        statement = (
            select(Alert)
            .where(Alert.purge_deadline.is_not(None))
            .order_by(Alert.purge_deadline)
            .limit(limit)
        )
        return (await self._session.scalars(statement)).all()

    async def ended_before(self, moment: datetime, limit: int) -> Sequence[Alert]:
        """Ended alerts (not yet shredded) whose status changed before ``moment``, locked;
        rows another transaction holds are skipped (the next pass sees them)."""
        statement = (
            select(Alert)
            .where(Alert.status.in_(sorted(ENDED_STATUSES)), Alert.status_changed_at < moment)
            .order_by(Alert.status_changed_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        await self._session.flush()  # populate_existing must not overwrite pending changes
        return (await self._session.scalars(statement)).all()

    async def ended_by_review_since(self, originator: str, since: datetime) -> int:
        """How many of ``originator``'s alerts reviewers rejected (screening) or cancelled
        (challenge) at or after ``since``, counted from the decided review cases (which
        outlive the alerts' content)."""
        statement = (
            select(func.count(func.distinct(ReviewCase.alert_id)))
            .join(Alert, Alert.id == ReviewCase.alert_id)
            .where(
                Alert.originator == originator,
                ReviewCase.status.in_([CaseStatus.REJECTED, CaseStatus.CANCELLED]),
                ReviewCase.decided_at >= since,
            )
        )
        return int((await self._session.scalar(statement)) or 0)
