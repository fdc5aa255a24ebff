"""The console's protocol library (service/console/static/js/protocol.js) in headless Chromium,
checked against the committed vectors (docs/vectors) and against forgeries made here with the
server's own protocol code, so each check is seen both to pass and to refuse."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwe
from joserfc.jwe import JWERegistry
from joserfc.jwk import OKPKey
from playwright.async_api import Page, Route

from service.protocol.crypto import (
    EncryptionPrivateKey,
    SigningPrivateKey,
    SigningPublicKey,
    b64url_decode,
    b64url_encode,
)
from service.protocol.envelope import seal_for, sign_jws
from service.protocol.note import NoteSigner, parse_checkpoint_body, sign_checkpoint
from service.protocol.vectors import load_test_keys

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors"
#: The private halves of the vectors' test keys (tests/vectors/keys.json).
TEST_KEYS = load_test_keys()

# Runs inside the page: the module, and `outcome`, which says how a call ended so that a test
# can tell a ProtocolError (a refused input) from any other failure (a bug).
_PRELUDE = """
const P = await import("/js/protocol.js");
const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);
const outcome = async (fn) => {
  try { await fn(); } catch (e) {
    return (e instanceof P.ProtocolError ? "ProtocolError: " : "other: ") + e.message;
  }
  return "resolved";
};
"""


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text("utf-8"))
    return document


async def run(page: Page, body: str, arg: Any = None) -> Any:
    """Evaluate ``body`` (an async function body with ``P`` the module and ``arg``) in the page."""
    return await page.evaluate(f"async (arg) => {{\n{_PRELUDE}\n{body}\n}}", arg)


def refused(result: Any, reason: str) -> bool:
    return isinstance(result, str) and result.startswith("ProtocolError: ") and reason in result


# ---------------------------------------------------------------- encodings


async def test_base64_helpers_match_the_standard_encodings(browser_page: Page) -> None:
    samples = [b"", b"f", b"fo", b"foo", b"foob", bytes(range(256)), b"\xfb\xff\xfe"]
    result = await run(
        browser_page,
        """
        return arg.map((hex) => {
          const bytes = new Uint8Array(hex.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
          const std = P.b64encode(bytes);
          const url = P.b64urlEncode(bytes);
          const back = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
          return [std, url, back(P.b64decode(std)), back(P.b64urlDecode(url))];
        });
        """,
        [sample.hex() for sample in samples],
    )
    expected = [
        [
            base64.b64encode(sample).decode(),
            base64.urlsafe_b64encode(sample).rstrip(b"=").decode(),
            sample.hex(),
            sample.hex(),
        ]
        for sample in samples
    ]
    assert result == expected


@pytest.mark.parametrize(
    ("function", "text"),
    [
        ("b64decode", "Zm9vYg"),  # unpadded
        ("b64decode", "Zm9v-_=="),  # url alphabet
        ("b64decode", "Zm9v\nYmFy"),
        ("b64urlDecode", "Zm9vYg=="),  # padded
        ("b64urlDecode", "Zm9v+/"),  # standard alphabet
        ("b64urlDecode", "Zm9vY"),  # a length no encoding has
    ],
)
async def test_base64_decoders_refuse_the_other_forms(
    browser_page: Page, function: str, text: str
) -> None:
    result = await run(
        browser_page,
        "return outcome(() => P[arg.function](arg.text));",
        {"function": function, "text": text},
    )
    assert refused(result, "base64")


# ---------------------------------------------------------------- keys


async def test_imported_private_keys_are_not_extractable(browser_page: Page) -> None:
    signing = TEST_KEYS["partner_signing"]
    encryption = TEST_KEYS["partner_encryption"]
    result = await run(
        browser_page,
        """
        const s = await P.importSigningKey(arg.signing);
        const e = await P.importEncryptionKey(arg.encryption);
        const exports = [];
        for (const key of [s.key, e.key]) {
          for (const format of ["jwk", "pkcs8", "raw"]) {
            const exported = crypto.subtle.exportKey(format, key);
            exports.push(await exported.then(() => "exported", () => "rejected"));
          }
        }
        return {
          extractable: [s.key.extractable, e.key.extractable],
          types: [s.key.type, s.key.algorithm.name, e.key.type, e.key.algorithm.name],
          usages: [s.key.usages, e.key.usages],
          kids: [s.kid, e.kid],
          publicJwks: [s.publicJwk, e.publicJwk],
          exports,
        };
        """,
        {"signing": signing, "encryption": encryption},
    )
    assert result["extractable"] == [False, False]
    assert result["types"] == ["private", "Ed25519", "private", "X25519"]
    assert result["usages"] == [["sign"], ["deriveBits"]]
    assert result["exports"] == ["rejected"] * 6
    assert result["kids"] == [signing["kid"], encryption["kid"]]
    assert result["publicJwks"] == [
        {key: jwk[key] for key in ("kty", "crv", "x", "kid")} for jwk in (signing, encryption)
    ]


async def test_a_key_without_kid_gets_its_rfc7638_thumbprint(browser_page: Page) -> None:
    key = SigningPrivateKey.generate()
    jwk = {name: value for name, value in key.to_jwk().items() if name != "kid"}
    result = await run(browser_page, "return (await P.importSigningKey(arg)).kid;", jwk)
    assert result == key.kid  # generate() names the key by its thumbprint


@pytest.mark.parametrize("function", ["importSigningKey", "importEncryptionKey"])
async def test_a_private_key_whose_x_is_not_its_own_is_refused(
    browser_page: Page, function: str
) -> None:
    if function == "importSigningKey":
        jwk, other = SigningPrivateKey.generate().to_jwk(), SigningPrivateKey.generate().to_jwk()
    else:
        jwk, other = (
            EncryptionPrivateKey.generate().to_jwk(),
            EncryptionPrivateKey.generate().to_jwk(),
        )
    mismatched = {**jwk, "x": other["x"]}
    result = await run(
        browser_page,
        "return [await outcome(() => P[arg.f](arg.good)), await outcome(() => P[arg.f](arg.bad))];",
        {"f": function, "good": jwk, "bad": mismatched},
    )
    assert result[0] == "resolved"
    assert refused(result[1], "x and d must be one key pair")


async def test_a_public_key_with_d_is_refused(browser_page: Page) -> None:
    jwk = TEST_KEYS["broker_kb"]
    result = await run(browser_page, "return outcome(() => P.importPublicKey(arg));", jwk)
    assert refused(result, "must not carry d")


# ---------------------------------------------------------------- request signing

REQUESTS = load("request-signature")


def _request_arg(name: str) -> dict[str, Any]:
    return {"jwk": TEST_KEYS["partner_signing"], "inputs": REQUESTS["requests"][name]["inputs"]}


_SIGN_VECTOR = """
const key = await P.importSigningKey(arg.jwk);
const i = arg.inputs;
const request = { method: i.method, url: i.url, body: enc(i.body), kid: i.keyid, key: key.key,
                  created: i.created, nonce: i.nonce };
return { base: await P.requestSignatureBase(request), headers: await P.signRequest(request) };
"""


@pytest.mark.parametrize("name", sorted(REQUESTS["requests"]))
async def test_request_signature_matches_the_vector(browser_page: Page, name: str) -> None:
    result = await run(browser_page, _SIGN_VECTOR, _request_arg(name))
    expected = REQUESTS["requests"][name]["expected"]
    assert result["base"] == expected["signature_base"]
    assert result["headers"] == expected["headers"]


async def test_a_fresh_signature_verifies_with_the_public_key(browser_page: Page) -> None:
    result = await run(
        browser_page,
        """
        const key = await P.importSigningKey(arg.jwk);
        const request = { method: "POST", url: "https://Liaison.Example:443/v1/alerts?x=1",
                          body: enc('{"a":1}'), kid: key.kid, key: key.key };
        const first = await P.signRequest(request);
        const second = await P.signRequest(request);
        const params = first["Signature-Input"];
        const created = Number(/;created=(\\d+)/.exec(params)[1]);
        const nonce = /;nonce="([^"]+)"/.exec(params)[1];
        const base = await P.requestSignatureBase({ ...request, created, nonce });
        return { first, second, base, created, nonce, now: Math.floor(Date.now() / 1000) };
        """,
        {"jwk": TEST_KEYS["partner_signing"]},
    )
    first, second = result["first"], result["second"]
    assert b'"@authority": liaison.example\n' in result["base"].encode()
    assert '"@query": ?x=1\n' in result["base"]
    assert len(b64url_decode(result["nonce"])) >= 16
    assert first["Signature-Input"] != second["Signature-Input"]  # a fresh nonce per call
    assert abs(result["now"] - result["created"]) <= 5
    digest = base64.b64encode(hashlib.sha256(b'{"a":1}').digest()).decode()
    assert first["Content-Digest"] == f"sha-256=:{digest}:"
    signature = base64.b64decode(first["Signature"].removeprefix("sig1=:").removesuffix(":"))
    public = SigningPublicKey.from_jwk(REQUESTS["signer"]["public_jwk"])
    public.verify(signature, result["base"].encode())


async def test_api_sends_a_signed_request_and_raises_problems(
    browser_page: Page, console_origin: str
) -> None:
    seen: list[dict[str, Any]] = []

    async def broker(route: Route) -> None:
        request = route.request
        seen.append({"headers": await request.all_headers(), "body": request.post_data_buffer})
        if request.method == "POST":
            await route.fulfill(status=201, json={"ok": True})
        else:
            problem = {"type": "urn:liaison:problem:not-found", "title": "Not found", "status": 404}
            await route.fulfill(status=404, json=problem, content_type="application/problem+json")

    await browser_page.route("**/broker/v1/**", broker)
    result = await run(
        browser_page,
        """
        const key = await P.importSigningKey(arg.jwk);
        const session = { baseUrl: arg.base, kid: key.kid, key: key.key };
        const body = { status: "received" };
        const created = await P.api(session, "POST", "/v1/alerts/x/dispositions", body);
        let problem = null;
        try { await P.api(session, "GET", "/v1/alerts/missing"); } catch (e) {
          problem = e instanceof P.ProblemError ? [e.status, e.problem.type] : String(e);
        }
        return { created, problem };
        """,
        {"jwk": TEST_KEYS["partner_signing"], "base": f"{console_origin}/broker/"},
    )
    assert result == {"created": {"ok": True}, "problem": [404, "urn:liaison:problem:not-found"]}
    post = seen[0]
    assert post["body"] == b'{"status":"received"}'
    assert post["headers"]["content-type"] == "application/json"
    digest = base64.b64encode(hashlib.sha256(post["body"]).digest()).decode()
    assert post["headers"]["content-digest"] == f"sha-256=:{digest}:"
    assert post["headers"]["signature-input"].startswith(
        'sig1=("@method" "@authority" "@path" "@query" "content-digest");'
    )
    assert "signature" in seen[1]["headers"]
    assert "content-digest" not in seen[1]["headers"]


# ---------------------------------------------------------------- alerts and presentations

PRESENTATION = load("presentation")
ALERT = load("alert")


async def test_disclosure_digests_match_the_alert_vector(browser_page: Page) -> None:
    disclosures = ALERT["expected"]["disclosures"]
    result = await run(
        browser_page,
        "return Promise.all(arg.map((d) => P.disclosureDigest(d)));",
        [d["encoded"] for d in disclosures],
    )
    assert result == [d["digest"] for d in disclosures]
    assert sorted(result) == sorted(ALERT["expected"]["issuer_payload"]["_sd"])


_VERIFY_PRESENTATION = """
const originatorKey = await P.importPublicKey(arg.issuer);
const kbKey = await P.importPublicKey(arg.kb);
const options = { originatorKey, kbKey, audience: arg.audience, nonce: arg.nonce };
if (arg.expectFailure) return outcome(() => P.verifyPresentation(arg.text, options));
return P.verifyPresentation(arg.text, options);
"""


def _presentation_arg(changes: dict[str, Any]) -> dict[str, Any]:
    keys = PRESENTATION["expected"]["verify_with"]
    arg = {
        "text": PRESENTATION["expected"]["presentation"],
        "issuer": keys["issuer_public_jwk"],
        "kb": keys["kb_public_jwk"],
        "audience": "de-bka",
        "nonce": "42",
        "expectFailure": True,
    }
    arg.update(changes)
    return arg


async def test_presentation_vector_verifies(browser_page: Page) -> None:
    expected = PRESENTATION["expected"]
    arg = _presentation_arg({"expectFailure": False})
    result = await run(browser_page, _VERIFY_PRESENTATION, arg)
    clear = {
        name: value
        for name, value in ALERT["expected"]["issuer_payload"].items()
        if name not in ("_sd", "_sd_alg")
    }
    assert result == {
        "clear": clear,
        "disclosed": expected["disclosed"],
        "undisclosedCount": 1,
        "kb": expected["kb_jwt_claims"],
    }


def _parts() -> tuple[str, list[str], str]:
    issuer, *disclosures, kb_jwt = PRESENTATION["expected"]["presentation"].split("~")
    return issuer, disclosures, kb_jwt


def _kb_key() -> SigningPrivateKey:
    return SigningPrivateKey.from_jwk(TEST_KEYS["broker_kb"])


def _presented_with_fresh_kb(issuer: str, disclosures: list[str], **claims: Any) -> str:
    """A presentation whose KB-JWT the broker's key really signs, over exactly ``disclosures``."""
    sd_jwt = "".join(f"{part}~" for part in [issuer, *disclosures])
    sd_hash = b64url_encode(hashlib.sha256(sd_jwt.encode()).digest())
    kb = {"iat": 1767225600, "aud": "de-bka", "nonce": "42", "sd_hash": sd_hash, **claims}
    return sd_jwt + sign_jws(_kb_key(), "kb+jwt", kb)


