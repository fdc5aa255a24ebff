"""RFC 9421 request signatures, signing and verifying, as docs/protocol.md "Request signing"
fixes them.

Parsing of the untrusted headers happens here, before any key is looked up; the cryptographic
check is delegated to ``http-message-signatures`` with an allow-list of one algorithm.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import http_sf
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from service.protocol.crypto import (
    SigningPrivateKey,
    SigningPublicKey,
    b64url_decode,
    b64url_encode,
)
from service.protocol.crypto.keys import unsafe_public_key_object
from service.protocol.errors import (
    DigestMismatch,
    InvalidSignature,
    MalformedDigest,
    MissingComponent,
    StaleSignature,
    UnsignedRequest,
    UnsupportedAlgorithm,
)

LABEL = "sig1"
TAG = "liaison"
ALGORITHM = "ed25519"
BASE_COMPONENTS = ("@method", "@authority", "@path", "@query")
DIGEST_COMPONENT = "content-digest"
MIN_NONCE_BYTES = 16
_ALLOWED_PARAMETERS = frozenset({"created", "keyid", "alg", "nonce", "tag", "expires"})


@dataclass(frozen=True)
class UnverifiedRequest:
    """An incoming request as the signature sees it: nothing here has been checked yet."""

    method: str
    url: str
    headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class UnverifiedSignatureParams:
    """The ``sig1`` parameters as claimed by the caller, syntactically valid but unverified."""

    keyid: str
    created: datetime
    nonce: str
    components: tuple[str, ...]


def required_components(has_body: bool) -> tuple[str, ...]:
    """The covered components the contract requires for a request with or without a body."""
    return (*BASE_COMPONENTS, DIGEST_COMPONENT) if has_body else BASE_COMPONENTS


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [value for key, value in headers if key.lower() == name]
    return ", ".join(values) if values else None


def parse_signature_params(request: UnverifiedRequest) -> UnverifiedSignatureParams:
    """Read and check the shape of ``Signature-Input``'s ``sig1`` member.

    Raises UnsignedRequest when no signature is present, UnsupportedAlgorithm for any ``alg``
    other than ``ed25519``, MissingComponent when a required component is not covered, and
    InvalidSignature for every other malformation.
    """
    raw_input = _header(request.headers, "signature-input")
    raw_signature = _header(request.headers, "signature")
    if raw_input is None and raw_signature is None:
        raise UnsignedRequest("the request carries no Signature-Input and Signature headers")
    if raw_input is None or raw_signature is None:
        raise InvalidSignature("Signature-Input and Signature must both be present")
    try:
        parsed: Any = http_sf.parse(raw_input.encode("latin-1"), tltype="dictionary")
    except Exception:  # http_sf raises plain ValueError and friends on malformed input
        raise InvalidSignature("Signature-Input is not a structured-field dictionary") from None
    member = parsed.get(LABEL) if isinstance(parsed, dict) else None
    if member is None:
        raise UnsignedRequest(f"Signature-Input has no {LABEL!r} signature")
    inner, params = member
    if not isinstance(inner, list):
        raise InvalidSignature(f"Signature-Input {LABEL!r} is not an inner list")
    unknown = set(params) - _ALLOWED_PARAMETERS
    if unknown:
        raise InvalidSignature(f"unexpected signature parameters {sorted(unknown)}")
    if params.get("tag") != TAG:
        raise InvalidSignature(f'the signature must carry tag="{TAG}"')
    if params.get("alg") != ALGORITHM:
        raise UnsupportedAlgorithm(f'the only accepted alg is "{ALGORITHM}"')
    keyid, created, nonce = params.get("keyid"), params.get("created"), params.get("nonce")
    if not isinstance(keyid, str) or not keyid or len(keyid) > 128:
        raise InvalidSignature("keyid must be a non-empty string")
    if type(created) is not int:
        raise InvalidSignature("created must be an integer")
    if not isinstance(nonce, str) or len(nonce) > 128:
        raise InvalidSignature("nonce must be a base64url string")
    try:
        nonce_bytes = b64url_decode(nonce)
    except ValueError:
        raise InvalidSignature("nonce must be base64url without padding") from None
    if len(nonce_bytes) < MIN_NONCE_BYTES:
        raise InvalidSignature(f"nonce must hold at least {MIN_NONCE_BYTES} random bytes")
    components = tuple(item for item, item_params in inner if not item_params)
    missing = [c for c in required_components(bool(request.body)) if c not in components]
    if missing:
        raise MissingComponent(f"the signature does not cover {missing}")
    try:
        created_at = datetime.fromtimestamp(created, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidSignature("created is out of range") from None
    return UnverifiedSignatureParams(
        keyid=keyid, created=created_at, nonce=nonce, components=components
    )


def check_freshness(params: UnverifiedSignatureParams, now: datetime, skew: timedelta) -> None:
    """Raise StaleSignature unless ``created`` lies within ``skew`` of ``now`` (inclusive)."""
    if abs(params.created - now) > skew:
        raise StaleSignature(
            f"created is more than {int(skew.total_seconds())} s from the server clock"
        )


class _OneKeyResolver(HTTPSignatureKeyResolver):
    def __init__(self, key: SigningPublicKey) -> None:
        self._key = key

    def resolve_public_key(self, key_id: str) -> Any:
        if key_id != self._key.kid:
            raise InvalidSignature("keyid changed during verification")
        return unsafe_public_key_object(self._key)

    def resolve_private_key(self, key_id: str) -> Any:
        raise NotImplementedError


class _Verifier(HTTPMessageVerifier):
    # Freshness is checked by check_freshness against the injectable clock, so the library's
    # own wall-clock check must never be the one that decides.
    max_clock_skew = timedelta(days=365 * 100)


class _Headers:
    """Read-only, order-preserving header view with the interface the library expects."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = list(pairs)

    def items(self) -> list[tuple[str, str]]:
        return self._pairs

    def __iter__(self) -> Any:
        return iter(dict.fromkeys(name for name, _ in self._pairs))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in self._pairs)


