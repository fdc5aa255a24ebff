"""Tests for service.protocol.envelope: feed envelopes (JWE), notices and the JWS profile."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from joserfc import jwe
from joserfc.jwk import OKPKey

from service.protocol.claims import NOTICE_TYP
from service.protocol.crypto import EncryptionPrivateKey, SigningPrivateKey
from service.protocol.envelope import (
    MAX_ENVELOPE_PLAINTEXT,
    InvalidEnvelope,
    InvalidNotice,
    JwsRejected,
    open_envelope,
    seal_for,
    sign_jws,
    sign_notice,
    verify_jws,
    verify_notice,
)

PARTNER_KEY = EncryptionPrivateKey.generate("de.bka-enc-1")
OTHER_KEY = EncryptionPrivateKey.generate("nl.politie-enc-1")
KB = SigningPrivateKey.generate("broker-kb-1")
OTHER_SIGNER = SigningPrivateKey.generate("xx.other-sig-1")
PLAINTEXT = b"eyJhbGciOiJFZDI1NTE5In0.e30.c2ln~WyJzYWx0IiwibmFtZSIsIk3DtmJpdXMiXQ~kb"
NOTICE = {
    "type": "withdrawal",
    "alert_id": "0b7b1a52-8d3e-4c56-9f0a-1d2e3f405162",
    "reason": "superseded by a corrected alert",
    "at": "2026-01-01T00:00:00Z",
    "aud": "de.bka",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def header_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def joserfc_seal(header: dict[str, Any], plaintext: bytes, algorithms: list[str]) -> str:
    """A JWE made directly with joserfc, outside the profile if asked."""
    public: dict[str, str | list[str]] = dict(PARTNER_KEY.public.to_jwk())
    key = OKPKey.import_key(public)
    return jwe.encrypt_compact(header, plaintext, key, algorithms=algorithms)


# --- Envelopes -------------------------------------------------------------------------------


def test_round_trip() -> None:
    token = seal_for(PARTNER_KEY.public, PLAINTEXT)
    assert open_envelope(PARTNER_KEY, token) == PLAINTEXT
    header = header_of(token)
    assert set(header) == {"alg", "enc", "kid", "epk"}
    assert (header["alg"], header["enc"], header["kid"]) == ("ECDH-ES", "A256GCM", PARTNER_KEY.kid)
    assert header["epk"]["crv"] == "X25519"
    assert token.split(".")[1] == ""  # direct key agreement: no encrypted key


def test_content_type_and_fresh_ephemeral_keys() -> None:
    first = seal_for(PARTNER_KEY.public, PLAINTEXT, content_type="application/sd-jwt")
    second = seal_for(PARTNER_KEY.public, PLAINTEXT, content_type="application/sd-jwt")
    assert header_of(first)["cty"] == "application/sd-jwt"
    assert header_of(first)["epk"] != header_of(second)["epk"]
    assert open_envelope(PARTNER_KEY, second) == PLAINTEXT


def test_empty_plaintext() -> None:
    assert open_envelope(PARTNER_KEY, seal_for(PARTNER_KEY.public, b"")) == b""


def test_wrong_recipient_key() -> None:
    token = seal_for(PARTNER_KEY.public, PLAINTEXT)
    with pytest.raises(InvalidEnvelope, match="kid"):
        open_envelope(OTHER_KEY, token)
    impostor = EncryptionPrivateKey(secret=OTHER_KEY.secret, kid=PARTNER_KEY.kid)
    with pytest.raises(InvalidEnvelope, match="does not decrypt"):
        open_envelope(impostor, token)


def flip(segment: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    raw[0] ^= 1
    return b64(bytes(raw))


@pytest.mark.parametrize("index", [2, 3, 4], ids=["iv", "ciphertext", "tag"])
def test_tampered_envelope(index: int) -> None:
    parts = seal_for(PARTNER_KEY.public, PLAINTEXT).split(".")
    parts[index] = flip(parts[index])
    with pytest.raises(InvalidEnvelope, match="does not decrypt"):
        open_envelope(PARTNER_KEY, ".".join(parts))


def test_tampered_header_is_authenticated() -> None:
    parts = seal_for(PARTNER_KEY.public, PLAINTEXT).split(".")
    header = header_of(".".join(parts))
    parts[0] = b64(json.dumps({**header, "cty": "text/plain"}).encode())
    with pytest.raises(InvalidEnvelope, match="does not decrypt"):
        open_envelope(PARTNER_KEY, ".".join(parts))


@pytest.mark.parametrize(
    ("alg", "enc"),
    [
        ("ECDH-ES+A256KW", "A256GCM"),
        ("ECDH-ES", "A128GCM"),
        ("ECDH-ES", "A256CBC-HS512"),
        ("ECDH-ES+A128KW", "A128CBC-HS256"),
    ],
)
def test_other_algorithms_are_refused(alg: str, enc: str) -> None:
    token = joserfc_seal({"alg": alg, "enc": enc, "kid": PARTNER_KEY.kid}, PLAINTEXT, [alg, enc])
    with pytest.raises(InvalidEnvelope):
        open_envelope(PARTNER_KEY, token)


def test_zip_is_refused() -> None:
    header = {"alg": "ECDH-ES", "enc": "A256GCM", "zip": "DEF", "kid": PARTNER_KEY.kid}
    token = joserfc_seal(header, PLAINTEXT, ["ECDH-ES", "A256GCM", "DEF"])
    with pytest.raises(InvalidEnvelope, match="compressed"):
        open_envelope(PARTNER_KEY, token)


@pytest.mark.parametrize(
    "extra",
    [{"crit": ["exp"], "exp": 1}, {"jku": "https://attacker.example/keys"}, {"epk": "x"}],
    ids=["crit", "jku", "epk-not-a-jwk"],
)
def test_header_members_outside_the_profile_are_refused(extra: dict[str, Any]) -> None:
    parts = seal_for(PARTNER_KEY.public, PLAINTEXT).split(".")
    parts[0] = b64(json.dumps({**header_of(".".join(parts)), **extra}).encode())
    with pytest.raises(InvalidEnvelope, match="outside the profile"):
        open_envelope(PARTNER_KEY, ".".join(parts))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b.c.d",
        "a..b.c.d.e",
        "é..a.b.c",
        "%%..a.b.c",
        "e30.ZW5j.aXY.Y3Q.dGFn",
        "bnVsbA..aXY.Y3Q.dGFn",
    ],
    ids=[
        "empty",
        "four-parts",
        "six-parts",
        "non-ascii",
        "alphabet",
        "encrypted-key",
        "not-object",
    ],
)
def test_malformed_envelopes(token: str) -> None:
    with pytest.raises(InvalidEnvelope):
        open_envelope(PARTNER_KEY, token)


def test_duplicate_header_members_are_refused() -> None:
    parts = seal_for(PARTNER_KEY.public, PLAINTEXT).split(".")
    raw = json.dumps(header_of(".".join(parts)))
    parts[0] = b64(('{"alg":"dir",' + raw[1:]).encode())  # "alg" twice
    with pytest.raises(InvalidEnvelope, match="JSON object"):
        open_envelope(PARTNER_KEY, ".".join(parts))


@pytest.mark.parametrize(
    "epk",
    [
        {"kty": "OKP", "crv": "X25519", "x": b64(bytes(32))},
        {"kty": "OKP", "crv": "Ed25519", "x": b64(bytes(range(32)))},
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "oct", "k": "AAAA"},
        {},
    ],
    ids=["low-order-point", "ed25519", "ec", "oct", "empty"],
)
def test_hostile_ephemeral_keys(epk: dict[str, Any]) -> None:
    parts = seal_for(PARTNER_KEY.public, PLAINTEXT).split(".")
    parts[0] = b64(json.dumps({**header_of(".".join(parts)), "epk": epk}).encode())
    with pytest.raises(InvalidEnvelope, match="does not decrypt"):
        open_envelope(PARTNER_KEY, ".".join(parts))


def test_size_limits() -> None:
    token = seal_for(PARTNER_KEY.public, b"x" * 1000)
    with pytest.raises(InvalidEnvelope):
        open_envelope(PARTNER_KEY, token, max_plaintext=999)
    assert open_envelope(PARTNER_KEY, token, max_plaintext=1000) == b"x" * 1000
    big = b"x" * (200 * 1024)  # beyond joserfc's default 64 KiB, within ours
    assert open_envelope(PARTNER_KEY, seal_for(PARTNER_KEY.public, big)) == big
    with pytest.raises(ValueError, match="too large"):
        seal_for(PARTNER_KEY.public, b"x" * (MAX_ENVELOPE_PLAINTEXT + 1))


# --- Notices and the JWS profile -------------------------------------------------------------


def test_notice_round_trip() -> None:
    token = sign_notice(KB, NOTICE)
    assert header_of(token) == {"alg": "Ed25519", "typ": NOTICE_TYP, "kid": KB.kid}
    assert verify_notice(token, KB.public, "de.bka") == NOTICE


def test_notice_rejections() -> None:
    token = sign_notice(KB, NOTICE)
    with pytest.raises(InvalidNotice, match="another audience"):
        verify_notice(token, KB.public, "nl.politie")
    with pytest.raises(InvalidNotice, match="kid"):
        verify_notice(token, OTHER_SIGNER.public, "de.bka")
    impostor = SigningPrivateKey(seed=OTHER_SIGNER.seed, kid=KB.kid).public
    with pytest.raises(InvalidNotice, match="signature"):
        verify_notice(token, impostor, "de.bka")
    with pytest.raises(InvalidNotice, match="typ"):
        verify_notice(sign_jws(KB, "kb+jwt", NOTICE), KB.public, "de.bka")
    with pytest.raises(InvalidNotice, match="not a compact JWS"):
        verify_notice(token + "~", KB.public, "de.bka")


def test_notice_needs_an_audience() -> None:
    with pytest.raises(ValueError, match="aud"):
        sign_notice(KB, {"type": "withdrawal"})
    with pytest.raises(ValueError, match="aud"):
        sign_notice(KB, {**NOTICE, "aud": ["de.bka"]})


def hand_signed(header: dict[str, Any], key: SigningPrivateKey) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(NOTICE).encode())}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def test_verify_jws_accepts_eddsa_quietly() -> None:
    # pytest turns warnings into errors: joserfc's deprecation warning for EdDSA must not leak.
    token = hand_signed({"alg": "EdDSA", "typ": NOTICE_TYP, "kid": KB.kid}, KB)
    assert verify_jws(token, KB.public, NOTICE_TYP)[1] == NOTICE


@pytest.mark.parametrize("alg", ["none", "HS256", "ES256", "Ed448", "ed25519"])
def test_verify_jws_refuses_other_algorithms(alg: str) -> None:
    token = hand_signed({"alg": alg, "typ": NOTICE_TYP, "kid": KB.kid}, KB)
    with pytest.raises(JwsRejected, match="alg"):
        verify_jws(token, KB.public, NOTICE_TYP)


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a.b.c.d", "e30.e30.", "bnVsbA.e30.c2ln", "e30.WzFd.c2ln"],
    ids=["empty", "two", "four", "no-signature", "header-null", "payload-array"],
)
def test_verify_jws_malformed(token: str) -> None:
    with pytest.raises(ValueError, match=r"compact JWS|JSON object"):
        verify_jws(token, KB.public, NOTICE_TYP)
