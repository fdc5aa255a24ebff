"""Request authentication: from an unverified request to an AuthenticatedPrincipal, or an error."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.nonces import NonceRepository
from service.auth.principal import AuthenticatedPrincipal
from service.auth.signatures import (
    UnverifiedRequest,
    check_freshness,
    parse_signature_params,
    verify_signature,
)
from service.crypto import SigningPublicKey
from service.errors import KeyNotValid, ReplayedRequest, UnknownKey
from service.registry.repository import RegistryRepository


async def authenticate(
    session: AsyncSession, request: UnverifiedRequest, now: datetime, skew: timedelta
) -> AuthenticatedPrincipal:
    """Verify the request per API.md and return who sent it.

    Steps, each failing closed with its own AuthenticationFailed subclass:
    1. parse ``sig1`` (tag, alg, keyid, created, nonce, covered components);
    2. the key is a registered signing key, unrevoked and inside its window at ``now``;
    3. ``created`` is within ``skew`` of ``now``;
    4. the signature verifies and the body matches the signed Content-Digest;
    5. ``(keyid, nonce)`` was never seen, recorded in the caller's transaction.
    Only a fully verified request touches the database (step 5), so a rejected request
    writes nothing.
    """
    params = parse_signature_params(request)
    registry = RegistryRepository(session)
    credential = await registry.signing_credential(params.keyid)
    if credential is None or credential.key.use != "sig":
        raise UnknownKey("keyid is not a registered signing key")
    key = credential.key
    if not key.is_valid_at(now):
        raise KeyNotValid("the signing key is revoked or outside its validity window")
    check_freshness(params, now, skew)
    verify_signature(request, params, SigningPublicKey.from_jwk(key.public_jwk))
    if not await NonceRepository(session).remember(params.keyid, params.nonce, now):
        raise ReplayedRequest("this (keyid, nonce) was already used")
    return AuthenticatedPrincipal(
        id=key.principal_id,
        roles=frozenset(credential.roles),
        groups=frozenset(credential.groups),
        kid=key.kid,
    )