@dataclass(frozen=True)
class _Message:
    method: str
    url: str
    headers: _Headers


def verify_signature(
    request: UnverifiedRequest, params: UnverifiedSignatureParams, key: SigningPublicKey
) -> None:
    """Return if ``sig1`` verifies with ``key`` and the body matches its signed digest.

    Raises InvalidSignature (signature, components, tampering) or DigestMismatch (the body
    differs from the signed Content-Digest).
    """
    verifier = _Verifier(signature_algorithm=algorithms.ED25519, key_resolver=_OneKeyResolver(key))
    message = _Message(method=request.method, url=request.url, headers=_Headers(request.headers))
    try:
        results = verifier.verify(
            message,
            max_age=None,
            expect_tag=TAG,
            expect_label=LABEL,
            require_components=required_components(bool(request.body)),
        )
    except (HTTPMessageSignaturesException, InvalidSignature):
        raise InvalidSignature("the signature does not verify") from None
    field = _header(request.headers, DIGEST_COMPONENT)
    if not request.body and field is None:
        return
    check_content_digest(field)
    try:
        verifier.verify_body(message, results, request.body)
    except HTTPMessageSignaturesException:
        raise DigestMismatch("the body does not match the signed Content-Digest") from None


_SHA256_MEMBER = re.compile(r"(?:^|,)\s*sha-256=:([A-Za-z0-9+/]*={0,2}):\s*(?:;[^,]*)?(?:,|$)")


def check_content_digest(field: str | None) -> None:
    """Return if ``field`` is an RFC 9530 Content-Digest with a ``sha-256`` member whose
    value is 32 bytes in standard, padded base64 (RFC 4648 §4), as docs/protocol.md §3.4
    requires. Other members (``sha-512``) may accompany it; they are not what the broker
    checks. Raises MalformedDigest otherwise, before the body is compared."""
    match = _SHA256_MEMBER.search(field or "")
    if match is None:
        raise MalformedDigest("Content-Digest needs a sha-256 member (RFC 9530)")
    value = match.group(1)
    if len(value) != 44 or not value.endswith("="):
        raise MalformedDigest("Content-Digest sha-256 must be 32 bytes in padded base64")


#: Random bytes in the nonce of every request this side signs (at least MIN_NONCE_BYTES).
NONCE_BYTES = 24


class SignableRequest(Protocol):
    """What the signer needs of an outgoing request (``httpx.Request`` is one): its method,
    URL and mutable headers; the signature headers are added in place."""

    @property
    def method(self) -> str: ...
    @property
    def url(self) -> Any: ...
    @property
    def headers(self) -> Any: ...


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
    request: SignableRequest,
    body: bytes,
    key: SigningPrivateKey,
    *,
    created: datetime | None = None,
    nonce: str | None = None,
) -> None:
    """Sign ``request`` as docs/protocol.md "Request signing" requires: add ``Signature-Input``,
    ``Signature`` and, with a non-empty ``body``, ``Content-Digest`` (SHA-256), in place."""
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
        covered_component_ids=BASE_COMPONENTS,
        body=body if body else None,
    )