def _flip_signature(jws: str) -> str:
    head, _, signature = jws.rpartition(".")
    raw = bytearray(b64url_decode(signature))
    raw[0] ^= 0x01
    return f"{head}.{b64url_encode(bytes(raw))}"


def _tampered_presentations() -> list[tuple[str, str, dict[str, Any]]]:
    issuer, disclosures, kb_jwt = _parts()
    shown = "~".join(disclosures)
    salt, name, _ = json.loads(b64url_decode(disclosures[0]))
    forged = b64url_encode(json.dumps([salt, name, "something else"]).encode())
    header, payload, signature = kb_jwt.split(".")
    claims = json.loads(b64url_decode(payload))
    edited = b64url_encode(json.dumps({**claims, "nonce": "43"}, separators=(",", ":")).encode())
    keys = PRESENTATION["expected"]["verify_with"]
    not_bound = {**keys["issuer_public_jwk"], "kid": keys["kb_public_jwk"]["kid"]}
    future = _presented_with_fresh_kb(issuer, disclosures, iat=4102444800)
    extra_claim = _presented_with_fresh_kb(issuer, disclosures, exp=4102444800)
    kb_failure = "key-binding JWT: the signature does not verify"
    issuer_failure = "issuer-signed JWT: the signature does not verify"
    return [
        # A disclosure the originator never signed, under a KB-JWT the broker did sign.
        (
            "forged disclosure",
            "disclosure 1 is not listed in _sd",
            {"text": _presented_with_fresh_kb(issuer, [forged, disclosures[1]])},
        ),
        (
            "KB-JWT claims edited",
            kb_failure,
            {"text": f"{issuer}~{shown}~{header}.{edited}.{signature}"},
        ),
        ("KB-JWT signature", kb_failure, {"text": f"{issuer}~{shown}~{_flip_signature(kb_jwt)}"}),
        (
            "issuer signature",
            issuer_failure,
            {"text": f"{_flip_signature(issuer)}~{shown}~{kb_jwt}"},
        ),
        (
            "a disclosure dropped",
            "sd_hash does not match",
            {"text": f"{issuer}~{disclosures[0]}~{kb_jwt}"},
        ),
        ("no KB-JWT", "no key-binding JWT", {"text": f"{issuer}~{shown}~"}),
        ("another audience", "another audience", {"audience": "nl-politie"}),
        ("another nonce", "nonce does not match", {"nonce": "41"}),
        ("KB-JWT in the future", "issued in the future", {"text": future}),
        ("an extra KB claim", "exactly iat, aud, nonce, sd_hash", {"text": extra_claim}),
        ("wrong originator key", "issuer-signed JWT", {"issuer": keys["kb_public_jwk"]}),
        ("kb key not in cnf", "cnf.jwk is not the broker's key-binding key", {"kb": not_bound}),
    ]


