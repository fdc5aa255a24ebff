"""Tests for service.protocol.sdjwt: RFC 9901 vectors, the independent reference, rejections."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.protocol.claims import ALERT_TYP, RESERVED_CONTENT_NAMES
from service.protocol.crypto import SigningPrivateKey
from service.protocol.sdjwt import (
    InvalidSdJwt,
    MalformedSdJwt,
    UnverifiedSdJwt,
    VerifiedAlert,
    build_alert,
    disclosure_digest,
    parse_sd_jwt,
    present,
    sd_hash,
    verify_alert,
    verify_presentation,
)
from tests.alerts import rfc9901_reference as ref

NOW = 1_767_225_600
PARTNER = "de.bka"
CURSOR = "42"

ISSUER = SigningPrivateKey.generate("fr.police-sig-1")
KB = SigningPrivateKey.generate("broker-kb-1")
OTHER = SigningPrivateKey.generate("xx.other-sig-1")

CONTENT: dict[str, Any] = {
    "subject": {"family_name": "Möbius", "given_name": "Quintus", "born": "1971-04-02"},
    "narrative": "Suspected of laundering the Zeta-Kappa funds through Limassol",
    "charges": ["fraud", "money-laundering"],
    "last_known_location": {"city": "Valletta", "since": 1767000000},
    "biometrics": None,
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def clear_claims(**extra: Any) -> dict[str, Any]:
    return {
        "iss": "fr.police",
        "jti": "0b7b1a52-8d3e-4c56-9f0a-1d2e3f405162",
        "iat": NOW - 60,
        "exp": NOW + 86_400,
        "kind": "red",
        "category": "corruption",
        "tlp": "amber",
        "handling": ["H1"],
        "audience": {"agencies": [PARTNER], "groups": [], "all": False},
        "purpose": "arrest",
        "legal_basis": "Art. 82 TFEU",
        "cnf": {"jwk": KB.public.to_jwk()},
        **extra,
    }


def make_alert(content: dict[str, Any] | None = None, **kwargs: Any) -> str:
    return build_alert(
        clear_claims(), dict(CONTENT if content is None else content), ISSUER, **kwargs
    )


def disclosure(salt: str, name: Any, value: Any, *, extra: Any = None) -> str:
    items = [salt, name, value] if extra is None else extra
    return b64(json.dumps(items).encode())


SALT = b64(bytes(range(16)))


def forge_jws(
    header: dict[str, Any], payload: dict[str, Any] | bytes, key: SigningPrivateKey | None
) -> str:
    """A compact JWS made by hand (not by the code under test) with any header at all."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(body)}"
    signature = key.sign(signing_input.encode()) if key is not None else b"\x00" * 64
    return f"{signing_input}.{b64(signature)}"


def forge_alert(
    disclosures: list[str],
    *,
    payload: dict[str, Any] | None = None,
    header: dict[str, Any] | None = None,
    key: SigningPrivateKey = ISSUER,
    sd: list[str] | None = None,
) -> str:
    """An alert whose issuer JWT lists ``sd`` (default: the disclosures' digests)."""
    body = clear_claims() if payload is None else payload
    body = {**body, "_sd": sorted(ref.digest(d) for d in disclosures) if sd is None else sd}
    body.setdefault("_sd_alg", "sha-256")
    head = {"alg": "Ed25519", "typ": ALERT_TYP, "kid": key.kid} if header is None else header
    return forge_jws(head, body, key) + "~" + "".join(d + "~" for d in disclosures)


def verify_text(text: str, key: SigningPrivateKey = ISSUER) -> VerifiedAlert:
    return verify_alert(parse_sd_jwt(text), key.public)


def decoded_everything(presentation: str) -> str:
    """Every component of a presentation, base64url-decoded where it decodes."""
    pieces = [presentation]
    for part in presentation.split("~"):
        for segment in part.split("."):
            with contextlib.suppress(ValueError):
                pieces.append(ref.b64url_decode(segment).decode("utf-8", "replace"))
    return "\n".join(pieces)


