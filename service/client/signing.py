"""Signing outgoing requests as docs/protocol.md "Request signing" requires (the signing
itself is ``service.protocol.signatures.sign_request``)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime

import httpx

from service.protocol.crypto import SigningPrivateKey
from service.protocol.signatures import sign_request as sign_message


def sign_request(
    request: httpx.Request,
    key: SigningPrivateKey,
    *,
    created: datetime | None = None,
    nonce: str | None = None,
) -> None:
    """Add ``Signature-Input``, ``Signature`` and, with a body, ``Content-Digest`` in place."""
    sign_message(request, request.content, key, created=created, nonce=nonce)


class SignatureAuth(httpx.Auth):
    """httpx authentication that signs every request; works with sync and async clients."""

    requires_request_body = True

    def __init__(self, key: SigningPrivateKey, clock: Callable[[], datetime] | None = None) -> None:
        self._key = key
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        sign_request(request, self._key, created=self._clock() if self._clock else None)
        yield request
