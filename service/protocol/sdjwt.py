"""Alerts as SD-JWTs (RFC 9901): build, parse, verify, present with key binding, verify that.

The profile (API "Submitting an alert", "Partner feed") is narrower than the RFC, on purpose:

- compact serialization only; every JWS header is exactly ``alg``/``typ``/``kid``, ``alg``
  ``Ed25519`` (RFC 9864) or its deprecated synonym ``EdDSA`` and nothing else;
- flat: each content claim is one top-level disclosure. Digests live only in the top-level
  ``_sd``; a nested ``_sd`` or an array-element ``{"...": digest}`` anywhere is refused, so
  every RFC 9901 verifier computes the same processed payload as this one;
- ``_sd_alg`` is required and is ``sha-256``; decoy digests are allowed and counted.

Unparseable input raises :class:`MalformedSdJwt` (a ``ValueError``); input that parses but
fails any check raises :class:`InvalidSdJwt` (a ``VerificationError``) with a short message
that names the failed check and never echoes claim values.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.protocol.claims import (
    ALERT_TYP,
    KB_JWT_TYP,
    SD_ALG,
    SD_MECHANISM_NAMES,
    embeds_digests,
    is_reserved_content_name,
)
from service.protocol.crypto import (
    SigningPrivateKey,
    SigningPublicKey,
    VerificationError,
    b64url_decode,
    b64url_encode,
)
from service.protocol.envelope import (
    JwsRejected,
    decode_jws,
    dump_json,
    sign_jws,
    strict_json_loads,
    verify_jws,
)

SALT_BYTES = 16
# RFC 9901 §9.3 recommends 128 bits of salt: 22 base64url characters. A shorter salt would
# let a partner brute-force a redacted value from its digest, breaking what redaction promises.
MIN_SALT_LENGTH = 22
_DIGEST = re.compile(r"[A-Za-z0-9_-]{43}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_KB_CLAIMS = frozenset({"iat", "aud", "nonce", "sd_hash"})


class MalformedSdJwt(ValueError):
    """The text is not an SD-JWT in compact serialization (the API answers 400)."""


class InvalidSdJwt(VerificationError):
    """An SD-JWT or presentation parsed but failed verification (the API answers 422).

    The message names the failed check ("disclosure 2 is not listed in _sd") and is safe to
    show to the submitter: it never contains claim values.
    """


@dataclass(frozen=True)
class Disclosure:
    """One verified disclosure: the exact encoded string (digests are over it), and its parts."""

    encoded: str
    digest: str
    salt: str
    name: str
    value: Any


@dataclass(frozen=True)
class UnverifiedSdJwt:
    """A syntactically valid SD-JWT or SD-JWT+KB. Nothing in it is verified.

    ``header`` and ``unverified_claims`` are decoded so that a caller can find the issuer's
    key (by ``kid`` and ``iss``) before verifying; the verifiers decode them again.
    """

    issuer_jws: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None
    header: dict[str, Any]
    unverified_claims: dict[str, Any]


_PROOF = object()


@dataclass(frozen=True)
class VerifiedAlert:
    """An alert whose issuer signature and disclosures verified. Only :func:`verify_alert`
    makes one. Its claims (time, issuer, audience) are not checked here."""

    header: dict[str, Any]
    claims: dict[str, Any]  # the clear claims, without _sd and _sd_alg
    issuer_jws: str
    disclosures: dict[str, Disclosure]  # by claim name, in submission order
    digests: tuple[str, ...]  # the signed _sd array
    _proof: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._proof is not _PROOF:
            raise TypeError("only verify_alert makes a VerifiedAlert")

    @property
    def content(self) -> dict[str, Any]:
        """The disclosed content claims by name."""
        return {name: d.value for name, d in self.disclosures.items()}

    @property
    def undisclosed_count(self) -> int:
        """Digests in ``_sd`` without a disclosure (decoys, or content withheld from us)."""
        return len(self.digests) - len(self.disclosures)

    def serialize(self) -> str:
        """The SD-JWT again, ``<JWS>~<disclosure>~…~``, byte for byte as submitted."""
        return _sd_jwt_text(self.issuer_jws, [d.encoded for d in self.disclosures.values()])


@dataclass(frozen=True)
class VerifiedPresentation:
    """A partner's view of a verified SD-JWT+KB. Only :func:`verify_presentation` makes one."""

    header: dict[str, Any]
    claims: dict[str, Any]  # the clear claims, without _sd and _sd_alg
    issuer_jws: str
    disclosures: dict[str, Disclosure]
    undisclosed_count: int  # claims redacted for this partner, plus any decoys
    kb_claims: dict[str, Any]  # iat, aud, nonce, sd_hash
    _proof: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._proof is not _PROOF:
            raise TypeError("only verify_presentation makes a VerifiedPresentation")

    @property
    def disclosed(self) -> dict[str, Any]:
        """The content claims this partner may see, by name."""
        return {name: d.value for name, d in self.disclosures.items()}