# --- RFC 9901 published values ------------------------------------------------------------
# §4.2.1/§4.2.3 (family_name) and §5.1 (given_name): Disclosure -> SHA-256 digest.
RFC_DIGESTS = [
    (
        "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
        "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0",
    ),
    (
        "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd",
        "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4",
    ),
    ("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0", "pFndjkZ_VCzmyTa6UjlZo3dh-ko8aIKQc9DlGzhaVYo"),
]

# §5.2: the example SD-JWT+KB (ES256), whose KB-JWT carries this sd_hash.
RFC_PRESENTATION = re.sub(
    r"\s+",
    "",
    """
eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImV4YW1wbGUrc2Qtand0In0.eyJfc2QiOiBb
IkNyUWU3UzVrcUJBSHQtbk1ZWGdjNmJkdDJTSDVhVFkxc1VfTS1QZ2tqUEkiLCAiSnpZ
akg0c3ZsaUgwUjNQeUVNZmVadTZKdDY5dTVxZWhabzdGN0VQWWxTRSIsICJQb3JGYnBL
dVZ1Nnh5bUphZ3ZrRnNGWEFiUm9jMkpHbEFVQTJCQTRvN2NJIiwgIlRHZjRvTGJnd2Q1
SlFhSHlLVlFaVTlVZEdFMHc1cnREc3JaemZVYW9tTG8iLCAiWFFfM2tQS3QxWHlYN0tB
TmtxVlI2eVoyVmE1TnJQSXZQWWJ5TXZSS0JNTSIsICJYekZyendzY002R242Q0pEYzZ2
Vks4QmtNbmZHOHZPU0tmcFBJWmRBZmRFIiwgImdiT3NJNEVkcTJ4Mkt3LXc1d1BFemFr
b2I5aFYxY1JEMEFUTjNvUUw5Sk0iLCAianN1OXlWdWx3UVFsaEZsTV8zSmx6TWFTRnpn
bGhRRzBEcGZheVF3TFVLNCJdLCAiaXNzIjogImh0dHBzOi8vaXNzdWVyLmV4YW1wbGUu
Y29tIiwgImlhdCI6IDE2ODMwMDAwMDAsICJleHAiOiAxODgzMDAwMDAwLCAic3ViIjog
InVzZXJfNDIiLCAibmF0aW9uYWxpdGllcyI6IFt7Ii4uLiI6ICJwRm5kamtaX1ZDem15
VGE2VWpsWm8zZGgta284YUlLUWM5RGxHemhhVllvIn0sIHsiLi4uIjogIjdDZjZKa1B1
ZHJ5M2xjYndIZ2VaOGtoQXYxVTFPU2xlclAwVmtCSnJXWjAifV0sICJfc2RfYWxnIjog
InNoYS0yNTYiLCAiY25mIjogeyJqd2siOiB7Imt0eSI6ICJFQyIsICJjcnYiOiAiUC0y
NTYiLCAieCI6ICJUQ0FFUjE5WnZ1M09IRjRqNFc0dmZTVm9ISVAxSUxpbERsczd2Q2VH
ZW1jIiwgInkiOiAiWnhqaVdXYlpNUUdIVldLVlE0aGJTSWlyc1ZmdWVjQ0U2dDRqVDlG
MkhaUSJ9fX0.zjhXTlVnC9cFuDlL7JuR2TK7DCo0XtlMpbuNVNZJhWOkCPsRHn9oHNQk
I02D6YziRYsapgbA_tV4-0LmAfA53Q~WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgI
mZhbWlseV9uYW1lIiwgIkRvZSJd~WyJBSngtMDk1VlBycFR0TjRRTU9xUk9BIiwgImFk
ZHJlc3MiLCB7InN0cmVldF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxvY2FsaXR5
IjogIkFueXRvd24iLCAicmVnaW9uIjogIkFueXN0YXRlIiwgImNvdW50cnkiOiAiVVMi
fV0~WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd
~WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0~eyJhbGciOiAiRVMyNTYiLCA
idHlwIjogImtiK2p3dCJ9.eyJub25jZSI6ICIxMjM0NTY3ODkwIiwgImF1ZCI6ICJodH
RwczovL3ZlcmlmaWVyLmV4YW1wbGUub3JnIiwgImlhdCI6IDE3NDgzNjE5NDEsICJzZF
9oYXNoIjogIjEtTGNmNkNpQm1QNzJKREZ1QkYwYnZhbFMtRnpJbFh5aUNrSlhwN3BKbW
MifQ.4OCivqequv7GMn45GWWEBceEwvByv9wY61HvxbOKY0pOxyto9-HG2coh1D3frjl
1AhF-vDnB1CD0SXL32P-toA
""",
)
RFC_SD_HASH = "1-Lcf6CiBmP72JDFuBF0bvalS-FzIlXyiCkJXp7pJmc"


