"""Interoperability with an independent JOSE library (jwcrypto), as partners would use one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jwcrypto import jwe as jc_jwe
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws

from service.protocol.claims import ALERT_TYP, NOTICE_TYP
from service.protocol.crypto import EncryptionPrivateKey, SigningPrivateKey
from service.protocol.envelope import InvalidEnvelope, open_envelope, seal_for, sign_notice
from service.protocol.sdjwt import build_alert, parse_sd_jwt, present, verify_alert

PARTNER_KEY = EncryptionPrivateKey.generate("de.bka-enc-1")
ISSUER = SigningPrivateKey.generate("fr.police-sig-1")
KB = SigningPrivateKey.generate("broker-kb-1")
CLEAR: dict[str, Any] = {
    "iss": "fr.police",
    "jti": "0b7b1a52-8d3e-4c56-9f0a-1d2e3f405162",
    "iat": 1_767_225_540,
    "exp": 1_767_312_000,
    "cnf": {"jwk": KB.public.to_jwk()},
}
CONTENT = {"narrative": "Seen boarding at Valletta", "subject": {"family_name": "Möbius"}}


def jwk(key: Any) -> jc_jwk.JWK:
    return jc_jwk.JWK(**key.to_jwk())


def jwcrypto_verify(token: str, key: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS with jwcrypto, Ed25519 only; return (header, payload)."""
    signed = jc_jws.JWS()
    signed.deserialize(token)
    signed.allowed_algs = ["Ed25519"]
    signed.verify(jwk(key))
    return dict(signed.jose_header), dict(json.loads(signed.payload))


def test_envelope_decrypts_with_jwcrypto() -> None:
    token = seal_for(PARTNER_KEY.public, b"a presentation", content_type="application/sd-jwt")
    envelope = jc_jwe.JWE()
    envelope.deserialize(token, key=jwk(PARTNER_KEY))
    assert envelope.payload == b"a presentation"
    header = envelope.jose_header
    assert (header["alg"], header["enc"], header["kid"]) == ("ECDH-ES", "A256GCM", PARTNER_KEY.kid)


def jwcrypto_seal(header: dict[str, Any], plaintext: bytes) -> str:
    envelope = jc_jwe.JWE(plaintext, protected=json.dumps(header))
    envelope.add_recipient(jwk(PARTNER_KEY.public))
    return str(envelope.serialize(compact=True))


def test_jwcrypto_envelope_opens() -> None:
    header = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": PARTNER_KEY.kid}
    assert open_envelope(PARTNER_KEY, jwcrypto_seal(header, b"from a partner")) == b"from a partner"


def test_jwcrypto_compressed_envelope_is_refused() -> None:
    header = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": PARTNER_KEY.kid, "zip": "DEF"}
    with pytest.raises(InvalidEnvelope, match="compressed"):
        open_envelope(PARTNER_KEY, jwcrypto_seal(header, b"x" * 100))


def test_alert_and_key_binding_jwt_verify_with_jwcrypto() -> None:
    alert = build_alert(CLEAR, CONTENT, ISSUER)
    header, payload = jwcrypto_verify(alert.split("~")[0], ISSUER.public)
    assert header == {"alg": "Ed25519", "typ": ALERT_TYP, "kid": ISSUER.kid}
    assert payload["_sd_alg"] == "sha-256" and len(payload["_sd"]) == len(CONTENT)
    presentation = present(
        verify_alert(parse_sd_jwt(alert), ISSUER.public), {"narrative"}, KB, "de.bka", "7", 1
    )
    # A partner takes the holder key from cnf.jwk, as RFC 9901 §4.3.2 says.
    cnf_key = jc_jwk.JWK(**payload["cnf"]["jwk"])
    kb_jwt = presentation.rsplit("~", 1)[1]
    signed = jc_jws.JWS()
    signed.deserialize(kb_jwt)
    signed.allowed_algs = ["Ed25519"]
    signed.verify(cnf_key)
    assert json.loads(signed.payload)["aud"] == "de.bka"


def test_notice_verifies_with_jwcrypto() -> None:
    notice = {"type": "expiry", "alert_id": CLEAR["jti"], "reason": "", "at": "x", "aud": "de.bka"}
    header, payload = jwcrypto_verify(sign_notice(KB, notice), KB.public)
    assert header["typ"] == NOTICE_TYP and payload == notice


def test_alert_signed_by_jwcrypto_with_eddsa_verifies() -> None:
    # An originator whose library still writes the pre-RFC 9864 name "EdDSA".
    ours = build_alert(CLEAR, CONTENT, ISSUER)
    _, rest = ours.split("~", 1)
    payload = parse_sd_jwt(ours).unverified_claims
    signed = jc_jws.JWS(json.dumps(payload).encode())
    signed.add_signature(
        jwk(ISSUER),
        alg="EdDSA",
        protected=json.dumps({"alg": "EdDSA", "typ": ALERT_TYP, "kid": ISSUER.kid}),
    )
    theirs = str(signed.serialize(compact=True)) + "~" + rest
    verified = verify_alert(parse_sd_jwt(theirs), ISSUER.public)
    assert verified.header["alg"] == "EdDSA" and verified.content == CONTENT
