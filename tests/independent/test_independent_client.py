"""An independent client (``liaison_peer.py``, no ``service`` import) against the vectors and
a live server: if it interoperates, the contract is implementable from its documents."""

from __future__ import annotations

import ast
import asyncio
import base64
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from jwcrypto import jwk

from service.client.api import LiaisonClient, load_private_jwk
from tests.cli.conftest import live_server
from tests.independent import liaison_peer as peer

__all__ = ["live_server"]  # the fixture, shared with the CLI tests

PEER = Path(__file__).with_name("liaison_peer.py")
VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors"


def private_test_key(reference: str) -> dict[str, str]:
    """A private test key named in a vector as ``<file under the checkout>#<name>``."""
    file, _, name = reference.partition("#")
    keys: dict[str, dict[str, str]] = json.loads((VECTORS.parents[1] / file).read_text())["keys"]
    return keys[name]


CONTENT = {
    "narrative": "Carousel VAT fraud ring operating through shell companies",
    "charges": ["fraud", "money-laundering"],
}


def vector(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text("utf-8"))
    return document


def test_the_peer_imports_no_service_module() -> None:
    tree = ast.parse(PEER.read_text("utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported and not {m for m in imported if m.split(".")[0] in ("service", "tests")}


def test_the_peer_verifies_the_presentation_vector() -> None:
    expected = vector("presentation")["expected"]
    item = peer.verify_presentation(
        expected["presentation"],
        jwk.JWK(**expected["verify_with"]["issuer_public_jwk"]),
        jwk.JWK(**expected["verify_with"]["kb_public_jwk"]),
        "de-bka",
        "42",
    )
    assert item.disclosed == expected["disclosed"]
    with pytest.raises(peer.ContractViolation):
        peer.verify_presentation(
            expected["presentation"],
            jwk.JWK(**expected["verify_with"]["issuer_public_jwk"]),
            jwk.JWK(**expected["verify_with"]["kb_public_jwk"]),
            "de-bka",
            "43",
        )


def test_the_peer_opens_the_envelope_vector() -> None:
    envelope = vector("envelope")
    key = jwk.JWK(**private_test_key(envelope["inputs"]["recipient_private_key"]))
    plaintext = peer.open_envelope(envelope["inputs"]["jwe"], key)
    assert plaintext.decode() == envelope["expected"]["plaintext"]


def test_the_peer_verifies_the_checkpoint_and_proof_vectors() -> None:
    checkpoint = vector("checkpoint")
    verified = peer.verify_checkpoint(
        checkpoint["expected"]["note"], checkpoint["expected"]["vkey"]
    )
    assert verified.size == len(checkpoint["inputs"]["leaves_utf8"])
    for proof in vector("proofs")["expected"]["inclusion"]:
        leaf = checkpoint["inputs"]["leaves_utf8"][proof["index"]].encode()
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        root = base64.b64decode(proof["root"])
        peer.verify_inclusion(leaf, proof["index"], proof["size"], hashes, root)
        with pytest.raises(peer.ContractViolation):
            peer.verify_inclusion(leaf + b" ", proof["index"], proof["size"], hashes, root)
    receipt = vector("receipt")
    leaf = receipt["inputs"]["leaf_utf8"].encode()
    text = receipt["expected"]["tlog_proof"]
    assert peer.verify_receipt(text, leaf, 5, receipt["inputs"]["vkey"]).size == 7
    with pytest.raises(peer.ContractViolation):
        peer.verify_receipt(text, leaf, 4, receipt["inputs"]["vkey"])
    forged = checkpoint["expected"]["note"].replace("\n7\n", "\n8\n")
    with pytest.raises(peer.ContractViolation):
        peer.verify_checkpoint(forged, checkpoint["expected"]["vkey"])


def agency_keys(agency: str) -> dict[str, Any]:
    """The peer's own keys, made with jwcrypto: an Ed25519 signing and an X25519 key."""
    signing = jwk.JWK.generate(kty="OKP", crv="Ed25519", kid=f"{agency}-sign-1")
    encryption = jwk.JWK.generate(kty="OKP", crv="X25519", kid=f"{agency}-enc-1")
    return {
        "id": agency,
        "signing": signing.export(private_key=True, as_dict=True),
        "encryption": encryption.export(private_key=True, as_dict=True),
        "public": (signing.export_public(as_dict=True), encryption.export_public(as_dict=True)),
    }


async def register(base: str, data: Path, agencies: list[dict[str, Any]]) -> None:
    ca = data / "tls" / "ca.pem"
    async with LiaisonClient(base, load_private_jwk(data / "admin.jwk"), verify=ca) as admin:
        for agency in agencies:
            signing, encryption = agency["public"]
            await admin.register_agency(
                {
                    "id": agency["id"],
                    "name": agency["id"],
                    "country": "FR" if agency["id"].startswith("fr") else "DE",
                    "groups": ["eu"],
                    "roles": ["agency"],
                    "attributes": {},
                    "signing_keys": [signing],
                    "encryption_keys": [encryption],
                }
            )


@pytest.mark.slow
def test_independent_peer_against_a_live_server(
    live_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, data = live_server
    originator, partner = agency_keys("fr-police"), agency_keys("de-bka")
    asyncio.run(register(base, data, [originator, partner]))
    alert_id = str(uuid.uuid4())
    config = {
        "base_url": base,
        "ca": str(data / "tls" / "ca.pem"),
        "alert_id": alert_id,
        "content": CONTENT,
        "originator": {k: originator[k] for k in ("id", "signing")},
        "partner": {k: partner[k] for k in ("id", "signing", "encryption")},
    }
    config_path, out_path = tmp_path / "peer.json", tmp_path / "result.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    # A fresh interpreter, started outside the repository, so that nothing of `service`
    # is loaded unless the peer itself imports it.
    run = subprocess.run(
        [sys.executable, str(PEER), str(config_path), str(out_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(out_path.read_text("utf-8"))
    assert result["service_modules_loaded"] == []
    assert result["submitted_status_code"] == 201
    assert result["submitted"]["alert_id"] == alert_id
    assert result["submitted"]["status"] == "published"
    assert result["item"]["type"] == "alert"
    assert result["clear_claims"]["jti"] == alert_id
    assert result["disclosed"] == CONTENT
    assert result["kb_claims"]["aud"] == "de-bka"
    assert result["kb_claims"]["nonce"] == result["item"]["cursor"]
    assert result["checkpoint_size"] > result["disclosure_index"]
    assert result["receipt_checkpoint_size"] > result["disclosure_index"]