def disclosure_digest(encoded: str) -> str:
    """base64url(SHA-256(ASCII(disclosure))) — RFC 9901 §4.2.3: over the encoded string."""
    return b64url_encode(hashlib.sha256(encoded.encode("ascii")).digest())


def sd_hash(issuer_jws: str, disclosures: Collection[str]) -> str:
    """The KB-JWT ``sd_hash`` of RFC 9901 §4.3.1, over ``<JWS>~<d1>~…~<dN>~``."""
    return disclosure_digest(_sd_jwt_text(issuer_jws, disclosures))


def _sd_jwt_text(issuer_jws: str, disclosures: Collection[str]) -> str:
    return issuer_jws + "~" + "".join(d + "~" for d in disclosures)


def build_alert(
    clear_claims: dict[str, Any],
    content: dict[str, Any],
    key: SigningPrivateKey,
    *,
    random: Callable[[int], bytes] = os.urandom,
    decoys: int = 0,
) -> str:
    """Sign an alert as an SD-JWT ``<JWS>~<disclosure>~…~`` (no key-binding JWT).

    Every ``content`` claim becomes one disclosure with a fresh 128-bit salt from ``random``;
    ``_sd`` holds their digests (plus ``decoys`` random ones) sorted, so neither it nor the
    disclosure order reveals the original order. Raises TypeError for non-dict input and
    ValueError for a reserved name, a content name that is also a clear claim, or a value that
    is not JSON or that embeds ``_sd``/``...`` (this profile is flat).
    """
    if not isinstance(clear_claims, dict) or not isinstance(content, dict):
        raise TypeError("clear claims and content must be dicts")
    for name in clear_claims:
        if not isinstance(name, str) or name in SD_MECHANISM_NAMES:
            raise ValueError(f"clear claim name {name!r} is reserved")
    if embeds_digests(clear_claims):
        raise ValueError("clear claims must not embed _sd or ... members")
    made: list[Disclosure] = []
    for name, value in content.items():
        if not isinstance(name, str) or not name or is_reserved_content_name(name):
            raise ValueError(f"content claim name {name!r} is reserved")
        if name in clear_claims:
            raise ValueError(f"content claim {name!r} is also a clear claim")
        if embeds_digests(value):
            raise ValueError(f"content claim {name!r} must not embed _sd or ... members")
        salt_bytes = random(SALT_BYTES)
        if len(salt_bytes) != SALT_BYTES:
            raise ValueError("random must return the number of bytes asked for")
        salt = b64url_encode(salt_bytes)
        try:
            encoded = b64url_encode(dump_json([salt, name, value]))
        except (TypeError, ValueError):
            raise ValueError(f"content claim {name!r} is not JSON") from None
        made.append(Disclosure(encoded, disclosure_digest(encoded), salt, name, value))
    if decoys < 0:
        raise ValueError("decoys must not be negative")
    # RFC 9901 §4.2.5: a decoy is the digest of a random value, indistinguishable from a real one.
    fake = [disclosure_digest(b64url_encode(random(SALT_BYTES))) for _ in range(decoys)]
    made.sort(key=lambda d: d.digest)
    payload = {**clear_claims, "_sd": sorted([d.digest for d in made] + fake), "_sd_alg": SD_ALG}
    issuer_jws = sign_jws(key, ALERT_TYP, payload)
    return _sd_jwt_text(issuer_jws, [d.encoded for d in made])


