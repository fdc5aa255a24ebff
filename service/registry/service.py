"""Registry rules: who may register principals and manage keys, and what a valid key is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.api.principal import AuthenticatedPrincipal
from service.audit.sink import AuditSink
from service.protocol.clock import rfc3339
from service.protocol.crypto import EncryptionPublicKey, KeyFormatError, SigningPublicKey
from service.protocol.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.protocol.vocabulary import AuditEvent, Role
from service.registry.models import Principal, PrincipalKey
from service.registry.repository import RegistryRepository
from service.registry.schemas import Agency, AgencyCreate, PublicJWK, RegisteredKey


def key_as_jwk(key: PrincipalKey) -> dict[str, str]:
    """The public JWK with the registry's validity members, as API.md publishes it."""
    jwk = dict(key.public_jwk)
    jwk["not_before"] = rfc3339(key.not_before)
    if key.not_after is not None:
        jwk["not_after"] = rfc3339(key.not_after)
    if key.revoked_at is not None:
        jwk["revoked_at"] = rfc3339(key.revoked_at)
    return jwk


def agency_view(principal: Principal) -> Agency:
    return Agency(
        id=principal.id,
        name=principal.name,
        country=principal.country,
        groups=principal.groups,
        roles=principal.roles,
        attributes=principal.attributes,
        signing_keys=[key_as_jwk(k) for k in principal.keys if k.use == "sig"],
        encryption_keys=[key_as_jwk(k) for k in principal.keys if k.use == "enc"],
    )


def _new_key(principal_id: str, jwk: PublicJWK, now: datetime) -> PrincipalKey:
    members: dict[str, Any] = jwk.key_members()
    if jwk.kid is not None:
        members["kid"] = jwk.kid
    try:
        parsed = (
            SigningPublicKey.from_jwk(members)
            if jwk.crv == "Ed25519"
            else EncryptionPublicKey.from_jwk(members)
        )
    except KeyFormatError as exc:
        raise InvalidInput(f"invalid key: {exc}") from None
    use = "sig" if jwk.crv == "Ed25519" else "enc"
    if jwk.use is not None and jwk.use != use:
        raise InvalidInput(f"a {jwk.crv} key has use {use!r}")
    return PrincipalKey(
        kid=parsed.kid,
        principal_id=principal_id,
        use=use,
        public_jwk=parsed.to_jwk(),
        not_before=jwk.not_before or now,
        not_after=jwk.not_after,
        revoked_at=None,
        created_at=now,
    )


@dataclass
class RegistryService:
    repository: RegistryRepository
    audit: AuditSink
    now: datetime

    async def list_agencies(self) -> list[Agency]:
        return [agency_view(p) for p in await self.repository.list_principals_with_keys()]

    async def get_agency(self, agency_id: str) -> Agency:
        principal = await self.repository.get_principal_with_keys(agency_id)
        if principal is None:
            raise NotFound(f"no principal {agency_id!r}")
        return agency_view(principal)

    async def register(self, actor: AuthenticatedPrincipal, request: AgencyCreate) -> Agency:
        """Register a principal with its keys; admin only.

        Raises Forbidden, Conflict or InvalidInput.
        """
        actor.require_role(Role.ADMIN)
        if await self.repository.get_principal(request.id) is not None:
            raise Conflict(f"principal {request.id!r} already exists")
        principal = Principal(
            id=request.id,
            name=request.name,
            country=request.country,
            groups=request.groups,
            roles=list(request.roles),
            attributes=request.attributes,
            created_at=self.now,
        )
        keys = [_new_key(request.id, jwk, self.now) for jwk in request.signing_keys]
        keys += [_new_key(request.id, jwk, self.now) for jwk in request.encryption_keys]
        await self._refuse_taken_kids(keys)
        await self.repository.add(principal)
        await self.repository.add(*keys)
        await self.audit.append(
            AuditEvent.PRINCIPAL_REGISTERED,
            actor.id,
            {"principal": request.id, "roles": sorted(request.roles), "groups": request.groups},
        )
        for key in keys:
            await self._audit_key_added(actor, key)
        return await self.get_agency(request.id)

    async def add_key(
        self, actor: AuthenticatedPrincipal, agency_id: str, jwk: PublicJWK
    ) -> RegisteredKey:
        """Add a key to a principal (rotation); admin or the principal itself."""
        self._require_admin_or_self(actor, agency_id)
        if await self.repository.get_principal(agency_id) is None:
            raise NotFound(f"no principal {agency_id!r}")
        key = _new_key(agency_id, jwk, self.now)
        await self._refuse_taken_kids([key])
        await self.repository.add(key)
        await self._audit_key_added(actor, key)
        return RegisteredKey.model_validate(key_as_jwk(key))

    async def revoke_key(
        self, actor: AuthenticatedPrincipal, agency_id: str, kid: str, reason: str | None
    ) -> RegisteredKey:
        """Revoke a key at once; admin or the principal itself.

        A principal may not revoke its own last valid signing key (it would lock itself out);
        an admin may. Raises Forbidden, NotFound, Conflict.
        """
        self._require_admin_or_self(actor, agency_id)
        principal = await self.repository.get_principal_with_keys(agency_id)
        key = next((k for k in principal.keys if k.kid == kid), None) if principal else None
        if principal is None or key is None:
            raise NotFound(f"principal {agency_id!r} has no key {kid!r}")
        if key.revoked_at is not None:
            raise Conflict(f"key {kid!r} was already revoked")
        if key.use == "sig" and not actor.has_role(Role.ADMIN):
            others = [
                k
                for k in principal.keys
                if k.use == "sig" and k is not key and k.is_valid_at(self.now)
            ]
            if not others:
                raise Conflict("refusing to revoke the last valid signing key; add another first")
        key.revoked_at = self.now
        await self.audit.append(
            AuditEvent.KEY_REVOKED,
            actor.id,
            {"principal": agency_id, "kid": kid, "use": key.use, "reason": reason or ""},
        )
        return RegisteredKey.model_validate(key_as_jwk(key))

    async def _refuse_taken_kids(self, keys: list[PrincipalKey]) -> None:
        kids = [k.kid for k in keys]
        if len(set(kids)) != len(kids):
            raise InvalidInput("the request repeats a kid")
        taken = await self.repository.existing_kids(kids)
        if taken:
            raise Conflict(f"kid already registered: {sorted(taken)}")

    async def _audit_key_added(self, actor: AuthenticatedPrincipal, key: PrincipalKey) -> None:
        fields: dict[str, Any] = {
            "principal": key.principal_id,
            "kid": key.kid,
            "use": key.use,
            "not_before": rfc3339(key.not_before),
        }
        if key.not_after is not None:
            fields["not_after"] = rfc3339(key.not_after)
        await self.audit.append(AuditEvent.KEY_ADDED, actor.id, fields)

    @staticmethod
    def _require_admin_or_self(actor: AuthenticatedPrincipal, agency_id: str) -> None:
        if actor.id != agency_id and not actor.has_role(Role.ADMIN):
            raise Forbidden("only an admin or the principal itself may manage its keys")
