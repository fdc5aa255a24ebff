"""All SQL of the registry."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from service.registry.models import Principal, PrincipalKey


class RegistryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_key(self, kid: str) -> PrincipalKey | None:
        return await self._session.get(PrincipalKey, kid)

    async def get_principal(self, principal_id: str) -> Principal | None:
        return await self._session.get(Principal, principal_id)

    async def get_principal_with_keys(self, principal_id: str) -> Principal | None:
        statement = (
            select(Principal)
            .where(Principal.id == principal_id)
            .options(selectinload(Principal.keys))
        )
        return (await self._session.scalars(statement)).one_or_none()

    async def list_principals_with_keys(self) -> list[Principal]:
        statement = select(Principal).options(selectinload(Principal.keys)).order_by(Principal.id)
        return list((await self._session.scalars(statement)).all())

    async def existing_kids(self, kids: list[str]) -> set[str]:
        if not kids:
            return set()
        statement = select(PrincipalKey.kid).where(PrincipalKey.kid.in_(kids))
        return set((await self._session.scalars(statement)).all())

    async def add(self, *rows: Principal | PrincipalKey) -> None:
        self._session.add_all(rows)
        await self._session.flush()