@pytest.mark.parametrize(
    ("reason", "changes"),
    [(reason, changes) for _, reason, changes in _tampered_presentations()],
    ids=[case for case, _, _ in _tampered_presentations()],
)
async def test_tampered_presentation_is_refused(
    browser_page: Page, reason: str, changes: dict[str, Any]
) -> None:
    arg = _presentation_arg(changes)
    result = await run(browser_page, _VERIFY_PRESENTATION, arg)
    assert refused(result, reason), result


# ---------------------------------------------------------------- envelopes

ENVELOPE = load("envelope")

_OPEN = """
const keys = [];
for (const jwk of arg.keys) keys.push(await P.importEncryptionKey(jwk));
if (arg.expectFailure) return outcome(() => P.openEnvelope(arg.jwe, keys));
return dec(await P.openEnvelope(arg.jwe, keys));
"""


async def test_envelope_vector_opens(browser_page: Page) -> None:
    other = EncryptionPrivateKey.generate().to_jwk()
    recipient = TEST_KEYS["partner_encryption"]
    arg = {"jwe": ENVELOPE["inputs"]["jwe"], "keys": [other, recipient], "expectFailure": False}
    assert await run(browser_page, _OPEN, arg) == ENVELOPE["expected"]["plaintext"]


async def test_envelope_with_party_info_opens(browser_page: Page) -> None:
    # apu/apv enter the Concat KDF (RFC 7518 §4.6.2): ignoring them derives another key.
    recipient = EncryptionPrivateKey.generate(kid="partner-enc")
    header = {
        "alg": "ECDH-ES",
        "enc": "A256GCM",
        "kid": recipient.kid,
        "apu": b64url_encode(b"Liaison broker"),
        "apv": b64url_encode(b"de-bka"),
    }
    registry = JWERegistry(algorithms=["ECDH-ES", "A256GCM"])
    public = OKPKey.import_key(dict(recipient.public.to_jwk()))
    token = jwe.encrypt_compact(header, b"with party info", public, registry=registry)
    arg = {"jwe": token, "keys": [recipient.to_jwk()], "expectFailure": False}
    assert await run(browser_page, _OPEN, arg) == "with party info"