@pytest.mark.parametrize(("encoded", "expected"), RFC_DIGESTS)
def test_disclosure_digest_matches_rfc_vectors(encoded: str, expected: str) -> None:
    assert disclosure_digest(encoded) == expected
    assert ref.digest(encoded) == expected


def test_sd_hash_matches_rfc_example() -> None:
    parsed = parse_sd_jwt(RFC_PRESENTATION)
    assert len(parsed.disclosures) == 4 and parsed.kb_jwt is not None
    assert sd_hash(parsed.issuer_jws, parsed.disclosures) == RFC_SD_HASH
    issuer_jwt, disclosures, _ = ref.split(RFC_PRESENTATION)
    assert ref.sd_hash(issuer_jwt, disclosures) == RFC_SD_HASH


def test_rfc_example_is_refused_as_an_alert() -> None:
    # A well-formed SD-JWT of another profile: ES256, another typ, array-element digests.
    issuer_only = parse_sd_jwt(RFC_PRESENTATION.split("~")[0] + "~")
    with pytest.raises(InvalidSdJwt, match="alg"):
        verify_alert(issuer_only, ISSUER.public)
    with pytest.raises(InvalidSdJwt, match="key-binding"):
        verify_alert(parse_sd_jwt(RFC_PRESENTATION), ISSUER.public)


# --- Building and verifying ---------------------------------------------------------------


def test_round_trip() -> None:
    text = make_alert()
    assert text.endswith("~") and text.count("~") == len(CONTENT) + 1
    verified = verify_text(text)
    assert verified.header == {"alg": "Ed25519", "typ": ALERT_TYP, "kid": ISSUER.kid}
    assert verified.claims == clear_claims()
    assert verified.content == CONTENT
    assert verified.undisclosed_count == 0
    assert verified.serialize() == text
    payload = parse_sd_jwt(text).unverified_claims
    assert payload["_sd_alg"] == "sha-256"
    assert payload["_sd"] == sorted(payload["_sd"])
    assert {d.digest for d in verified.disclosures.values()} == set(payload["_sd"])


def test_reference_verifier_accepts_built_alert() -> None:
    processed = ref.verify_sd_jwt_text(make_alert(), ISSUER.public.raw)
    assert processed == {**clear_claims(), **CONTENT}


def test_reference_verifier_accepts_presentation() -> None:
    alert = verify_text(make_alert())
    shown = {"narrative", "charges"}
    presentation = present(alert, shown, KB, PARTNER, CURSOR, NOW)
    processed, kb_claims = ref.verify_sd_jwt_kb(presentation, ISSUER.public.raw, PARTNER, CURSOR)
    assert processed == {**clear_claims(), **{k: CONTENT[k] for k in shown}}
    assert kb_claims["iat"] == NOW


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
).filter(lambda v: "_sd" not in json.dumps(v) and "..." not in json.dumps(v))
content_names = st.text(min_size=1, max_size=12).filter(lambda n: n not in RESERVED_CONTENT_NAMES)


