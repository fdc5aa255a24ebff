"""An independent, deliberately plain reference of RFC 9901 verification, for tests only.

Written from the RFC's text (§4.2.3 hashing disclosures, §4.3.1 sd_hash, §7.1 verifying an
SD-JWT, §7.3 verifying an SD-JWT+KB), with hashlib, json, base64 and ``cryptography``'s
Ed25519 only. It shares no code with ``service.alerts`` so the two can check each other, and
it implements the general algorithm (nested ``_sd``, array elements, recursion), not just
Liaison's flat profile. Every failure raises :class:`Rejected` with the RFC step.
"""

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNATURE_ALGS = ("Ed25519", "EdDSA")


class Rejected(Exception):
    """The SD-JWT or SD-JWT+KB is not valid; the message names the RFC step."""


def b64url_decode(text: str) -> bytes:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def digest(disclosure: str) -> str:
    """§4.2.3: SHA-256 over the US-ASCII bytes of the base64url Disclosure, base64url-encoded."""
    return b64url_encode(hashlib.sha256(disclosure.encode("ascii")).digest())


def sd_hash(issuer_jwt: str, disclosures: list[str]) -> str:
    """§4.3.1: the digest of ``<Issuer-signed JWT>~<D1>~...~<DN>~``."""
    text = issuer_jwt + "~" + "".join(d + "~" for d in disclosures)
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


def split(presentation: str) -> tuple[str, list[str], str]:
    """§4: (Issuer-signed JWT, Disclosures, KB-JWT or "")."""
    parts = presentation.split("~")
    if len(parts) < 2:
        raise Rejected("§4: no tilde")
    return parts[0], parts[1:-1], parts[-1]


def verify_jws(jwt: str, public_key: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """RFC 7515 §5.2 for an Ed25519 compact JWS: (header, payload)."""
    header_b64, payload_b64, signature_b64 = jwt.split(".")
    header = json.loads(b64url_decode(header_b64))
    if header.get("alg") not in SIGNATURE_ALGS:
        raise Rejected("§7.1 2.1: signing algorithm not deemed secure")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            b64url_decode(signature_b64), f"{header_b64}.{payload_b64}".encode("ascii")
        )
    except InvalidSignature:
        raise Rejected("§7.1 2.2: signature invalid") from None
    return header, json.loads(b64url_decode(payload_b64))


def _claim(d: str, by_digest: dict[str, list[Any]], seen: set[str], used: set[str]) -> Any:
    """§7.1 3.3.1: the Disclosure contents for embedded digest ``d``, or None (ignored)."""
    if d in seen:
        raise Rejected("§7.1 4: digest encountered more than once")
    seen.add(d)
    if d not in by_digest:
        return None
    used.add(d)
    return by_digest[d]


def _process(node: Any, by_digest: dict[str, list[Any]], seen: set[str], used: set[str]) -> Any:
    """§7.1 step 3, (*) and (**), recursively over objects and arrays."""
    if isinstance(node, list):
        out = []
        for element in node:
            if isinstance(element, dict) and list(element) == ["..."]:
                contents = _claim(element["..."], by_digest, seen, used)
                if contents is None:
                    continue  # 3.4: removed
                if len(contents) != 2:
                    raise Rejected("§7.1 3.3.3.1: not [salt, value]")
                out.append(_process(contents[1], by_digest, seen, used))
            else:
                out.append(_process(element, by_digest, seen, used))
        return out
    if not isinstance(node, dict):
        return node
    result = {k: _process(v, by_digest, seen, used) for k, v in node.items() if k != "_sd"}
    for d in node.get("_sd", []):
        contents = _claim(d, by_digest, seen, used)
        if contents is None:
            continue
        if len(contents) != 3:
            raise Rejected("§7.1 3.3.2.1: not [salt, name, value]")
        _, name, value = contents
        if name in ("_sd", "..."):
            raise Rejected("§7.1 3.3.2.2: reserved claim name")
        if name in result:
            raise Rejected("§7.1 3.3.2.3: claim name already exists")
        result[name] = _process(value, by_digest, seen, used)
    return result


def verify_sd_jwt(
    issuer_jwt: str, disclosures: list[str], issuer_key: bytes
) -> tuple[dict[str, Any], dict[str, Any]]:
    """§7.1: the (header, Processed SD-JWT Payload) of an SD-JWT; raises Rejected."""
    header, payload = verify_jws(issuer_jwt, issuer_key)
    if payload.get("_sd_alg", "sha-256") != "sha-256":
        raise Rejected("§7.1 2.4: _sd_alg not understood")
    by_digest: dict[str, list[Any]] = {}
    for disclosure in disclosures:
        by_digest[digest(disclosure)] = json.loads(b64url_decode(disclosure).decode("utf-8"))
    if len(by_digest) != len(disclosures):
        raise Rejected("§4: a Disclosure is sent more than once")
    used: set[str] = set()
    processed = _process(payload, by_digest, set(), used)
    if used != set(by_digest):
        raise Rejected("§7.1 5: a Disclosure is not referenced")
    processed.pop("_sd_alg", None)
    return header, processed


def verify_sd_jwt_text(sd_jwt: str, issuer_key: bytes) -> dict[str, Any]:
    """An SD-JWT without key binding (§4: the last component must be empty)."""
    issuer_jwt, disclosures, kb_jwt = split(sd_jwt)
    if kb_jwt:
        raise Rejected("§4: expected an SD-JWT, found a KB-JWT")
    return verify_sd_jwt(issuer_jwt, disclosures, issuer_key)[1]


def verify_sd_jwt_kb(
    presentation: str, issuer_key: bytes, audience: str, nonce: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """§7.3 with key binding required: (Processed SD-JWT Payload, KB-JWT payload)."""
    issuer_jwt, disclosures, kb_jwt = split(presentation)
    if not kb_jwt:
        raise Rejected("§7.3 2: key binding required but absent")
    _, processed = verify_sd_jwt(issuer_jwt, disclosures, issuer_key)
    # 5.1: the Holder's key is cnf.jwk in the SD-JWT (§4.1.2, RFC 7800 §3.2).
    jwk = processed["cnf"]["jwk"]
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise Rejected("§7.3 5.1: holder key is not Ed25519")
    kb_header, kb_payload = verify_jws(kb_jwt, b64url_decode(jwk["x"]))
    if kb_header.get("typ") != "kb+jwt":
        raise Rejected("§7.3 5.4: typ is not kb+jwt")
    if not isinstance(kb_payload.get("iat"), int):
        raise Rejected("§4.3: iat missing")
    if kb_payload.get("aud") != audience or kb_payload.get("nonce") != nonce:
        raise Rejected("§7.3 5.6: aud or nonce mismatch")
    if kb_payload.get("sd_hash") != sd_hash(issuer_jwt, disclosures):
        raise Rejected("§7.3 5.7: sd_hash mismatch")
    return processed, kb_payload