def _with_header(token: str, **members: Any) -> str:
    header, rest = token.split(".", 1)
    decoded = json.loads(b64url_decode(header))
    decoded.update(members)
    return b64url_encode(json.dumps(decoded).encode()) + "." + rest


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong key", "does not decrypt"),
        ("no key with its kid", "no encryption key has the envelope's kid"),
        ("ciphertext altered", "does not decrypt"),
        ("zip", "compressed envelopes are refused"),
        ("another enc", "alg must be ECDH-ES and enc A256GCM"),
    ],
)
async def test_envelope_is_refused(browser_page: Page, case: str, reason: str) -> None:
    recipient = TEST_KEYS["partner_encryption"]
    token = ENVELOPE["inputs"]["jwe"]
    keys = [recipient]
    if case == "wrong key":
        keys = [EncryptionPrivateKey.generate(kid=recipient["kid"]).to_jwk()]
    elif case == "no key with its kid":
        keys = [{**recipient, "kid": "another-kid"}]
    elif case == "ciphertext altered":
        parts = token.split(".")
        raw = bytearray(b64url_decode(parts[3]))
        raw[0] ^= 0x01
        parts[3] = b64url_encode(bytes(raw))
        token = ".".join(parts)
    elif case == "zip":
        token = _with_header(token, zip="DEF")
    else:
        token = _with_header(token, enc="A128GCM")
    result = await run(browser_page, _OPEN, {"jwe": token, "keys": keys, "expectFailure": True})
    assert refused(result, reason), result