@settings(max_examples=40, deadline=None)
@given(content=st.dictionaries(content_names, json_values, max_size=6), subset=st.randoms())
def test_reference_and_ours_agree_on_arbitrary_content(
    content: dict[str, Any], subset: Any
) -> None:
    text = build_alert(clear_claims(), content, ISSUER)
    assert ref.verify_sd_jwt_text(text, ISSUER.public.raw) == {**clear_claims(), **content}
    alert = verify_text(text)
    assert alert.content == content
    shown = {name for name in content if subset.random() < 0.5}
    presentation = present(alert, shown, KB, PARTNER, CURSOR, NOW)
    seen = verify_presentation(presentation, ISSUER.public, KB.public, PARTNER, CURSOR, now=NOW)
    assert seen.disclosed == {k: content[k] for k in shown}
    assert seen.undisclosed_count == len(content) - len(shown)
    processed, _ = ref.verify_sd_jwt_kb(presentation, ISSUER.public.raw, PARTNER, CURSOR)
    assert processed == {**clear_claims(), **seen.disclosed}


def recording_random() -> tuple[Callable[[int], bytes], list[bytes]]:
    calls: list[bytes] = []

    def draw(n: int) -> bytes:
        assert n == 16
        calls.append(os.urandom(n))
        return calls[-1]

    return draw, calls


def test_salts_are_16_random_bytes_distinct_per_claim_and_build() -> None:
    draw, calls = recording_random()
    first = verify_text(make_alert(random=draw))
    salts = [d.salt for d in first.disclosures.values()]
    assert sorted(ref.b64url_decode(s) for s in salts) == sorted(calls)
    assert all(len(ref.b64url_decode(s)) == 16 for s in salts)
    assert len(set(salts)) == len(CONTENT)
    second = verify_text(make_alert())
    assert set(salts).isdisjoint(d.salt for d in second.disclosures.values())
    assert first.disclosures["narrative"].digest != second.disclosures["narrative"].digest


def test_disclosure_order_reveals_nothing() -> None:
    text = build_alert(clear_claims(), dict(reversed(list(CONTENT.items()))), ISSUER)
    disclosures = text.split("~")[1:-1]
    assert [ref.digest(d) for d in disclosures] == sorted(ref.digest(d) for d in disclosures)


def test_decoys_are_counted_as_undisclosed() -> None:
    verified = verify_text(make_alert(decoys=3))
    assert len(verified.digests) == len(CONTENT) + 3
    assert verified.undisclosed_count == 3


