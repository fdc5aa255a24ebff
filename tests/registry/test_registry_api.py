"""The registry API as API.md describes it, over the real app and database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.api.problems import problem_type
from service.client import LiaisonAPIError, LiaisonClient
from service.protocol.crypto import EncryptionPrivateKey, SigningPrivateKey
from tests.conftest import ClientFactory, Party, settle, table_snapshot


def agency_body(agency_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": agency_id,
        "name": f"Agency {agency_id}",
        "country": "FR",
        "groups": ["eu", "schengen"],
        "roles": ["agency"],
        "attributes": {"biometrics": True},
        "signing_keys": [SigningPrivateKey.generate().public.to_jwk()],
        "encryption_keys": [EncryptionPrivateKey.generate().public.to_jwk()],
    }
    body.update(overrides)
    return body


async def test_register_and_read_back(admin: LiaisonClient) -> None:
    body = agency_body("fr-police")
    created = await admin.register_agency(body)
    assert created["id"] == "fr-police"
    assert created["groups"] == ["eu", "schengen"]
    assert created["attributes"] == {"biometrics": True}
    [signing] = created["signing_keys"]
    assert signing["x"] == body["signing_keys"][0]["x"]
    assert signing["kid"] == body["signing_keys"][0]["kid"]
    assert "not_before" in signing and "d" not in signing
    [encryption] = created["encryption_keys"]
    assert encryption["crv"] == "X25519"
    assert await admin.get_agency("fr-police") == created
    assert [a["id"] for a in await admin.list_agencies()] == ["admin", "fr-police"]


async def test_registry_changes_are_audited(
    admin: LiaisonClient, engine: AsyncEngine, app: FastAPI
) -> None:
    body = agency_body("fr-police")
    await admin.register_agency(body)
    await admin.revoke_key("fr-police", body["signing_keys"][0]["kid"], "test")
    await settle(app)
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT leaf FROM audit_entries ORDER BY idx"))).all()
    entries = [json.loads(row[0]) for row in rows]
    fr = [e for e in entries if e.get("principal") == "fr-police"]
    assert [e["event"] for e in fr] == [
        "principal.registered",
        "key.added",
        "key.added",
        "key.revoked",
    ]
    assert all(e["actor"] == "admin" for e in fr)
    assert fr[1]["kid"] == body["signing_keys"][0]["kid"]
    assert [e["index"] for e in entries] == list(range(len(entries)))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"id": "Bad_Id"}, "id pattern"),
        ({"country": "France"}, "country code"),
        ({"roles": ["superuser"]}, "unknown role"),
        ({"roles": []}, "no role"),
        ({"signing_keys": []}, "no signing key"),
        ({"unknown_member": 1}, "unknown field"),
        ({"signing_keys": [{"kty": "OKP", "crv": "Ed25519", "x": "short"}]}, "bad key"),
        ({"encryption_keys": [SigningPrivateKey.generate().public.to_jwk()]}, "wrong curve"),
        ({"signing_keys": [SigningPrivateKey.generate().to_jwk()]}, "private key sent"),
        ({"groups": ["eu", "eu"]}, "repeated group"),
    ],
)
async def test_invalid_registration_is_rejected_and_changes_nothing(
    admin: LiaisonClient,
    engine: AsyncEngine,
    app: FastAPI,
    overrides: dict[str, Any],
    reason: str,
) -> None:
    before = await table_snapshot(engine, app)
    with pytest.raises(LiaisonAPIError) as caught:
        await admin.register_agency(agency_body("fr-police", **overrides))
    assert caught.value.status == 422, reason
    assert caught.value.type == problem_type("validation-failed")
    after = await table_snapshot(engine, app)
    after.pop("seen_nonces"), before.pop("seen_nonces")
    assert after == before


async def test_malformed_json_is_400(admin: LiaisonClient) -> None:
    with pytest.raises(LiaisonAPIError) as caught:
        await admin.request(
            "POST", "/v1/agencies", content=b'{"id": ', headers={"content-type": "application/json"}
        )
    assert caught.value.status == 400
    assert caught.value.type == problem_type("malformed-body")


async def test_duplicate_id_and_kid_conflict(admin: LiaisonClient) -> None:
    first = agency_body("fr-police")
    await admin.register_agency(first)
    with pytest.raises(LiaisonAPIError) as caught:
        await admin.register_agency(agency_body("fr-police"))
    assert caught.value.status == 409
    with pytest.raises(LiaisonAPIError) as caught:
        await admin.register_agency(
            agency_body("fr-gendarmerie", signing_keys=first["signing_keys"])
        )
    assert caught.value.status == 409
    assert caught.value.type == problem_type("conflict")


async def test_unknown_agency_is_404(admin: LiaisonClient) -> None:
    with pytest.raises(LiaisonAPIError) as caught:
        await admin.get_agency("nobody")
    assert caught.value.status == 404
    assert caught.value.type == problem_type("not-found")


async def test_agency_manages_its_own_keys_but_not_others(register: Any) -> None:
    fr: Party = await register("fr-police")
    de: Party = await register("de-bka")
    new = SigningPrivateKey.generate()
    added = await fr.client.add_key("fr-police", new.public.to_jwk())
    assert added["kid"] == new.kid
    with pytest.raises(LiaisonAPIError) as caught:
        await de.client.add_key("fr-police", SigningPrivateKey.generate().public.to_jwk())
    assert caught.value.status == 403
    with pytest.raises(LiaisonAPIError) as caught:
        await de.client.revoke_key("fr-police", new.kid)
    assert caught.value.status == 403
    revoked = await fr.client.revoke_key("fr-police", fr.signing.kid, "rotated")
    assert "revoked_at" in revoked


async def test_agency_cannot_revoke_its_last_signing_key(
    register: Any, admin: LiaisonClient
) -> None:
    fr: Party = await register("fr-police")
    with pytest.raises(LiaisonAPIError) as caught:
        await fr.client.revoke_key("fr-police", fr.signing.kid)
    assert caught.value.status == 409
    # an admin can, and the revocation is immediate
    await admin.revoke_key("fr-police", fr.signing.kid, "compromised")
    with pytest.raises(LiaisonAPIError) as caught:
        await fr.client.list_agencies()
    assert caught.value.status == 401
    assert caught.value.type == problem_type("key-not-valid")


async def test_encryption_key_cannot_sign(register: Any, client_for: ClientFactory) -> None:
    fr: Party = await register("fr-police")
    impostor = SigningPrivateKey(seed=b"\x01" * 32, kid=fr.encryption.kid)
    with pytest.raises(LiaisonAPIError) as caught:
        await client_for(impostor).list_agencies()
    assert caught.value.type == problem_type("unknown-key")
