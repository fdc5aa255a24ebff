"""First start: the broker's keys and the first admin principal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.api.principal import broker_principal
from service.audit.log import AuditLog
from service.broker.keys import create_broker_keys
from service.protocol.crypto import SigningPrivateKey
from service.protocol.errors import Conflict
from service.protocol.vocabulary import Role
from service.registry.repository import RegistryRepository
from service.registry.schemas import AgencyCreate, PublicJWK
from service.registry.service import RegistryService


async def bootstrap(
    session: AsyncSession, kek: bytes, now: datetime, admin_id: str, admin_name: str, country: str
) -> SigningPrivateKey:
    """Create the broker keys and the first admin in the caller's transaction.

    Returns the admin's private signing key, which the caller writes to a file and which the
    broker never stores. Raises Conflict if the database was already initialised.
    """
    registry = RegistryRepository(session)
    if await registry.list_principals_with_keys():
        raise Conflict("this database already has principals; it was initialised before")
    await create_broker_keys(session, kek, now)
    admin_key = SigningPrivateKey.generate()
    request = AgencyCreate(
        id=admin_id,
        name=admin_name,
        country=country,
        roles=[Role.ADMIN],
        signing_keys=[PublicJWK.model_validate(admin_key.public.to_jwk())],
    )
    await RegistryService(registry, AuditLog(session, now), now).register(
        broker_principal(), request
    )
    return admin_key