@pytest.mark.parametrize(
    "name",
    ["_sd", "_sd_alg", "...", "iss", "jti", "iat", "exp", "cnf", "aud", "tlp", "sd_hash", ""],
)
def test_build_refuses_reserved_content_names(name: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        build_alert(clear_claims(), {name: "x"}, ISSUER)


def test_build_refuses_collisions_and_embedded_digests() -> None:
    with pytest.raises(ValueError, match="also a clear claim"):
        build_alert(clear_claims(note="a"), {"note": "b"}, ISSUER)
    with pytest.raises(ValueError, match="reserved"):
        build_alert({**clear_claims(), "_sd": []}, {}, ISSUER)
    with pytest.raises(ValueError, match="embed"):
        build_alert(clear_claims(), {"subject": {"_sd": ["x"]}}, ISSUER)
    with pytest.raises(ValueError, match="embed"):
        build_alert(clear_claims(), {"charges": [{"...": "x"}]}, ISSUER)
    with pytest.raises(ValueError, match="not JSON"):
        build_alert(clear_claims(), {"narrative": float("nan")}, ISSUER)
    with pytest.raises(ValueError, match="not JSON"):
        build_alert(clear_claims(), {"narrative": object()}, ISSUER)


@pytest.mark.parametrize(("clear", "content"), [([], {}), ({}, [("a", 1)]), (None, {})])
def test_build_refuses_non_dicts(clear: Any, content: Any) -> None:
    with pytest.raises(TypeError):
        build_alert(clear, content, ISSUER)


def test_verified_values_cannot_be_made_by_hand() -> None:
    with pytest.raises(TypeError):
        VerifiedAlert({}, {}, "a.b.c", {}, ())


# --- Rejections ----------------------------------------------------------------------------


def swap_signature(text: str, signature: str) -> str:
    jwt, rest = text.split("~", 1)
    return jwt.rsplit(".", 1)[0] + "." + signature + "~" + rest


def test_forged_signature_is_invalid() -> None:
    text = make_alert()
    signature = ref.b64url_decode(text.split("~")[0].rsplit(".", 1)[1])
    forged = swap_signature(text, b64(bytes([signature[0] ^ 1]) + signature[1:]))
    with pytest.raises(InvalidSdJwt, match="signature does not verify"):
        verify_text(forged)


def test_stripped_signature_is_malformed() -> None:
    with pytest.raises(MalformedSdJwt):
        parse_sd_jwt(swap_signature(make_alert(), ""))


def test_other_key_is_invalid() -> None:
    text = make_alert()
    with pytest.raises(InvalidSdJwt, match="kid"):
        verify_text(text, OTHER)
    impostor = SigningPrivateKey(seed=OTHER.seed, kid=ISSUER.kid)  # same kid, other key
    with pytest.raises(InvalidSdJwt, match="signature"):
        verify_text(text, impostor)


def hs256(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@pytest.mark.parametrize("alg", ["none", "HS256", "ES256", "RS256", "Ed448", "EdDSA "])
def test_other_algorithms_are_invalid(alg: str) -> None:
    d = disclosure(SALT, "narrative", "x")
    header = {"alg": alg, "typ": ALERT_TYP, "kid": ISSUER.kid}
    payload = {**clear_claims(), "_sd": [ref.digest(d)], "_sd_alg": "sha-256"}
    # HS256 keyed with the public key: the classic algorithm-confusion forgery.
    jwt = (
        hs256(header, payload, ISSUER.public.raw)
        if alg == "HS256"
        else forge_jws(header, payload, None)
    )
    with pytest.raises(InvalidSdJwt, match="alg"):
        verify_text(jwt + "~" + d + "~")


def test_eddsa_synonym_is_accepted() -> None:
    d = disclosure(SALT, "narrative", "x")
    text = forge_alert([d], header={"alg": "EdDSA", "typ": ALERT_TYP, "kid": ISSUER.kid})
    assert verify_text(text).content == {"narrative": "x"}


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "Ed25519", "typ": "JWT", "kid": ISSUER.kid},
        {"alg": "Ed25519", "typ": "kb+jwt", "kid": ISSUER.kid},
        {"alg": "Ed25519", "kid": ISSUER.kid},
        {"alg": "Ed25519", "typ": ALERT_TYP},
        {"alg": "Ed25519", "typ": ALERT_TYP, "kid": ISSUER.kid, "crit": ["exp"], "exp": 1},
        {"alg": "Ed25519", "typ": ALERT_TYP, "kid": ISSUER.kid, "jwk": OTHER.public.to_jwk()},
    ],
    ids=["typ-jwt", "typ-kb", "no-typ", "no-kid", "crit", "embedded-jwk"],
)
def test_headers_outside_the_profile_are_invalid(header: dict[str, Any]) -> None:
    with pytest.raises(InvalidSdJwt, match="issuer-signed JWT"):
        verify_text(forge_alert([disclosure(SALT, "narrative", "x")], header=header))


def test_disclosure_not_listed_is_invalid_and_says_which() -> None:
    text = make_alert()
    jwt, *disclosures, _ = text.split("~")
    stray = disclosure(SALT, "narrative", "injected")
    with pytest.raises(InvalidSdJwt, match=r"^disclosure 2 is not listed in _sd$"):
        verify_text("~".join([jwt, disclosures[0], stray, *disclosures[1:], ""]))


def test_duplicate_disclosure_is_invalid() -> None:
    jwt, first, *rest = make_alert().split("~")
    with pytest.raises(InvalidSdJwt, match="disclosure 2 repeats disclosure 1"):
        verify_text("~".join([jwt, first, first, *rest]))


