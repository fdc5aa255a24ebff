"""A partner's view with other people's code: feed items checked with jwcrypto and with the
independent RFC 9901 verifier (tests/alerts/rfc9901_reference.py), never with service code.

Acceptance: "a delivery decrypts with jwcrypto, the originator's JWS verifies with jwcrypto,
and the disclosures and key binding check against a verifier written in the test from
RFC 9901's text, not from your module". Everything a partner needs comes over HTTP: the feed
JSON, the originator's public JWK (GET /v1/agencies/{id}) and the broker's kb_key
(GET /v1/broker).
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from jwcrypto import jwe as jc_jwe
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws
from jwcrypto.common import JWException

from service.app import expire_due
from service.client.alerts import alert_token
from service.protocol.clock import ManualClock
from tests.alerts import rfc9901_reference as rfc
from tests.alerts.conftest import Member, MemberFactory, default_clear

CONTENT: dict[str, Any] = {
    "subject": {"family_name": "Möbius", "given_name": "Ada"},
    "narrative": "Seen boarding the night ferry at Valletta.",
    "charges": ["embezzlement", "forgery"],
    "biometrics": {"fingerprint": "FP-7731-secret"},
}
JWE_HEADER_MEMBERS = {"alg", "enc", "kid", "epk", "apu", "apv", "cty", "typ"}
KB_CLAIMS = {"iat", "aud", "nonce", "sd_hash"}
NOTICE_CLAIMS = {"type", "alert_id", "reason", "at", "aud"}


def b64url_json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def public_jwk(jwk: dict[str, Any]) -> jc_jwk.JWK:
    """A jwcrypto key from a registry JWK, keeping only the members that describe the key."""
    assert "d" not in jwk, "the broker served a private key member"
    return jc_jwk.JWK(**{k: jwk[k] for k in ("kty", "crv", "x", "kid")})


def jwcrypto_verify(token: str, key: jc_jwk.JWK) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS with jwcrypto, EdDSA family only; (protected header, payload)."""
    signed = jc_jws.JWS()
    signed.deserialize(token)
    signed.allowed_algs = ["Ed25519", "EdDSA"]
    signed.verify(key)
    header = b64url_json(token.split(".")[0])
    return header, json.loads(signed.payload)


def jwcrypto_decrypt(envelope: str, member: Member) -> tuple[dict[str, Any], bytes]:
    """Decrypt a feed envelope with jwcrypto and the partner's own private X25519 JWK."""
    token = jc_jwe.JWE()
    token.allowed_algs = ["ECDH-ES", "A256GCM"]
    token.deserialize(envelope, key=jc_jwk.JWK(**member.party.encryption.to_jwk()))
    return b64url_json(envelope.split(".")[0]), bytes(token.payload)


async def check_envelope_header(header: dict[str, Any], member: Member) -> None:
    """API.md "Partner feed": ECDH-ES, A256GCM, kid = the partner's encryption key, no zip."""
    assert header["alg"] == "ECDH-ES"
    assert header["enc"] == "A256GCM"
    assert "zip" not in header
    assert set(header) <= JWE_HEADER_MEMBERS, header
    registered = await member.party.client.get_agency(member.id)
    assert header["kid"] == member.party.encryption.kid
    assert header["kid"] in {k["kid"] for k in registered["encryption_keys"]}
    epk = header["epk"]
    assert (epk["kty"], epk["crv"]) == ("OKP", "X25519") and "d" not in epk


async def post_alert(
    originator: Member, clock: ManualClock, content: dict[str, Any], **clear: Any
) -> tuple[str, str]:
    """Sign and post an alert; (alert id, the exact SD-JWT posted)."""
    broker = await originator.alerts.broker()
    token = alert_token(
        originator.party.signing,
        originator.id,
        broker["kb_key"],
        default_clear() | clear,
        content,
        now=clock.now(),
    )
    posted = await originator.alerts.post(token)
    return posted["alert_id"], token


def salt_and_name(disclosure: str) -> tuple[str, str]:
    """RFC 9901 §4.2.1: a Disclosure of an object property is [salt, name, value]."""
    decoded = b64url_json(disclosure)
    assert isinstance(decoded, list) and len(decoded) == 3, "not [salt, name, value]"
    salt, name, _ = decoded
    assert isinstance(salt, str) and isinstance(name, str)
    return salt, name