async def test_envelope_sealed_by_the_server_code_opens(browser_page: Page) -> None:
    recipient = EncryptionPrivateKey.generate()
    token = seal_for(recipient.public, "é — ok".encode())
    arg = {"jwe": token, "keys": [recipient.to_jwk()], "expectFailure": False}
    assert await run(browser_page, _OPEN, arg) == "é — ok"


# ---------------------------------------------------------------- notices

NOTICE = load("notice")

_NOTICE = """
const key = await P.importPublicKey(arg.key);
return outcome(async () => { arg.result = await P.verifyNotice(arg.jws, key, arg.expect); })
  .then((how) => [how, arg.result ?? null]);
"""


async def test_notice_vector_verifies(browser_page: Page) -> None:
    arg = {"jws": NOTICE["expected"]["jws"], "key": NOTICE["expected"]["verify_with"], "expect": {}}
    result = await run(browser_page, _NOTICE, arg)
    assert result == ["resolved", NOTICE["inputs"]["claims"]]
    arg["expect"] = {
        "audience": "de-bka",
        "type": "withdrawal",
        "alertId": NOTICE["inputs"]["claims"]["alert_id"],
    }
    assert (await run(browser_page, _NOTICE, arg))[0] == "resolved"


def _notice_cases() -> list[tuple[str, str, dict[str, Any]]]:
    jws = NOTICE["expected"]["jws"]
    kb = SigningPrivateKey.from_jwk(TEST_KEYS["broker_kb"])
    claims = NOTICE["inputs"]["claims"]
    other = SigningPrivateKey.generate(kid=kb.kid)
    other_kid = {**NOTICE["expected"]["verify_with"], "kid": "other"}
    bad_signature = "the signature does not verify"
    return [
        ("signature", bad_signature, {"jws": _flip_signature(jws)}),
        ("another key", bad_signature, {"jws": sign_jws(other, "liaison-notice+jwt", claims)}),
        ("another typ", "typ must be liaison-notice+jwt", {"jws": sign_jws(kb, "kb+jwt", claims)}),
        ("another kid", "kid does not name the expected key", {"key": other_kid}),
        ("another audience", "aud does not match", {"expect": {"audience": "nl-politie"}}),
    ]