def test_tampered_disclosure_value_is_invalid() -> None:
    text = make_alert()
    alert = verify_text(text)
    original = alert.disclosures["narrative"]
    tampered = disclosure(original.salt, "narrative", "nothing to see")
    with pytest.raises(InvalidSdJwt, match="not listed in _sd"):
        verify_text(text.replace(original.encoded, tampered))


@pytest.mark.parametrize(
    "bad",
    ["a*b", "WyJ", b64(b"not json"), b64(b"\xff\xfe"), b64(b'{"a":1,"a":2}'), b64(b"[NaN]")],
    ids=["alphabet", "bad-length", "not-json", "not-utf8", "duplicate-member", "nan"],
)
def test_malformed_disclosure_is_malformed(bad: str) -> None:
    jwt, *rest = make_alert().split("~")
    with pytest.raises(MalformedSdJwt, match="disclosure 1"):
        parse_sd_jwt("~".join([jwt, bad, *rest]))


@pytest.mark.parametrize(
    "text",
    ["", "abc", "a.b.c", "a.b~", "a.b.c.d~", "é.b.c~", "x~~", "a.b.c~~"],
)
def test_malformed_serializations(text: str) -> None:
    with pytest.raises(MalformedSdJwt):
        parse_sd_jwt(text)


def test_duplicate_member_in_payload_is_malformed() -> None:
    header = b64(json.dumps({"alg": "Ed25519", "typ": ALERT_TYP, "kid": ISSUER.kid}).encode())
    body = b64(b'{"iss":"fr.police","iss":"xx.other","_sd":[],"_sd_alg":"sha-256"}')
    signature = b64(ISSUER.sign(f"{header}.{body}".encode()))
    with pytest.raises(MalformedSdJwt):
        parse_sd_jwt(f"{header}.{body}.{signature}~")


@pytest.mark.parametrize(
    ("disclosures", "message"),
    [
        ([disclosure(SALT, "exp", 9_999_999_999)], "reserved claim name"),
        ([disclosure(SALT, "_sd", [])], "reserved claim name"),
        ([disclosure(SALT, "...", 1)], "reserved claim name"),
        ([disclosure(SALT, "purpose", "other")], "reserved claim name"),
        ([disclosure(SALT, "note", "x")], "repeats a clear claim"),
        (
            [disclosure(SALT, "narrative", "a"), disclosure(SALT[::-1], "narrative", "b")],
            "disclosure 2 repeats the claim name of disclosure 1",
        ),
        ([disclosure("", "", "", extra=[SALT, "x"])], "not a \\[salt, name, value\\]"),
        ([disclosure("", "", "", extra=[SALT, "x", 1, 2])], "not a \\[salt, name, value\\]"),
        ([disclosure("", "", "", extra={"salt": SALT})], "not a \\[salt, name, value\\]"),
        ([disclosure("short", "narrative", "x")], "salt shorter than 128 bits"),
        ([disclosure(SALT, 7, "x")], "no claim name"),
        ([disclosure(SALT, "subject", {"_sd": ["x"]})], "embeds digests"),
        ([disclosure(SALT, "charges", [{"...": "x"}])], "embeds digests"),
    ],
    ids=[
        "exp",
        "_sd",
        "ellipsis",
        "clear-claim-name",
        "collides-with-clear",
        "same-name-twice",
        "two-elements",
        "four-elements",
        "object",
        "short-salt",
        "non-string-name",
        "nested-_sd",
        "array-element-digest",
    ],
)
def test_disclosure_contents_outside_the_profile_are_invalid(
    disclosures: list[str], message: str
) -> None:
    text = forge_alert(disclosures, payload=clear_claims(note="n"))
    with pytest.raises(InvalidSdJwt, match=message):
        verify_text(text)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"_sd_alg": "sha-512"}, "_sd_alg"),
        ({"_sd_alg": None}, "_sd_alg"),
        ({"_sd": "abc"}, "_sd must be a list"),
        ({"_sd": ["not-a-digest"]}, "_sd must be a list"),
        ({"_sd": [ref.digest("x")] * 2}, "digest twice"),
        ({"audience": {"_sd": [ref.digest("x")]}}, "top-level _sd"),
        ({"handling": [{"...": ref.digest("x")}]}, "top-level _sd"),
    ],
    ids=[
        "sha-512",
        "no-alg",
        "sd-string",
        "sd-garbage",
        "sd-duplicate",
        "nested-sd",
        "array-digest",
    ],
)
def test_payloads_outside_the_profile_are_invalid(changes: dict[str, Any], message: str) -> None:
    payload = {**clear_claims(), "_sd_alg": "sha-256", **changes}
    if payload["_sd_alg"] is None:
        del payload["_sd_alg"]
    jwt = forge_jws({"alg": "Ed25519", "typ": ALERT_TYP, "kid": ISSUER.kid}, payload, ISSUER)
    with pytest.raises(InvalidSdJwt, match=message):
        verify_text(jwt + "~")