def parse_sd_jwt(text: str) -> UnverifiedSdJwt:
    """Split and decode an SD-JWT or SD-JWT+KB (RFC 9901 §4, ABNF) without verifying it.

    Checks the syntax only: ASCII, ``<JWT>~(<disclosure>~)*[<KB-JWT>]``, each JWT's header
    and payload base64url JSON objects, each disclosure base64url JSON. JSON with duplicate
    member names or NaN/Infinity is malformed. Raises MalformedSdJwt.
    """
    if not isinstance(text, str) or not text.isascii():
        raise MalformedSdJwt("an SD-JWT is an ASCII string")
    parts = text.split("~")
    if len(parts) < 2:
        raise MalformedSdJwt("an SD-JWT has at least one '~'")
    issuer_jws, *disclosures, last = parts
    try:
        header, claims = decode_jws(issuer_jws)
    except ValueError:
        raise MalformedSdJwt("the issuer-signed JWT is malformed") from None
    for index, encoded in enumerate(disclosures, start=1):
        try:
            if not _B64URL.fullmatch(encoded):
                raise ValueError
            strict_json_loads(b64url_decode(encoded))
        except ValueError:
            raise MalformedSdJwt(f"disclosure {index} is not base64url-encoded JSON") from None
    if last:
        try:
            decode_jws(last)
        except ValueError:
            raise MalformedSdJwt("the key-binding JWT is malformed") from None
    return UnverifiedSdJwt(issuer_jws, tuple(disclosures), last or None, header, claims)


def _process(
    payload: dict[str, Any], encoded_disclosures: Collection[str]
) -> tuple[dict[str, Any], tuple[str, ...], dict[str, Disclosure]]:
    """RFC 9901 §7.1 steps 2.4-5 for this flat profile: (clear claims, digests, disclosures)."""
    # 2.4: the hash algorithm must be understood and allowed.
    if payload.get("_sd_alg") != SD_ALG:
        raise InvalidSdJwt("_sd_alg must be 'sha-256'")
    digests = payload.get("_sd", [])
    if not isinstance(digests, list) or not all(
        isinstance(d, str) and _DIGEST.fullmatch(d) for d in digests
    ):
        raise InvalidSdJwt("_sd must be a list of SHA-256 digests")
    # 4: a digest may appear only once (decoys included).
    if len(set(digests)) != len(digests):
        raise InvalidSdJwt("_sd lists a digest twice")
    clear = {name: value for name, value in payload.items() if name not in ("_sd", "_sd_alg")}
    if embeds_digests(clear):
        raise InvalidSdJwt("digests may appear only in the top-level _sd")
    listed = set(digests)
    first_index: dict[str, int] = {}
    names: dict[str, int] = {}
    result: dict[str, Disclosure] = {}
    for index, encoded in enumerate(encoded_disclosures, start=1):
        # 3.1, 3.3.1: match by digest over the encoded string; 5: none may go unreferenced.
        digest = disclosure_digest(encoded)
        if digest in first_index:
            raise InvalidSdJwt(f"disclosure {index} repeats disclosure {first_index[digest]}")
        if digest not in listed:
            raise InvalidSdJwt(f"disclosure {index} is not listed in _sd")
        first_index[digest] = index
        try:
            decoded = strict_json_loads(b64url_decode(encoded))
        except ValueError:
            raise InvalidSdJwt(f"disclosure {index} is not base64url-encoded JSON") from None
        # 3.3.2.1: an object-property disclosure is [salt, name, value].
        if not isinstance(decoded, list) or len(decoded) != 3:
            raise InvalidSdJwt(f"disclosure {index} is not a [salt, name, value] array")
        salt, name, value = decoded
        if not isinstance(salt, str) or len(salt) < MIN_SALT_LENGTH:
            raise InvalidSdJwt(f"disclosure {index} has a salt shorter than 128 bits")
        if not isinstance(name, str) or not name:
            raise InvalidSdJwt(f"disclosure {index} has no claim name")
        # 3.3.2.2 (_sd, ...) and this profile's reserved names (RFC 9901 §9.7).
        if is_reserved_content_name(name):
            raise InvalidSdJwt(f"disclosure {index} uses a reserved claim name")
        # 3.3.2.3: a disclosed name must not already exist at its level.
        if name in clear:
            raise InvalidSdJwt(f"disclosure {index} repeats a clear claim")
        if name in names:
            raise InvalidSdJwt(
                f"disclosure {index} repeats the claim name of disclosure {names[name]}"
            )
        if embeds_digests(value):
            raise InvalidSdJwt(f"disclosure {index} embeds digests; only flat SD-JWTs are accepted")
        names[name] = index
        result[name] = Disclosure(encoded, digest, salt, name, value)
    return clear, tuple(digests), result


