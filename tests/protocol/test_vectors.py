"""The committed test vectors (docs/vectors/): no drift from the generator, and every one
verifies with the protocol's own verifiers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.protocol.crypto import (
    EncryptionPrivateKey,
    SigningPublicKey,
    VerificationError,
    b64decode_std,
)
from service.protocol.envelope import open_envelope, verify_notice
from service.protocol.errors import InvalidSignature
from service.protocol.merkle import leaf_hash, verify_consistency, verify_inclusion
from service.protocol.note import NoteVerifier, verify_checkpoint
from service.protocol.sdjwt import parse_sd_jwt, verify_alert, verify_presentation
from service.protocol.signatures import (
    UnverifiedRequest,
    parse_signature_params,
    verify_signature,
)
from service.protocol.tlog_proof import verify_tlog_proof
from service.protocol.vectors import NOW, generate, load_test_keys, previous_envelope, render

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text("utf-8"))
    return document


def test_committed_vectors_are_what_the_generator_writes() -> None:
    generated = generate(previous_envelope(VECTORS))
    assert {p.stem for p in VECTORS.glob("*.json")} == set(generated)
    for name, vector in generated.items():
        assert (VECTORS / f"{name}.json").read_text("utf-8") == render(vector), name


def test_a_fresh_envelope_differs_only_in_its_token() -> None:
    fresh = generate(None)["envelope"]
    committed = load("envelope")
    assert fresh["inputs"]["jwe"] != committed["inputs"]["jwe"]
    fresh["inputs"]["jwe"] = committed["inputs"]["jwe"]
    assert fresh == committed


@pytest.mark.parametrize("which", ["post_with_body", "get_without_body"])
def test_signed_requests_verify(which: str) -> None:
    vector = load("request-signature")
    request = vector["requests"][which]
    headers = list(request["expected"]["headers"].items())
    unverified = UnverifiedRequest(
        request["inputs"]["method"],
        request["inputs"]["url"],
        headers,
        request["inputs"]["body"].encode(),
    )
    params = parse_signature_params(unverified)
    assert params.keyid == request["inputs"]["keyid"]
    verify_signature(unverified, params, SigningPublicKey.from_jwk(vector["signer"]["public_jwk"]))
    tampered = UnverifiedRequest(
        unverified.method, unverified.url.replace("/v1/", "/v2/"), headers, unverified.body
    )
    with pytest.raises(InvalidSignature):
        verify_signature(
            tampered, params, SigningPublicKey.from_jwk(vector["signer"]["public_jwk"])
        )


def test_the_alert_verifies_with_the_originator_key() -> None:
    vector = load("alert")
    key = SigningPublicKey.from_jwk(vector["inputs"]["originator_public_jwk"])
    alert = verify_alert(parse_sd_jwt(vector["expected"]["sd_jwt"]), key)
    assert alert.content == vector["inputs"]["content"]
    assert alert.claims == vector["inputs"]["clear_claims"]
    digests = [d["digest"] for d in vector["expected"]["disclosures"]]
    assert sorted(digests) == list(alert.digests)


def test_the_presentation_verifies_as_the_partner() -> None:
    vector = load("presentation")
    inputs, expected = vector["inputs"], vector["expected"]
    verified = verify_presentation(
        expected["presentation"],
        SigningPublicKey.from_jwk(expected["verify_with"]["issuer_public_jwk"]),
        SigningPublicKey.from_jwk(expected["verify_with"]["kb_public_jwk"]),
        inputs["aud"],
        inputs["nonce"],
        now=NOW,
    )
    assert verified.disclosed == expected["disclosed"]
    assert verified.kb_claims == expected["kb_jwt_claims"]
    assert verified.kb_claims["sd_hash"] == expected["sd_hash"]


def test_the_envelope_opens_to_the_presentation() -> None:
    vector = load("envelope")
    key = EncryptionPrivateKey.from_jwk(load_test_keys()["partner_encryption"])
    plaintext = open_envelope(key, vector["inputs"]["jwe"])
    assert plaintext.decode() == vector["expected"]["plaintext"]
    assert plaintext.decode() == load("presentation")["expected"]["presentation"]


def test_the_notice_verifies() -> None:
    vector = load("notice")
    key = SigningPublicKey.from_jwk(vector["expected"]["verify_with"])
    claims = verify_notice(vector["expected"]["jws"], key, vector["inputs"]["claims"]["aud"])
    assert claims == vector["inputs"]["claims"]


def test_the_checkpoint_verifies_and_commits_to_the_leaves() -> None:
    vector = load("checkpoint")
    inputs, expected = vector["inputs"], vector["expected"]
    verifier = NoteVerifier.from_vkey(expected["vkey"])
    checkpoint = verify_checkpoint(expected["note"], verifier, inputs["origin"])
    leaves = [leaf.encode() for leaf in inputs["leaves_utf8"]]
    assert checkpoint.size == len(leaves)
    assert [leaf_hash(leaf) for leaf in leaves] == [
        b64decode_std(h) for h in expected["leaf_hashes"]
    ]
    assert checkpoint.root_hash == b64decode_std(expected["roots_by_size"][str(len(leaves))])
    with pytest.raises(VerificationError):
        verify_checkpoint(expected["note"].replace("\n7\n", "\n8\n"), verifier)


def test_the_proofs_verify() -> None:
    expected = load("proofs")["expected"]
    for proof in expected["inclusion"]:
        verify_inclusion(
            b64decode_std(proof["leaf_hash"]),
            proof["index"],
            proof["size"],
            [b64decode_std(h) for h in proof["hashes"]],
            b64decode_std(proof["root"]),
        )
    for proof in expected["consistency"]:
        verify_consistency(
            proof["from"],
            proof["to"],
            [b64decode_std(h) for h in proof["hashes"]],
            b64decode_std(proof["old_root"]),
            b64decode_std(proof["new_root"]),
        )


def test_the_receipt_verifies_for_the_disclosed_entry() -> None:
    vector = load("receipt")
    inputs = vector["inputs"]
    verifier = NoteVerifier.from_vkey(inputs["vkey"])
    leaf = inputs["leaf_utf8"].encode()
    checkpoint = verify_tlog_proof(
        vector["expected"]["tlog_proof"], leaf, verifier, inputs["origin"]
    )
    assert checkpoint.size == 7
    with pytest.raises(VerificationError):
        verify_tlog_proof(vector["expected"]["tlog_proof"], leaf + b" ", verifier, inputs["origin"])