def test_key_binding_jwt_on_submission_is_invalid() -> None:
    presentation = present(verify_text(make_alert()), set(CONTENT), KB, PARTNER, CURSOR, NOW)
    with pytest.raises(InvalidSdJwt, match="must not carry a key-binding JWT"):
        verify_text(presentation)


# --- Presentations --------------------------------------------------------------------------


def presentation_of(shown: set[str], **kwargs: Any) -> str:
    args: dict[str, Any] = {"audience": PARTNER, "nonce": CURSOR, "issued_at": NOW, **kwargs}
    return present(verify_text(make_alert()), shown, KB, **args)


def verify_for_partner(presentation: str | UnverifiedSdJwt, **kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "issuer_key": ISSUER.public,
        "kb_key": KB.public,
        "audience": PARTNER,
        "nonce": CURSOR,
        "now": NOW,
        **kwargs,
    }
    return verify_presentation(presentation, **args)


def test_subset_presentation_hides_the_other_values() -> None:
    presentation = presentation_of({"charges"})
    seen = verify_for_partner(presentation)
    assert seen.disclosed == {"charges": CONTENT["charges"]}
    assert seen.undisclosed_count == len(CONTENT) - 1
    assert seen.claims == clear_claims()
    assert seen.kb_claims["aud"] == PARTNER and seen.kb_claims["nonce"] == CURSOR
    everything = decoded_everything(presentation)
    for marker in ("Möbius", "Quintus", "Zeta-Kappa", "Valletta"):
        assert marker not in everything
    assert "money-laundering" in everything  # the check above can see a disclosed value


def test_presentation_header_and_claims() -> None:
    kb_jwt = presentation_of({"narrative"}).rsplit("~", 1)[1]
    header, claims = (json.loads(ref.b64url_decode(s)) for s in kb_jwt.split(".")[:2])
    assert header == {"alg": "Ed25519", "typ": "kb+jwt", "kid": KB.kid}
    assert set(claims) == {"iat", "aud", "nonce", "sd_hash"}


def test_presenting_nothing_or_everything() -> None:
    assert verify_for_partner(presentation_of(set())).disclosed == {}
    assert verify_for_partner(presentation_of(set(CONTENT))).disclosed == CONTENT


def test_stored_alert_presents_the_same_as_verified() -> None:
    text = make_alert()
    from_verified = present(verify_text(text), {"subject"}, KB, PARTNER, CURSOR, NOW)
    assert present(parse_sd_jwt(text), {"subject"}, KB, PARTNER, CURSOR, NOW) == from_verified


def test_present_refuses_unknown_claims_and_unbound_keys() -> None:
    alert = verify_text(make_alert())
    with pytest.raises(ValueError, match="no disclosure"):
        present(alert, {"nickname"}, KB, PARTNER, CURSOR, NOW)
    with pytest.raises(InvalidSdJwt, match=r"cnf\.jwk"):
        present(alert, {"subject"}, OTHER, PARTNER, CURSOR, NOW)