def unverified_content(unverified: UnverifiedSdJwt) -> tuple[dict[str, Any], list[str]] | None:
    """The clear claims and the disclosed claim names that ``verify_alert`` will find if the
    signature verifies; None if the disclosures would not verify anyway.

    Nothing here is verified: for work done ahead of verification whose result is used only
    if the verified alert turns out to have exactly these claims.
    """
    try:
        clear, _, disclosures = _process(unverified.unverified_claims, unverified.disclosures)
    except (InvalidSdJwt, MalformedSdJwt):
        return None
    return clear, list(disclosures)


def _verify_issuer_part(
    unverified: UnverifiedSdJwt, issuer_key: SigningPublicKey
) -> tuple[dict[str, Any], dict[str, Any], tuple[str, ...], dict[str, Disclosure]]:
    """RFC 9901 §7.1: the issuer-signed JWT (step 2) and the disclosures (steps 3-5)."""
    try:
        # 2.1-2.2: allowed alg (never none), explicit typ, the expected key, the signature.
        header, payload = verify_jws(unverified.issuer_jws, issuer_key, ALERT_TYP)
    except ValueError:
        raise MalformedSdJwt("the issuer-signed JWT is malformed") from None
    except JwsRejected as exc:
        raise InvalidSdJwt(f"issuer-signed JWT: {exc}") from None
    clear, digests, disclosures = _process(payload, unverified.disclosures)
    return header, clear, digests, disclosures


def verify_alert(unverified: UnverifiedSdJwt, issuer_key: SigningPublicKey) -> VerifiedAlert:
    """Verify a submitted alert against its originator's key (RFC 9901 §7.1, §7.2).

    Promises: the header is this profile's (alg Ed25519/EdDSA, typ liaison-alert+sd-jwt, kid
    = ``issuer_key.kid``), the signature verifies, ``_sd_alg`` is sha-256, and every
    disclosure is a [salt, name, value] listed exactly once in ``_sd``, with a distinct,
    unreserved name that is not a clear claim. Claims (exp, iss, audience…) are not checked.
    Raises InvalidSdJwt, including for a key-binding JWT (an issued SD-JWT has none).
    """
    if unverified.kb_jwt is not None:
        raise InvalidSdJwt("a submitted alert must not carry a key-binding JWT")
    header, clear, digests, disclosures = _verify_issuer_part(unverified, issuer_key)
    return VerifiedAlert(header, clear, unverified.issuer_jws, disclosures, digests, _PROOF)


def check_key_binding(claims: Mapping[str, Any], kb_key: SigningPublicKey) -> None:
    """Check that ``cnf.jwk`` (RFC 7800 §3.2) holds ``kb_key``; raises InvalidSdJwt otherwise.

    Only the key material counts: a ``kid`` in the JWK is informational.
    """
    cnf = claims.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise InvalidSdJwt("cnf.jwk is missing")
    try:
        bound = SigningPublicKey.from_jwk(jwk)
    except ValueError:
        raise InvalidSdJwt("cnf.jwk is not an Ed25519 public key") from None
    if bound.raw != kb_key.raw:
        raise InvalidSdJwt("cnf.jwk is not the broker's key-binding key")


def present(
    alert: VerifiedAlert | UnverifiedSdJwt,
    disclose: Collection[str],
    kb_key: SigningPrivateKey,
    audience: str,
    nonce: str,
    issued_at: int,
) -> str:
    """An SD-JWT+KB ``<JWS>~<selected disclosures>~<KB-JWT>`` (RFC 9901 §7.2).

    The KB-JWT header is {"alg":"Ed25519","typ":"kb+jwt","kid":kb_key.kid}; its claims are
    ``iat``, ``aud``, ``nonce`` and ``sd_hash``. An ``UnverifiedSdJwt`` (an alert stored at
    submission, when it was verified) has its disclosures checked again, not its signature:
    the partner verifies that. Raises ValueError if ``disclose`` names a claim the alert does
    not disclose, InvalidSdJwt if the alert is not bound (``cnf``) to ``kb_key``, and
    MalformedSdJwt for a malformed stored alert.
    """
    issuer_jws = alert.issuer_jws
    if isinstance(alert, VerifiedAlert):
        claims, disclosures = alert.claims, alert.disclosures
    else:
        try:
            _, payload = decode_jws(issuer_jws)
        except ValueError:
            raise MalformedSdJwt("the issuer-signed JWT is malformed") from None
        claims, _, disclosures = _process(payload, alert.disclosures)
    unknown = set(disclose) - set(disclosures)
    if unknown:
        raise ValueError(f"no disclosure for {sorted(unknown)!r}")
    if not isinstance(audience, str) or not audience or not isinstance(nonce, str):
        raise ValueError("audience must be a non-empty string and nonce a string")
    if isinstance(issued_at, bool) or not isinstance(issued_at, int):
        raise ValueError("issued_at must be an integer")
    check_key_binding(claims, kb_key.public)
    selected = [d.encoded for name, d in disclosures.items() if name in disclose]
    kb = {
        "iat": issued_at,
        "aud": audience,
        "nonce": nonce,
        "sd_hash": sd_hash(issuer_jws, selected),
    }
    return _sd_jwt_text(issuer_jws, selected) + sign_jws(kb_key, KB_JWT_TYP, kb)


