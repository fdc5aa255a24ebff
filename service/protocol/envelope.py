"""The JOSE layer: this profile's compact JWS, feed envelopes (JWE) and signed notices.

One JWS profile serves issuer-signed alerts, key-binding JWTs and notices: the header is
exactly ``alg``/``typ``/``kid``, ``alg`` is ``Ed25519`` (RFC 9864) or its deprecated synonym
``EdDSA``, ``typ`` is explicit (RFC 8725 §3.11). One JWE profile serves feed envelopes:
compact, ``ECDH-ES`` + ``A256GCM`` to the partner's X25519 key, no ``zip``. joserfc does all
JOSE work; this module pins its allow-lists and limits, and parses headers strictly first
(duplicate JSON members and NaN are refused, so no two parsers can disagree on a header).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwa import JWSAlgModel
from joserfc.jwe import JWERegistry
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from service.protocol.claims import NOTICE_TYP
from service.protocol.crypto import (
    EncryptionPrivateKey,
    EncryptionPublicKey,
    SigningPrivateKey,
    SigningPublicKey,
    VerificationError,
    b64url_decode,
)

SIGNING_ALG = "Ed25519"
JWS_ALGORITHMS = (SIGNING_ALG, "EdDSA")
JWE_ALG = "ECDH-ES"
JWE_ENC = "A256GCM"
# Envelopes carry presentations, at most a submitted body (1 MiB by default) plus a KB-JWT;
# joserfc's own default (64 KiB) would refuse large alerts.
MAX_ENVELOPE_PLAINTEXT = 4 * 1024 * 1024

_JWS_HEADER = frozenset({"alg", "typ", "kid"})
# What an ECDH-ES + A256GCM header may hold; `zip` and `crit` are refused by omission.
_JWE_HEADER = frozenset({"alg", "enc", "kid", "epk", "apu", "apv", "cty", "typ"})
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_OPTIONAL_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


class JwsRejected(VerificationError):
    """A compact JWS failed this profile's checks; the message names which, safely."""


class InvalidEnvelope(VerificationError):
    """A feed envelope could not be opened: wrong key, altered, or outside the profile."""


class InvalidNotice(VerificationError):
    """A withdrawal/expiry notice failed verification."""


_ED25519: JWSAlgModel = JWSRegistry.algorithms[SIGNING_ALG]


class _EdDSAForEd25519(JWSAlgModel):
    """RFC 8037's ``EdDSA``, limited to Ed25519 keys.

    joserfc's own warns on every use (RFC 9864 deprecates the name) and also takes Ed448.
    The contract accepts ``EdDSA`` from originators, whose keys are all Ed25519, so this one
    does exactly what ``Ed25519`` does, silently.
    """

    name = "EdDSA"
    description = "EdDSA with an Ed25519 key"
    key_type = "OKP"

    def check_key(self, key: Any) -> None:
        _ED25519.check_key(key)

    def sign(self, msg: bytes, key: Any) -> bytes:
        return _ED25519.sign(msg, key)

    def verify(self, msg: bytes, sig: bytes, key: Any) -> bool:
        return _ED25519.verify(msg, sig, key)


class _Ed25519Registry(JWSRegistry):
    # A table of its own: nothing registered globally in joserfc can widen the allow-list.
    algorithms: dict[str, JWSAlgModel] = {  # noqa: RUF012 (joserfc's class-level table)
        SIGNING_ALG: _ED25519,
        "EdDSA": _EdDSAForEd25519(),
    }
    recommended: list[str] = []  # noqa: RUF012


_JWS_REGISTRY = _Ed25519Registry(algorithms=JWS_ALGORITHMS)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"JSON constant {name} is not allowed")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError("duplicate JSON member name")
        result[name] = value
    return result