@pytest.mark.parametrize(
    ("reason", "changes"),
    [(reason, changes) for _, reason, changes in _notice_cases()],
    ids=[case for case, _, _ in _notice_cases()],
)
async def test_notice_is_refused(browser_page: Page, reason: str, changes: dict[str, Any]) -> None:
    arg = {"jws": NOTICE["expected"]["jws"], "key": NOTICE["expected"]["verify_with"], "expect": {}}
    arg.update(changes)
    how, _ = await run(browser_page, _NOTICE, arg)
    assert refused(how, reason), how


async def test_notice_with_eddsa_is_refused(browser_page: Page) -> None:
    # The broker emits only Ed25519; EdDSA is accepted in an alert's issuer JWT alone (§6.3).
    kb = SigningPrivateKey.from_jwk(TEST_KEYS["broker_kb"])
    header = {"alg": "EdDSA", "typ": "liaison-notice+jwt", "kid": kb.kid}
    signing_input = (
        b64url_encode(json.dumps(header).encode())
        + "."
        + b64url_encode(json.dumps(NOTICE["inputs"]["claims"]).encode())
    )
    token = signing_input + "." + b64url_encode(kb.sign(signing_input.encode()))
    arg = {"jws": token, "key": NOTICE["expected"]["verify_with"], "expect": {}}
    how, _ = await run(browser_page, _NOTICE, arg)
    assert refused(how, "alg must be Ed25519"), how


