"""Signing outgoing requests exactly as API.md's "Request authentication" requires."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from typing import Any

import httpx
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

from service.protocol.crypto import SigningPrivateKey, b64url_encode

LABEL = "sig1"
TAG = "liaison"
NONCE_BYTES = 24
COMPONENTS = ("@method", "@authority", "@path", "@query")


class _PrivateKeyResolver(HTTPSignatureKeyResolver):
    def __init__(self, key: SigningPrivateKey) -> None:
        self._key = key

    def resolve_private_key(self, key_id: str) -> Any:
        if key_id != self._key.kid:
            raise KeyError(key_id)
        return self._key.unsafe_cryptography_key()

    def resolve_public_key(self, key_id: str) -> Any:
        raise NotImplementedError


def sign_request(
    request: httpx.Request,
    key: SigningPrivateKey,
    *,
    created: datetime | None = None,
    nonce: str | None = None,
) -> None:
    """Add ``Signature-Input``, ``Signature`` and, with a body, ``Content-Digest`` in place."""
    body = request.content
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=_PrivateKeyResolver(key)
    )
    signer.sign(
        request,
        key_id=key.kid,
        created=created or datetime.now(UTC),
        nonce=nonce or b64url_encode(os.urandom(NONCE_BYTES)),
        label=LABEL,
        tag=TAG,
        include_alg=True,
        covered_component_ids=COMPONENTS,
        body=body if body else None,
    )


class SignatureAuth(httpx.Auth):
    """httpx authentication that signs every request; works with sync and async clients."""

    requires_request_body = True

    def __init__(self, key: SigningPrivateKey, clock: Callable[[], datetime] | None = None) -> None:
        self._key = key
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        sign_request(request, self._key, created=self._clock() if self._clock else None)
        yield request
