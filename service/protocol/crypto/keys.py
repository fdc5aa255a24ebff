"""Ed25519 signing keys and X25519 encryption keys, as raw bytes and as OKP JWKs (RFC 8037)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from service.protocol.crypto.encoding import b64url_decode, b64url_encode
from service.protocol.crypto.errors import KeyFormatError, VerificationError

_RAW_KEY_LENGTH = 32


def jwk_thumbprint(crv: str, x: str) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url) of an OKP public key."""
    canonical = json.dumps(
        {"crv": crv, "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True
    )
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())


def _okp_member(jwk: dict[str, Any], crv: str, member: str) -> bytes:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != crv:
        raise KeyFormatError(f"expected an OKP JWK on curve {crv}")
    value = jwk.get(member)
    if not isinstance(value, str):
        raise KeyFormatError(f"JWK member {member!r} is missing")
    try:
        raw = b64url_decode(value)
    except ValueError:
        raise KeyFormatError(f"JWK member {member!r} is not base64url") from None
    if len(raw) != _RAW_KEY_LENGTH:
        raise KeyFormatError(f"JWK member {member!r} has the wrong length")
    return raw


def _kid_of(jwk: dict[str, Any], crv: str, x: str) -> str:
    kid = jwk.get("kid")
    if kid is None:
        return jwk_thumbprint(crv, x)
    if not isinstance(kid, str) or not kid or len(kid) > 128:
        raise KeyFormatError("JWK kid must be a non-empty string of at most 128 characters")
    return kid


@dataclass(frozen=True)
class SigningPublicKey:
    """An Ed25519 public key with its key id."""

    raw: bytes
    kid: str

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> SigningPublicKey:
        """Parse a public Ed25519 JWK; raises KeyFormatError."""
        raw = _okp_member(jwk, "Ed25519", "x")
        return cls(raw=raw, kid=_kid_of(jwk, "Ed25519", b64url_encode(raw)))

    def to_jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(self.raw), "kid": self.kid}

    def verify(self, signature: bytes, message: bytes) -> None:
        """Return if ``signature`` is valid for ``message``; raise VerificationError otherwise."""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except (InvalidSignature, ValueError):
            raise VerificationError from None


@dataclass(frozen=True)
class SigningPrivateKey:
    """An Ed25519 private key with its key id. Never logged, never sent."""

    seed: bytes = field(repr=False)
    kid: str

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningPrivateKey:
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        if kid is None:
            public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
            kid = jwk_thumbprint("Ed25519", b64url_encode(public))
        return cls(seed=seed, kid=kid)

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> SigningPrivateKey:
        """Parse a private Ed25519 JWK (with ``d``); raises KeyFormatError."""
        seed = _okp_member(jwk, "Ed25519", "d")
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        if "x" in jwk and _okp_member(jwk, "Ed25519", "x") != public:
            raise KeyFormatError("JWK members x and d do not belong together")
        return cls(seed=seed, kid=_kid_of(jwk, "Ed25519", b64url_encode(public)))

    @property
    def public(self) -> SigningPublicKey:
        raw = Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes_raw()
        return SigningPublicKey(raw=raw, kid=self.kid)

    def to_jwk(self) -> dict[str, str]:
        return {**self.public.to_jwk(), "d": b64url_encode(self.seed)}

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)

    def unsafe_cryptography_key(self) -> Ed25519PrivateKey:
        """The hazmat key object, for libraries that take one (HTTP message signing)."""
        return Ed25519PrivateKey.from_private_bytes(self.seed)


@dataclass(frozen=True)
class EncryptionPublicKey:
    """An X25519 public key with its key id."""

    raw: bytes
    kid: str

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> EncryptionPublicKey:
        """Parse a public X25519 JWK; raises KeyFormatError."""
        raw = _okp_member(jwk, "X25519", "x")
        return cls(raw=raw, kid=_kid_of(jwk, "X25519", b64url_encode(raw)))

    def to_jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "X25519", "x": b64url_encode(self.raw), "kid": self.kid}


@dataclass(frozen=True)
class EncryptionPrivateKey:
    """An X25519 private key with its key id."""

    secret: bytes = field(repr=False)
    kid: str

    @classmethod
    def generate(cls, kid: str | None = None) -> EncryptionPrivateKey:
        secret = X25519PrivateKey.generate().private_bytes_raw()
        if kid is None:
            public = X25519PrivateKey.from_private_bytes(secret).public_key()
            raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
            kid = jwk_thumbprint("X25519", b64url_encode(raw))
        return cls(secret=secret, kid=kid)

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> EncryptionPrivateKey:
        """Parse a private X25519 JWK (with ``d``); raises KeyFormatError."""
        secret = _okp_member(jwk, "X25519", "d")
        public = X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()
        if "x" in jwk and _okp_member(jwk, "X25519", "x") != public:
            raise KeyFormatError("JWK members x and d do not belong together")
        return cls(secret=secret, kid=_kid_of(jwk, "X25519", b64url_encode(public)))

    @property
    def public(self) -> EncryptionPublicKey:
        raw = X25519PrivateKey.from_private_bytes(self.secret).public_key().public_bytes_raw()
        return EncryptionPublicKey(raw=raw, kid=self.kid)

    def to_jwk(self) -> dict[str, str]:
        return {**self.public.to_jwk(), "d": b64url_encode(self.secret)}


def unsafe_public_key_object(key: SigningPublicKey) -> Ed25519PublicKey:
    """The hazmat public key object, for libraries that take one (HTTP message signatures)."""
    return Ed25519PublicKey.from_public_bytes(key.raw)


__all__ = [
    "EncryptionPrivateKey",
    "EncryptionPublicKey",
    "SigningPrivateKey",
    "SigningPublicKey",
    "jwk_thumbprint",
    "unsafe_public_key_object",
]