# ---------------------------------------------------------------- checkpoints

CHECKPOINT = load("checkpoint")

_CHECKPOINT = """
const how = await outcome(async () => {
  const c = await P.verifyCheckpoint(arg.note, arg.vkey, arg.origin);
  arg.result = { origin: c.origin, size: c.size, root: P.b64encode(c.rootHash) };
});
return [how, arg.result ?? null];
"""


def _checkpoint_arg(**changes: Any) -> dict[str, Any]:
    arg = {
        "note": CHECKPOINT["expected"]["note"],
        "vkey": CHECKPOINT["expected"]["vkey"],
        "origin": CHECKPOINT["inputs"]["origin"],
    }
    arg.update(changes)
    return arg


async def test_checkpoint_vector_verifies(browser_page: Page) -> None:
    result = await run(browser_page, _CHECKPOINT, _checkpoint_arg())
    root = CHECKPOINT["expected"]["roots_by_size"]["7"]
    assert result == ["resolved", {"origin": "liaison.example/log", "size": 7, "root": root}]


def _checkpoint_cases() -> list[tuple[str, str, dict[str, Any]]]:
    note = CHECKPOINT["expected"]["note"]
    body = CHECKPOINT["expected"]["body"]
    name, _, key = CHECKPOINT["expected"]["vkey"].split("+", 2)
    private = SigningPrivateKey.from_jwk(TEST_KEYS["broker_checkpoint"])
    signer = NoteSigner(name, private)
    stranger = NoteSigner(name, SigningPrivateKey.generate())
    checkpoint = parse_checkpoint_body(body)
    # The root's last base64 digit carries two unused bits: "B" decodes like "A".
    non_canonical = signer.sign(body.replace("A=\n", "B=\n"))
    return [
        ("forged size", "does not verify", {"note": note.replace("\n7\n", "\n8\n", 1)}),
        ("forged root", "does not verify", {"note": note.replace("RF/w", "RF/x", 1)}),
        ("another origin", "another origin", {"origin": "other.example/log"}),
        ("key id not derived", "key ID does not match", {"vkey": f"{name}+{'0' * 8}+{key}"}),
        (
            "another key",
            "no signature by this key",
            {"note": sign_checkpoint(checkpoint, stranger)},
        ),
        ("no signature", "not a signed note", {"note": body}),
        ("non-canonical root", "not canonical base64", {"note": non_canonical}),
    ]


@pytest.mark.parametrize(
    ("reason", "changes"),
    [(reason, changes) for _, reason, changes in _checkpoint_cases()],
    ids=[case for case, _, _ in _checkpoint_cases()],
)
async def test_checkpoint_is_refused(
    browser_page: Page, reason: str, changes: dict[str, Any]
) -> None:
    how, _ = await run(browser_page, _CHECKPOINT, _checkpoint_arg(**changes))
    assert refused(how, reason), how


# ---------------------------------------------------------------- RFC 9162

PROOFS = load("proofs")


async def test_leaf_hashes_match_the_vector(browser_page: Page) -> None:
    result = await run(
        browser_page,
        "return Promise.all(arg.map(async (leaf) => P.b64encode(await P.leafHash(enc(leaf)))));",
        CHECKPOINT["inputs"]["leaves_utf8"],
    )
    assert result == CHECKPOINT["expected"]["leaf_hashes"]


