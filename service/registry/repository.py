"""All SQL of the registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from service.registry.models import Principal, PrincipalKey


@dataclass(frozen=True)
class KeyRecord:
    """A registered public key's columns, read without an ORM object (hot paths)."""

    kid: str
    principal_id: str
    use: str
    public_jwk: dict[str, Any]
    not_before: datetime
    not_after: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    def is_valid_at(self, moment: datetime) -> bool:
        return PrincipalKey.window_contains(
            self.not_before, self.not_after, self.revoked_at, moment
        )


@dataclass(frozen=True)
class SigningCredential:
    """What authenticating one request needs: the key and its owner's roles and groups."""

    key: KeyRecord
    roles: list[str]
    groups: list[str]


_KEY_COLUMNS = (
    PrincipalKey.kid,
    PrincipalKey.principal_id,
    PrincipalKey.use,
    PrincipalKey.public_jwk,
    PrincipalKey.not_before,
    PrincipalKey.not_after,
    PrincipalKey.revoked_at,
    PrincipalKey.created_at,
)


class RegistryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_key(self, kid: str) -> PrincipalKey | None:
        return await self._session.get(PrincipalKey, kid)

    async def signing_credential(self, kid: str) -> SigningCredential | None:
        """The key ``kid`` with its owner's roles and groups, in one query."""
        statement = (
            select(*_KEY_COLUMNS, Principal.roles, Principal.groups)
            .join(Principal, Principal.id == PrincipalKey.principal_id)
            .where(PrincipalKey.kid == kid)
        )
        row = (await self._session.execute(statement)).one_or_none()
        if row is None:
            return None
        *key, roles, groups = row
        return SigningCredential(KeyRecord(*key), roles, groups)

    async def encryption_keys(self, principal_id: str) -> list[KeyRecord]:
        """Every encryption key of ``principal_id`` (valid or not), in one query."""
        statement = select(*_KEY_COLUMNS).where(
            PrincipalKey.principal_id == principal_id, PrincipalKey.use == "enc"
        )
        return [KeyRecord(*row) for row in (await self._session.execute(statement))]

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