@pytest.mark.parametrize(
    ("attributes", "redacted"),
    [({"biometrics": True}, set()), ({}, {"biometrics"})],
    ids=["cleared", "biometrics-redacted"],
)
async def test_delivery_checks_with_jwcrypto_and_rfc9901_reference(
    member: MemberFactory,
    clock: ManualClock,
    attributes: dict[str, Any],
    redacted: set[str],
) -> None:
    fr = await member("fr-police", groups=("eu",), country="FR")
    de = await member("de-bka", groups=("eu",), country="DE", attributes=attributes)
    alert_id, posted = await post_alert(fr, clock, CONTENT)

    page = await de.alerts.feed()  # the raw JSON, as a partner in any language sees it
    [item] = page["items"]
    assert (item["type"], item["alert_id"]) == ("alert", alert_id)
    assert isinstance(item["cursor"], str) and isinstance(item["envelope"], str)

    # 1. The envelope decrypts with jwcrypto and the partner's own key.
    header, plaintext_bytes = jwcrypto_decrypt(item["envelope"], de)
    await check_envelope_header(header, de)
    plaintext = plaintext_bytes.decode("ascii")

    # 2. The originator's JWS, unchanged, verifies with jwcrypto against the registry's JWK.
    issuer_jwt, disclosures, kb_jwt = rfc.split(plaintext)
    assert issuer_jwt == posted.split("~")[0], "the broker must forward the originator's JWS"
    originator = await de.party.client.get_agency("fr-police")
    issuer_header = b64url_json(issuer_jwt.split(".")[0])
    [issuer_jwk] = [k for k in originator["signing_keys"] if k["kid"] == issuer_header["kid"]]
    header, payload = jwcrypto_verify(issuer_jwt, public_jwk(issuer_jwk))
    assert header == {"alg": "Ed25519", "typ": "liaison-alert+sd-jwt", "kid": fr.party.signing.kid}
    assert payload["iss"] == "fr-police" and payload["jti"] == alert_id
    assert payload["_sd_alg"] == "sha-256"
    broker = await de.party.client.broker()
    kb_key = broker["kb_key"]
    assert payload["cnf"]["jwk"] == {k: kb_key[k] for k in ("kty", "crv", "x", "kid")}

    # 3. Disclosures: exactly the permitted claims, each [salt, name, value] with a 128-bit
    # salt (RFC 9901 §9.3), each digest (§4.2.3) listed in the signed _sd.
    names = {salt_and_name(d)[1] for d in disclosures}
    assert names == set(CONTENT) - redacted
    assert all(len(salt_and_name(d)[0]) >= 22 for d in disclosures)
    assert {rfc.digest(d) for d in disclosures} <= set(payload["_sd"])
    assert len(payload["_sd"]) >= len(CONTENT)

    # 4. The reference verifier (RFC 9901 §7.3, key binding required) accepts it.
    x = rfc.b64url_decode(issuer_jwk["x"])
    processed, kb_payload = rfc.verify_sd_jwt_kb(plaintext, x, "de-bka", item["cursor"])
    assert {k: processed[k] for k in CONTENT if k in processed} == {
        k: v for k, v in CONTENT.items() if k not in redacted
    }
    assert not redacted & set(processed)

    # 5. The KB-JWT verifies with jwcrypto against GET /v1/broker's kb_key, not just cnf.
    kb_header, kb_claims = jwcrypto_verify(kb_jwt, public_jwk(kb_key))
    assert kb_header == {"alg": "Ed25519", "typ": "kb+jwt", "kid": kb_key["kid"]}
    assert kb_claims == kb_payload
    assert set(kb_claims) == KB_CLAIMS
    assert kb_claims["aud"] == "de-bka"
    assert kb_claims["nonce"] == item["cursor"]
    # §4.3.1 written out once more here: SHA-256 over "<issuer JWT>~<D1>~...~<Dn>~".
    sd_input = issuer_jwt + "~" + "".join(d + "~" for d in disclosures)
    expected = base64.urlsafe_b64encode(hashlib.sha256(sd_input.encode()).digest())
    assert kb_claims["sd_hash"] == expected.rstrip(b"=").decode()
    assert kb_claims["iat"] == int(clock.now().timestamp())

    # 6. The reference is not a rubber stamp: another audience or nonce is refused.
    with pytest.raises(rfc.Rejected, match=r"5\.6"):
        rfc.verify_sd_jwt_kb(plaintext, x, "it-polizia", item["cursor"])
    with pytest.raises(rfc.Rejected, match=r"5\.6"):
        rfc.verify_sd_jwt_kb(plaintext, x, "de-bka", item["cursor"] + "0")
    # Dropping a disclosure breaks sd_hash: the broker cannot redact after signing the KB-JWT.
    if disclosures:
        trimmed = issuer_jwt + "~" + "".join(d + "~" for d in disclosures[1:]) + kb_jwt
        with pytest.raises(rfc.Rejected, match=r"5\.7"):
            rfc.verify_sd_jwt_kb(trimmed, x, "de-bka", item["cursor"])


