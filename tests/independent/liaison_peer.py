"""An independent Liaison partner, written from the contract (API.md, docs/vectors/) alone.

It imports nothing from ``service``: jwcrypto for JOSE, http-message-signatures for RFC 9421,
httpx for HTTP, cryptography for raw Ed25519, and its own RFC 9162 verifier. Run as a script
(``python liaison_peer.py CONFIG OUT``) it plays one scenario against a live server: the
originator submits an SD-JWT it built, the partner polls, opens, verifies and answers, then
checks the disclosure's audit entry against a signed checkpoint. Any mismatch raises
``ContractViolation``; the result (and the modules it loaded) goes to OUT as JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
import sys
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms
from jwcrypto import jwe, jwk, jws

ALERT_TYP = "liaison-alert+sd-jwt"
KB_TYP = "kb+jwt"
COMPONENTS = ("@method", "@authority", "@path", "@query")
WAIT_SECONDS = 60.0


class ContractViolation(Exception):
    """The server's answer does not match the documented contract."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --- RFC 9421 request signing (API "Request authentication") ------------------------------


class _KeyResolver(HTTPSignatureKeyResolver):
    def __init__(self, key: jwk.JWK) -> None:
        self._key = key

    def resolve_private_key(self, key_id: str) -> Any:
        return self._key.get_op_key("sign")

    def resolve_public_key(self, key_id: str) -> Any:
        raise NotImplementedError


