"""Request authentication: from an unverified request to an AuthenticatedPrincipal, or an error.

``verify_request`` is the one verification of a signed request; ``authenticate`` adds the
replay check, and publication's preparing (``service.alerts.prepare``) uses it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.api.principal import AuthenticatedPrincipal, claim_principal_mint, known_roles
from service.auth.nonces import NonceRepository
from service.protocol.crypto import SigningPublicKey
from service.protocol.errors import KeyNotValid, ReplayedRequest, UnknownKey
from service.protocol.signatures import (
    UnverifiedRequest,
    check_freshness,
    parse_signature_params,
    verify_signature,
)
from service.protocol.vocabulary import Role
from service.registry.repository import RegistryRepository

_VERIFIER = object()
_principal = claim_principal_mint()


@dataclass(frozen=True)
class VerifiedRequest:
    """A request whose signature verified under a registered signing key valid at the time.

    Only ``verify_request`` makes one. It says nothing of replay: ``authenticate`` checks
    the nonce.
    """

    principal_id: str
    kid: str
    nonce: str
    roles: frozenset[Role]
    groups: frozenset[str]
    _made_by: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._made_by is not _VERIFIER:
            raise TypeError("only verify_request makes a VerifiedRequest")


async def verify_request(
    registry: RegistryRepository, request: UnverifiedRequest, now: datetime, skew: timedelta
) -> VerifiedRequest:
    """Verify the request's RFC 9421 signature (docs/protocol.md "Request signing").

    Steps, each failing closed with its own AuthenticationFailed subclass:
    1. parse ``sig1`` (tag, alg, keyid, created, nonce, covered components);
    2. the key is a registered signing key, unrevoked and inside its window at ``now``;
    3. ``created`` is within ``skew`` of ``now``;
    4. the signature verifies and the body matches the signed Content-Digest.
    Reads the registry only; writes nothing.
    """
    params = parse_signature_params(request)
    credential = await registry.signing_credential(params.keyid)
    if credential is None or credential.key.use != "sig":
        raise UnknownKey("keyid is not a registered signing key")
    key = credential.key
    if not key.is_valid_at(now):
        raise KeyNotValid("the signing key is revoked or outside its validity window")
    check_freshness(params, now, skew)
    verify_signature(request, params, SigningPublicKey.from_jwk(key.public_jwk))
    return VerifiedRequest(
        principal_id=key.principal_id,
        kid=key.kid,
        nonce=params.nonce,
        roles=known_roles(credential.roles),
        groups=frozenset(credential.groups),
        _made_by=_VERIFIER,
    )


async def authenticate(
    session: AsyncSession, request: UnverifiedRequest, now: datetime, skew: timedelta
) -> AuthenticatedPrincipal:
    """Verify the request (``verify_request``) and return who sent it.

    5. ``(keyid, nonce)`` was never seen, recorded in the caller's transaction.
    Only a fully verified request touches the database (step 5), so a rejected request
    writes nothing. Raises the AuthenticationFailed subclass of the first rule broken.
    """
    verified = await verify_request(RegistryRepository(session), request, now, skew)
    if not await NonceRepository(session).remember(verified.kid, verified.nonce, now):
        raise ReplayedRequest("this (keyid, nonce) was already used")
    return _principal(verified.principal_id, verified.roles, verified.groups, verified.kid)