_INCLUSION = """
const h = (s) => P.b64decode(s);
const proof = arg.hashes.map(h);
return outcome(() => P.verifyInclusion(h(arg.leaf_hash), arg.index, arg.size, proof, h(arg.root))
  .then((value) => { if (value !== true) throw new Error("did not return true"); }));
"""

_CONSISTENCY = """
const h = (s) => P.b64decode(s);
const proof = arg.hashes.map(h);
return outcome(() => P.verifyConsistency(arg.from, arg.to, proof, h(arg.old_root), h(arg.new_root))
  .then((value) => { if (value !== true) throw new Error("did not return true"); }));
"""


def _flip(hash_b64: str) -> str:
    raw = bytearray(base64.b64decode(hash_b64))
    raw[-1] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


INCLUSION = PROOFS["expected"]["inclusion"]
CONSISTENCY = PROOFS["expected"]["consistency"]


@pytest.mark.parametrize("case", INCLUSION, ids=[f"{c['index']}-of-{c['size']}" for c in INCLUSION])
async def test_inclusion_vectors_verify_and_a_wrong_hash_fails(
    browser_page: Page, case: dict[str, Any]
) -> None:
    assert await run(browser_page, _INCLUSION, case) == "resolved"
    wrong = [{**case, "leaf_hash": _flip(case["leaf_hash"])}, {**case, "root": _flip(case["root"])}]
    wrong += [
        {**case, "hashes": [*case["hashes"][:i], _flip(h), *case["hashes"][i + 1 :]]}
        for i, h in enumerate(case["hashes"])
    ]
    wrong += [{**case, "index": case["size"]}, {**case, "hashes": [*case["hashes"], case["root"]]}]
    for changed in wrong:
        assert refused(await run(browser_page, _INCLUSION, changed), ""), changed


@pytest.mark.parametrize(
    "case", CONSISTENCY, ids=[f"{c['from']}-to-{c['to']}" for c in CONSISTENCY]
)
async def test_consistency_vectors_verify_and_a_wrong_hash_fails(
    browser_page: Page, case: dict[str, Any]
) -> None:
    assert await run(browser_page, _CONSISTENCY, case) == "resolved"
    wrong = [
        {**case, "old_root": _flip(case["old_root"])},
        {**case, "new_root": _flip(case["new_root"])},
    ]
    wrong += [
        {**case, "hashes": [*case["hashes"][:i], _flip(h), *case["hashes"][i + 1 :]]}
        for i, h in enumerate(case["hashes"])
    ]
    if case["from"] != case["to"]:
        # (a larger `to` is not a mutation to test: the proof alone does not bind the size,
        # the signed checkpoint does.)
        wrong += [
            {**case, "hashes": case["hashes"][:-1]},
            {**case, "hashes": [*case["hashes"], case["old_root"]]},
        ]
    for changed in wrong:
        assert refused(await run(browser_page, _CONSISTENCY, changed), ""), changed


async def test_receipt_vector_verifies(browser_page: Page) -> None:
    receipt = load("receipt")
    inputs = receipt["inputs"]
    header, index_line, *rest = receipt["expected"]["tlog_proof"].split("\n")
    blank = rest.index("")
    hashes, note = rest[:blank], "\n".join(rest[blank + 1 :])
    assert (header, index_line) == ("c2sp.org/tlog-proof@v1", f"index {inputs['index']}")
    result = await run(
        browser_page,
        """
        const c = await P.verifyCheckpoint(arg.note, arg.vkey, arg.origin);
        const leaf = await P.leafHash(enc(arg.leaf));
        return P.verifyInclusion(leaf, arg.index, c.size, arg.hashes.map(P.b64decode), c.rootHash);
        """,
        {**inputs, "note": note, "hashes": hashes, "leaf": inputs["leaf_utf8"]},
    )
    assert result is True