class Rfc9421Auth(httpx.Auth):
    """Signs every request: label sig1, tag liaison, alg ed25519, created, keyid, nonce."""

    requires_request_body = True

    def __init__(self, key: jwk.JWK) -> None:
        self._key = key
        self._signer = HTTPMessageSigner(
            signature_algorithm=algorithms.ED25519, key_resolver=_KeyResolver(key)
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = request.content
        self._signer.sign(
            request,
            key_id=self._key["kid"],
            created=None,  # now
            nonce=b64url(os.urandom(24)),
            label="sig1",
            tag="liaison",
            include_alg=True,
            covered_component_ids=COMPONENTS,
            body=body or None,
        )
        yield request


# --- SD-JWT (RFC 9901) as the originator builds it and the partner verifies it -------------


def build_alert(clear: dict[str, Any], content: dict[str, Any], key: jwk.JWK) -> str:
    """``<JWS>~<disclosure>~…~``: one disclosure per content claim, 128-bit salts."""
    disclosures = [
        b64url(compact_json([b64url(os.urandom(16)), name, value]))
        for name, value in content.items()
    ]
    disclosures.sort(key=disclosure_digest)
    payload = {**clear, "_sd": [disclosure_digest(d) for d in disclosures], "_sd_alg": "sha-256"}
    token = jws.JWS(compact_json(payload))
    header = {"alg": "Ed25519", "typ": ALERT_TYP, "kid": key["kid"]}
    token.add_signature(key, alg="Ed25519", protected=json.dumps(header))
    return str(token.serialize(compact=True)) + "~" + "".join(d + "~" for d in disclosures)


def disclosure_digest(encoded: str) -> str:
    return b64url(hashlib.sha256(encoded.encode("ascii")).digest())


def verify_jws(token: str, key: jwk.JWK, typ: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS with ``key``; the header must say ``typ`` and name ``key``."""
    verifier = jws.JWS()
    verifier.deserialize(token)
    # The broker signs with the RFC 9864 name "Ed25519"; jwcrypto must be allowed it.
    verifier.allowed_algs = ["Ed25519", "EdDSA"]
    try:
        verifier.verify(key)
    except jws.InvalidJWSSignature as exc:
        raise ContractViolation(f"a {typ} signature does not verify") from exc
    header = json.loads(b64url_decode(token.split(".")[0]))
    if header.get("typ") != typ or header.get("kid") != key["kid"]:
        raise ContractViolation(f"unexpected {typ} header {header}")
    return header, json.loads(verifier.payload)


@dataclass(frozen=True)
class VerifiedItem:
    claims: dict[str, Any]
    disclosed: dict[str, Any]
    kb_claims: dict[str, Any]


def verify_presentation(
    text: str, issuer: jwk.JWK, kb_key: jwk.JWK, audience: str, nonce: str
) -> VerifiedItem:
    """RFC 9901 §7.3 with key binding: issuer JWS, disclosures in _sd, cnf, KB-JWT."""
    issuer_jws, *disclosures, kb_jwt = text.split("~")
    if not kb_jwt:
        raise ContractViolation("the presentation has no key-binding JWT")
    _, payload = verify_jws(issuer_jws, issuer, ALERT_TYP)
    if payload.get("_sd_alg") != "sha-256":
        raise ContractViolation("_sd_alg is not sha-256")
    listed = set(payload["_sd"])
    disclosed: dict[str, Any] = {}
    for encoded in disclosures:
        if disclosure_digest(encoded) not in listed:
            raise ContractViolation("a disclosure is not listed in _sd")
        salt, name, value = json.loads(b64url_decode(encoded))
        if len(salt) < 22 or name in payload or name in disclosed:
            raise ContractViolation(f"disclosure {name!r} breaks the profile")
        disclosed[name] = value
    bound = payload.get("cnf", {}).get("jwk", {})
    if bound.get("x") != kb_key["x"] or bound.get("crv") != "Ed25519":
        raise ContractViolation("cnf.jwk is not the broker's kb_key")
    _, kb_claims = verify_jws(kb_jwt, kb_key, KB_TYP)
    if set(kb_claims) != {"iat", "aud", "nonce", "sd_hash"}:
        raise ContractViolation(f"KB-JWT claims {sorted(kb_claims)}")
    sd_hash = b64url(hashlib.sha256(text[: -len(kb_jwt)].encode("ascii")).digest())
    if (kb_claims["aud"], kb_claims["nonce"], kb_claims["sd_hash"]) != (audience, nonce, sd_hash):
        raise ContractViolation("KB-JWT aud, nonce or sd_hash does not match")
    clear = {n: v for n, v in payload.items() if n not in ("_sd", "_sd_alg")}
    return VerifiedItem(clear, disclosed, kb_claims)


def open_envelope(token: str, key: jwk.JWK) -> bytes:
    """Decrypt a feed envelope: compact JWE, ECDH-ES + A256GCM, kid the partner's key."""
    header = json.loads(b64url_decode(token.split(".")[0]))
    expected = ("ECDH-ES", "A256GCM", key["kid"])
    if (header.get("alg"), header.get("enc"), header.get("kid")) != expected or "zip" in header:
        raise ContractViolation(f"unexpected envelope header {header}")
    envelope = jwe.JWE()
    envelope.allowed_algs = ["ECDH-ES", "A256GCM"]
    envelope.deserialize(token, key=key)
    return bytes(envelope.payload)


# --- C2SP signed notes and RFC 9162 proofs --------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def verify_checkpoint(note: str, vkey: str) -> Checkpoint:
    """c2sp.org/signed-note with an Ed25519 key ``name+hex(keyid)+base64(0x01‖pubkey)``."""
    name, key_id_hex, key_b64 = vkey.split("+", 2)
    typed = base64.b64decode(key_b64, validate=True)
    if typed[:1] != b"\x01" or len(typed) != 33:
        raise ContractViolation("the checkpoint vkey is not an Ed25519 note key")
    key_id = hashlib.sha256(name.encode() + b"\n" + typed).digest()[:4]
    if key_id.hex() != key_id_hex:
        raise ContractViolation("the checkpoint vkey's key ID does not match")
    text, _, signatures = note.rpartition("\n\n")
    text += "\n"
    verified = False
    for line in signatures.rstrip("\n").split("\n"):
        signer, _, encoded = line.removeprefix("\u2014 ").partition(" ")
        raw = base64.b64decode(encoded, validate=True)
        if signer != name or raw[:4] != key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(typed[1:]).verify(raw[4:], text.encode())
        except InvalidSignature as exc:
            raise ContractViolation("the checkpoint signature does not verify") from exc
        verified = True
    if not verified:
        raise ContractViolation("the checkpoint carries no signature by the broker's key")
    origin, size, root = text.rstrip("\n").split("\n")[:3]
    return Checkpoint(origin, int(size), base64.b64decode(root, validate=True))


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2, step by step."""
    if index >= size:
        raise ContractViolation("inclusion: index beyond the tree")
    fn, sn = index, size - 1
    r = hashlib.sha256(b"\x00" + leaf).digest()
    for p in path:
        if sn == 0:
            raise ContractViolation("inclusion: proof too long")
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise ContractViolation("inclusion: the proof does not lead to the checkpoint's root")


def verify_receipt(text: str, leaf: bytes, index: int, vkey: str) -> Checkpoint:
    """c2sp.org/tlog-proof@v1: header, optional extra, index, hashes, blank line, checkpoint."""
    proof, _, note = text.partition("\n\n")
    lines = proof.split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1":
        raise ContractViolation("the receipt does not start with c2sp.org/tlog-proof@v1")
    lines = [line for line in lines[1:] if not line.startswith("extra ")]
    if lines[0] != f"index {index}":
        raise ContractViolation(f"the receipt is for {lines[0]!r}")
    hashes = [base64.b64decode(line, validate=True) for line in lines[1:]]
    checkpoint = verify_checkpoint(note, vkey)
    verify_inclusion(leaf, index, checkpoint.size, hashes, checkpoint.root)
    return checkpoint


# --- the scenario ---------------------------------------------------------------------------


class Agency:
    """One agency's signed HTTP session."""

    def __init__(
        self, base_url: str, tls: ssl.SSLContext, agency_id: str, signing: jwk.JWK
    ) -> None:
        self.id = agency_id
        self.http = httpx.Client(base_url=base_url, verify=tls, auth=Rfc9421Auth(signing))

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        if response.is_error:
            raise ContractViolation(f"{method} {path}: {response.status_code} {response.text}")
        return response


def _wait_for(what: str, probe: Any) -> Any:
    # Polls the server until ``probe`` returns something; the server promises each step
    # within seconds (feed long-poll, checkpoint within 2 s), this bound is only a backstop.
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.2)
    raise ContractViolation(f"gave up waiting for {what}")


def run(config: dict[str, Any]) -> dict[str, Any]:
    """The whole scenario; returns what the test checks."""
    base, ca = config["base_url"], ssl.create_default_context(cafile=config["ca"])
    broker = httpx.get(f"{base}/v1/broker", verify=ca).raise_for_status().json()
    kb_key = jwk.JWK(**broker["kb_key"])
    origin_cfg, partner_cfg = config["originator"], config["partner"]
    originator_key = jwk.JWK(**origin_cfg["signing"])
    originator = Agency(base, ca, origin_cfg["id"], originator_key)
    partner = Agency(base, ca, partner_cfg["id"], jwk.JWK(**partner_cfg["signing"]))
    partner_enc = jwk.JWK(**partner_cfg["encryption"])

    # 1. The originator builds and submits an SD-JWT.
    now = int(time.time())
    alert_id = config["alert_id"]
    clear = {
        "iss": originator.id,
        "jti": alert_id,
        "iat": now,
        "exp": now + 7 * 86400,
        "kind": "diffusion",
        "category": "fraud",
        "tlp": "amber",
        "handling": ["H1"],
        "audience": {"agencies": [partner.id], "groups": [], "all": False},
        "purpose": "investigate",
        "legal_basis": "mutual-legal-assistance-treaty",
        "cnf": {"jwk": broker["kb_key"]},
    }
    content = config["content"]
    token = build_alert(clear, content, originator_key)
    headers = {"Content-Type": "application/sd-jwt"}
    submitted = originator.call("POST", "/v1/alerts", content=token.encode(), headers=headers)

    # 2. The partner polls its feed until the alert arrives, opens and verifies it.
    def poll() -> dict[str, Any] | None:
        feed = partner.call("GET", "/v1/feed", params={"wait": 5}).json()
        return next((i for i in feed["items"] if i["alert_id"] == alert_id), None)

    item = _wait_for("the feed item", poll)
    if item["type"] != "alert":
        raise ContractViolation(f"feed item type {item['type']!r}")
    plaintext = open_envelope(item["envelope"], partner_enc)
    agency = partner.call("GET", f"/v1/agencies/{originator.id}").json()
    issuer_kid = json.loads(b64url_decode(plaintext.decode().split(".")[0]))["kid"]
    issuer = next(k for k in agency["signing_keys"] if k["kid"] == issuer_kid)
    verified = verify_presentation(
        plaintext.decode("ascii"), jwk.JWK(**issuer), kb_key, partner.id, item["cursor"]
    )

    # 3. The partner answers.
    disposition = {"status": "received", "reason": "read by the independent peer"}
    partner.call("POST", f"/v1/alerts/{alert_id}/dispositions", json=disposition)

    # 4. The disclosure is in the log: its entry, a checkpoint that covers it, the proof.
    search = {"alert_id": alert_id, "event": "alert.disclosed"}

    def disclosure_entry() -> dict[str, Any] | None:
        # Entries appear once integrated into the log (within 2 s of the poll, API "Partner
        # feed"); until then the search does not list them.
        entries = partner.call("GET", "/v1/audit/search", params=search).json()["entries"]
        return next((e for e in entries if e.get("partner") == partner.id), None)

    entry: dict[str, Any] = _wait_for("the alert.disclosed entry", disclosure_entry)
    if entry["digest"] != hashlib.sha256(plaintext).hexdigest():
        raise ContractViolation("the alert.disclosed digest is not SHA-256 of what we opened")

    def covering_checkpoint() -> Checkpoint | None:
        note = httpx.get(f"{base}/v1/audit/checkpoint", verify=ca).raise_for_status().text
        checkpoint = verify_checkpoint(note, broker["checkpoint_vkey"])
        return checkpoint if checkpoint.size > entry["index"] else None

    checkpoint: Checkpoint = _wait_for("a checkpoint covering the entry", covering_checkpoint)
    if checkpoint.origin != broker["origin"]:
        raise ContractViolation("the checkpoint's origin is not the broker's")
    proof = partner.call(
        "GET",
        "/v1/audit/proof/inclusion",
        params={"index": entry["index"], "size": checkpoint.size},
    ).json()
    # The leaf is "the exact bytes of one entry"; search returns it decoded, so the peer
    # re-encodes it as the server does (compact JSON, sorted members, UTF-8).
    leaf = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if (proof["index"], proof["size"]) != (entry["index"], checkpoint.size):
        raise ContractViolation(f"the inclusion proof is for {proof['index']}/{proof['size']}")
    hashes = [base64.b64decode(h, validate=True) for h in proof["hashes"]]
    verify_inclusion(leaf, entry["index"], checkpoint.size, hashes, checkpoint.root)

    # 5. The same fact as an offline receipt (c2sp.org/tlog-proof@v1).
    receipt = partner.call("GET", f"/v1/audit/receipt/{entry['index']}").text
    receipt_checkpoint = verify_receipt(receipt, leaf, entry["index"], broker["checkpoint_vkey"])

    loaded = sorted(m for m in sys.modules if m == "service" or m.startswith("service."))
    return {
        "submitted": submitted.json(),
        "submitted_status_code": submitted.status_code,
        "item": {"type": item["type"], "cursor": item["cursor"]},
        "clear_claims": verified.claims,
        "disclosed": verified.disclosed,
        "kb_claims": verified.kb_claims,
        "disclosure_index": entry["index"],
        "checkpoint_size": checkpoint.size,
        "receipt_checkpoint_size": receipt_checkpoint.size,
        "service_modules_loaded": loaded,
    }


def main(argv: Sequence[str]) -> int:
    config_path, out_path = argv
    result = run(json.loads(Path(config_path).read_text("utf-8")))
    Path(out_path).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