def strict_json_loads(data: bytes) -> Any:
    """Parse UTF-8 JSON; raises ValueError on bad UTF-8, duplicate member names, NaN or
    Infinity, or nesting too deep for the parser."""
    try:
        return json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_unique_members,
            parse_constant=_reject_constant,
        )
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; raises ValueError (or TypeError) for what JSON cannot hold."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _json_object(segment: str) -> dict[str, Any]:
    value = strict_json_loads(b64url_decode(segment))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def decode_jws(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decode a compact JWS's header and JSON-object payload without verifying anything.

    Raises ValueError unless it is three non-empty base64url segments whose first two are
    strict JSON objects.
    """
    parts = token.split(".")
    if len(parts) != 3 or not all(_SEGMENT.fullmatch(p) for p in parts):
        raise ValueError("not a compact JWS")
    return _json_object(parts[0]), _json_object(parts[1])


@functools.lru_cache(maxsize=1024)
def _okp(
    key: SigningPrivateKey | SigningPublicKey | EncryptionPrivateKey | EncryptionPublicKey,
) -> OKPKey:
    # Cached: the broker's key-binding key signs every item served, and importing it again
    # each time was 6-7 % of a poll. Keys are frozen values, so the cache cannot go stale.
    jwk: dict[str, str | list[str]] = dict(key.to_jwk())  # joserfc's JWK dict type
    return OKPKey.import_key(jwk)


def sign_jws(key: SigningPrivateKey, typ: str, claims: Mapping[str, Any]) -> str:
    """A compact JWS of ``claims`` with header {"alg":"Ed25519","typ":typ,"kid":key.kid}."""
    header = {"alg": SIGNING_ALG, "typ": typ, "kid": key.kid}
    return jws.serialize_compact(header, dump_json(dict(claims)), _okp(key), registry=_JWS_REGISTRY)


def verify_jws(
    token: str, key: SigningPublicKey, typ: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS of this profile and return its (header, claims).

    Promises: alg is Ed25519 or EdDSA (never none, never a MAC), the header is exactly
    alg/typ/kid, ``typ`` is ``typ``, ``kid`` is ``key.kid`` and the signature verifies.
    Raises ValueError if the token is malformed, JwsRejected for everything else.
    """
    header, claims = decode_jws(token)
    if header.get("alg") not in JWS_ALGORITHMS:
        raise JwsRejected("alg is not Ed25519 or EdDSA")
    if set(header) != _JWS_HEADER:
        raise JwsRejected("the header must have exactly alg, typ and kid")
    if header["typ"] != typ:
        raise JwsRejected(f"typ must be {typ!r}")
    if header["kid"] != key.kid:
        raise JwsRejected("kid does not name the expected key")
    try:
        jws.deserialize_compact(token, _okp(key), registry=_JWS_REGISTRY)
    except (JoseError, ValueError, TypeError, KeyError):
        raise JwsRejected("the signature does not verify") from None
    return header, claims


def seal_for(
    recipient: EncryptionPublicKey, plaintext: bytes, *, content_type: str | None = None
) -> str:
    """Encrypt ``plaintext`` to ``recipient`` alone: JWE compact, ECDH-ES + A256GCM, header
    ``kid`` = ``recipient.kid``, optional ``cty``, never ``zip`` (compressing before
    encrypting leaks content through length). Raises ValueError beyond
    MAX_ENVELOPE_PLAINTEXT, which :func:`open_envelope` would refuse.
    """
    if len(plaintext) > MAX_ENVELOPE_PLAINTEXT:
        raise ValueError("plaintext too large for an envelope")
    header: dict[str, Any] = {"alg": JWE_ALG, "enc": JWE_ENC, "kid": recipient.kid}
    if content_type is not None:
        header["cty"] = content_type
    registry = JWERegistry(algorithms=[JWE_ALG, JWE_ENC])
    return jwe.encrypt_compact(header, plaintext, _okp(recipient), registry=registry)


def _envelope_header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 5 or not _SEGMENT.fullmatch(parts[0]) or parts[1]:
        # ECDH-ES in direct mode has an empty encrypted-key segment (RFC 7518 §4.6).
        raise InvalidEnvelope("not a compact ECDH-ES JWE")
    if not all(_OPTIONAL_SEGMENT.fullmatch(p) for p in parts[2:]):
        raise InvalidEnvelope("not a compact ECDH-ES JWE")
    try:
        return _json_object(parts[0])
    except ValueError:
        raise InvalidEnvelope("the protected header is not a JSON object") from None


def open_envelope(
    private: EncryptionPrivateKey, token: str, *, max_plaintext: int = MAX_ENVELOPE_PLAINTEXT
) -> bytes:
    """Decrypt a feed envelope made for ``private`` and return the plaintext.

    Promises: alg is exactly ECDH-ES and enc exactly A256GCM, there is no ``zip`` (nor any
    header member outside the profile), ``kid`` is ``private.kid``, the ciphertext is at
    most ``max_plaintext`` bytes, and it decrypts and authenticates. Raises InvalidEnvelope.
    """
    if not isinstance(token, str) or not token.isascii():
        raise InvalidEnvelope("not a compact ECDH-ES JWE")
    header = _envelope_header(token)
    if "zip" in header:
        raise InvalidEnvelope("compressed envelopes are refused")
    if header.get("alg") != JWE_ALG or header.get("enc") != JWE_ENC:
        raise InvalidEnvelope("alg must be ECDH-ES and enc A256GCM")
    if not set(header) <= _JWE_HEADER or not isinstance(header.get("epk"), dict):
        raise InvalidEnvelope("the header holds members outside the profile")
    if header.get("kid") != private.kid:
        raise InvalidEnvelope("kid does not name this key")
    registry = JWERegistry(algorithms=[JWE_ALG, JWE_ENC])
    # joserfc bounds the base64url segment; ceil(4n/3) characters encode exactly n bytes.
    registry.max_ciphertext_length = -(-4 * max_plaintext // 3)
    try:
        opened = jwe.decrypt_compact(token, _okp(private), registry=registry)
    except (JoseError, ValueError, TypeError, KeyError, AssertionError):
        # The input is the peer's: whatever joserfc trips on (it asserts on header shapes),
        # the answer is the one error, never a crash.
        raise InvalidEnvelope("the envelope does not decrypt") from None
    if opened.plaintext is None:  # pragma: no cover - joserfc sets it or raises
        raise InvalidEnvelope("the envelope does not decrypt")
    return opened.plaintext


def sign_notice(kb_key: SigningPrivateKey, claims: dict[str, Any]) -> str:
    """A withdrawal/expiry notice: JWS compact, header {"alg":"Ed25519",
    "typ":"liaison-notice+jwt","kid":kb_key.kid}. ``claims`` must hold a string ``aud``
    (the partner); raises ValueError otherwise."""
    if not isinstance(claims, dict) or not isinstance(claims.get("aud"), str):
        raise ValueError("a notice needs a string aud")
    return sign_jws(kb_key, NOTICE_TYP, claims)


def verify_notice(token: str, kb_key: SigningPublicKey, audience: str) -> dict[str, Any]:
    """Verify a notice from the broker and return its claims.

    Promises the JWS profile of :func:`verify_jws` with typ liaison-notice+jwt and the
    broker's ``kb_key``, and ``aud`` = ``audience``. Raises InvalidNotice.
    """
    try:
        _, claims = verify_jws(token, kb_key, NOTICE_TYP)
    except ValueError:
        raise InvalidNotice("not a compact JWS") from None
    except JwsRejected as exc:
        raise InvalidNotice(str(exc)) from None
    if claims.get("aud") != audience:
        raise InvalidNotice("the notice is for another audience")
    return claims