def replace_kb_jwt(
    presentation: str, header: dict[str, Any], claims: dict[str, Any], key: SigningPrivateKey
) -> str:
    return presentation.rsplit("~", 1)[0] + "~" + forge_jws(header, claims, key)


def kb_claims_of(presentation: str) -> dict[str, Any]:
    return dict(json.loads(ref.b64url_decode(presentation.rsplit("~", 1)[1].split(".")[1])))


KB_HEADER = {"alg": "Ed25519", "typ": "kb+jwt", "kid": KB.kid}


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"audience": "nl.politie"}, "another audience"),
        ({"nonce": "43"}, "nonce"),
        ({"kb_key": OTHER.public}, r"cnf\.jwk"),
        ({"issuer_key": OTHER.public}, "issuer-signed JWT"),
        ({"now": NOW - 3600}, "in the future"),
        ({"now": NOW + 3600, "max_age": 300}, "too old"),
    ],
    ids=["aud", "nonce", "kb-key", "issuer-key", "future", "max-age"],
)
def test_presentation_checks(check: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSdJwt, match=message):
        verify_for_partner(presentation_of({"subject"}), **check)


def test_old_presentations_stay_valid_without_max_age() -> None:
    # Feed items may be polled long after they were made; aud+nonce+envelope stop replay.
    assert verify_for_partner(presentation_of({"subject"}), now=NOW + 365 * 86_400).disclosed


@pytest.mark.parametrize("where", ["drop", "add"])
def test_sd_hash_binds_the_exact_disclosures(where: str) -> None:
    alert = verify_text(make_alert())
    if where == "drop":
        jwt, _, *disclosures, kb_jwt = present(alert, set(CONTENT), KB, PARTNER, CURSOR, NOW).split(
            "~"
        )
    else:
        jwt, *disclosures, kb_jwt = present(alert, {"subject"}, KB, PARTNER, CURSOR, NOW).split("~")
        disclosures.append(alert.disclosures["narrative"].encoded)  # listed in _sd, not bound
    with pytest.raises(InvalidSdJwt, match="sd_hash"):
        verify_for_partner("~".join([jwt, *disclosures, kb_jwt]))


@pytest.mark.parametrize(
    ("header", "claims", "key", "message"),
    [
        (KB_HEADER, None, OTHER, "signature"),
        ({**KB_HEADER, "typ": "JWT"}, None, KB, "typ"),
        ({**KB_HEADER, "alg": "none"}, None, KB, "alg"),
        ({**KB_HEADER, "kid": OTHER.kid}, None, KB, "kid"),
        (KB_HEADER, {"extra": 1}, KB, "exactly iat, aud, nonce, sd_hash"),
        (KB_HEADER, {"iat": "now"}, KB, "iat"),
        (KB_HEADER, {"aud": [PARTNER]}, KB, "another audience"),
    ],
    ids=["other-key", "typ", "alg-none", "kid", "extra-claim", "iat-string", "aud-list"],
)
def test_key_binding_jwt_checks(
    header: dict[str, Any], claims: dict[str, Any] | None, key: SigningPrivateKey, message: str
) -> None:
    presentation = presentation_of({"subject"})
    body = {**kb_claims_of(presentation), **(claims or {})}
    with pytest.raises(InvalidSdJwt, match=message):
        verify_for_partner(replace_kb_jwt(presentation, header, body, key))


def test_presentation_without_key_binding_is_invalid() -> None:
    with pytest.raises(InvalidSdJwt, match="no key-binding JWT"):
        verify_for_partner(make_alert())


def test_parsed_presentation_is_accepted_too() -> None:
    parsed = parse_sd_jwt(presentation_of({"charges"}))
    assert isinstance(parsed, UnverifiedSdJwt) and parsed.kb_jwt is not None
    assert verify_for_partner(parsed).disclosed == {"charges": CONTENT["charges"]}