def verify_presentation(
    presentation: str | UnverifiedSdJwt,
    issuer_key: SigningPublicKey,
    kb_key: SigningPublicKey,
    audience: str,
    nonce: str,
    *,
    now: int,
    max_age: int | None = None,
    clock_skew: int = 60,
) -> VerifiedPresentation:
    """Verify a feed item's SD-JWT+KB as a partner (RFC 9901 §7.3, key binding required).

    Promises everything :func:`verify_alert` does, plus: ``cnf.jwk`` is ``kb_key``; the
    KB-JWT has typ kb+jwt, alg Ed25519/EdDSA, kid ``kb_key.kid``, a valid signature, exactly
    the claims iat/aud/nonce/sd_hash, ``aud`` = ``audience``, ``nonce`` = ``nonce`` and
    ``sd_hash`` over exactly the presented disclosures; ``iat`` is not after ``now`` +
    ``clock_skew``. Freshness: items are polled long after they are made, so there is no
    age limit unless ``max_age`` is given; replay is stopped by ``aud`` (the partner),
    ``nonce`` (the item's cursor) and the envelope being encrypted to the partner.
    Raises MalformedSdJwt or InvalidSdJwt.
    """
    unverified = (
        presentation if isinstance(presentation, UnverifiedSdJwt) else parse_sd_jwt(presentation)
    )
    # 7.3 steps 1-2: key binding is required by policy, not by what was sent.
    if unverified.kb_jwt is None:
        raise InvalidSdJwt("the presentation has no key-binding JWT")
    header, clear, digests, disclosures = _verify_issuer_part(unverified, issuer_key)
    # 5.1: the holder key is the one the issuer bound, and it is the broker's.
    check_key_binding(clear, kb_key)
    try:
        # 5.2-5.4: allowed alg, signature, typ kb+jwt.
        _, kb_claims = verify_jws(unverified.kb_jwt, kb_key, KB_JWT_TYP)
    except ValueError:
        raise MalformedSdJwt("the key-binding JWT is malformed") from None
    except JwsRejected as exc:
        raise InvalidSdJwt(f"key-binding JWT: {exc}") from None
    if set(kb_claims) != _KB_CLAIMS:
        raise InvalidSdJwt("key-binding JWT claims must be exactly iat, aud, nonce, sd_hash")
    iat = kb_claims["iat"]
    # 5.5: the creation time is within the window this verifier accepts.
    if isinstance(iat, bool) or not isinstance(iat, int):
        raise InvalidSdJwt("key-binding JWT iat is not an integer")
    if iat > now + clock_skew:
        raise InvalidSdJwt("key-binding JWT is issued in the future")
    if max_age is not None and now - iat > max_age:
        raise InvalidSdJwt("key-binding JWT is too old")
    # 5.6: bound to this transaction and this verifier.
    if kb_claims["aud"] != audience:
        raise InvalidSdJwt("key-binding JWT is for another audience")
    if kb_claims["nonce"] != nonce:
        raise InvalidSdJwt("key-binding JWT nonce does not match")
    # 5.7: bound to exactly these disclosures.
    if kb_claims["sd_hash"] != sd_hash(unverified.issuer_jws, unverified.disclosures):
        raise InvalidSdJwt("key-binding JWT sd_hash does not match the presented SD-JWT")
    hidden = len(digests) - len(disclosures)
    jws = unverified.issuer_jws
    return VerifiedPresentation(header, clear, jws, disclosures, hidden, kb_claims, _PROOF)