async def test_envelope_does_not_decrypt_with_another_partners_key(
    member: MemberFactory, clock: ManualClock
) -> None:
    fr = await member("fr-police", groups=("eu",))
    de = await member("de-bka", groups=("eu",))
    it = await member("it-polizia", groups=("eu",))
    await post_alert(fr, clock, CONTENT)
    [item] = (await de.alerts.feed())["items"]
    # Without the kid (jwcrypto might match on it), the key alone must fail to decrypt.
    foreign = {k: v for k, v in it.party.encryption.to_jwk().items() if k != "kid"}
    token = jc_jwe.JWE()
    token.allowed_algs = ["ECDH-ES", "A256GCM"]
    with pytest.raises(JWException):
        token.deserialize(item["envelope"], key=jc_jwk.JWK(**foreign))


def parse_rfc3339(value: str) -> datetime:
    assert value.endswith("Z") or value.endswith("+00:00"), value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
    return moment


async def check_notice(
    item: dict[str, Any], member: Member, alert_id: str, item_type: str
) -> dict[str, Any]:
    """API.md: a JWS compact by kb_key, typ liaison-notice+jwt, claims type, alert_id,
    reason, at, aud; checked with jwcrypto only."""
    assert (item["type"], item["alert_id"]) == (item_type, alert_id)
    header, plaintext = jwcrypto_decrypt(item["envelope"], member)
    await check_envelope_header(header, member)
    kb_key = (await member.party.client.broker())["kb_key"]
    notice_header, claims = jwcrypto_verify(plaintext.decode("ascii"), public_jwk(kb_key))
    assert notice_header == {"alg": "Ed25519", "typ": "liaison-notice+jwt", "kid": kb_key["kid"]}
    assert set(claims) == NOTICE_CLAIMS
    assert claims["type"] == item_type
    assert claims["alert_id"] == alert_id
    assert claims["aud"] == member.id
    assert isinstance(claims["reason"], str)
    parse_rfc3339(claims["at"])
    return claims


async def test_withdrawal_notice_verifies_with_jwcrypto(
    member: MemberFactory, clock: ManualClock
) -> None:
    fr = await member("fr-police", groups=("eu",))
    de = await member("de-bka", groups=("eu",))
    alert_id, _ = await post_alert(fr, clock, CONTENT)
    first = await de.alerts.feed()
    clock.advance(timedelta(minutes=5))
    withdrawn_at = clock.now()
    await fr.alerts.withdraw(alert_id, "case closed")

    [item] = (await de.alerts.feed(after=first["next"]))["items"]
    claims = await check_notice(item, de, alert_id, "withdrawal")
    assert claims["reason"] == "case closed"
    assert parse_rfc3339(claims["at"]) == withdrawn_at
    # Signed by kb_key and nothing else: the originator's key does not verify it.
    fr_key = public_jwk(fr.party.signing.public.to_jwk())
    with pytest.raises(JWException):
        jwcrypto_verify(jwcrypto_decrypt(item["envelope"], de)[1].decode(), fr_key)


async def test_expiry_notice_verifies_with_jwcrypto(
    member: MemberFactory, app: FastAPI, clock: ManualClock
) -> None:
    fr = await member("fr-police", groups=("eu",))
    de = await member("de-bka", groups=("eu",))
    broker = await fr.alerts.broker()
    token = alert_token(
        fr.party.signing,
        "fr-police",
        broker["kb_key"],
        default_clear(),
        {"narrative": "short-lived"},
        now=clock.now(),
        lifetime=timedelta(hours=1),
    )
    alert_id = (await fr.alerts.post(token))["alert_id"]
    first = await de.alerts.feed()
    clock.advance(timedelta(hours=1, seconds=1))
    assert await expire_due(app.state.runtime) == [alert_id]

    [item] = (await de.alerts.feed(after=first["next"]))["items"]
    claims = await check_notice(item, de, alert_id, "expiry")
    assert parse_rfc3339(claims["at"]) == clock.now()


async def test_broker_identity_names_the_policy_version(member: MemberFactory) -> None:
    """API.md "Broker identity": policy_version is the current policy-set version (a str),
    which a partner compares with the decisions it is shown."""
    de = await member("de-bka", groups=("eu",))
    broker = await de.party.client.broker()
    policy = (await de.party.client.request("GET", "/v1/policy")).json()
    assert broker["policy_version"] == policy["version"]
