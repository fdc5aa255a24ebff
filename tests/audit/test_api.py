"""The auditor API over the real app: checkpoints, entries, search, proofs and receipts.

Proofs are checked with the independent RFC 9162 reference in the tests, not with the
service's own verifier.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.api.problems import problem_type
from service.client import LiaisonAPIError, LiaisonClient
from service.protocol.crypto import VerificationError
from service.protocol.note import NoteVerifier, verify_checkpoint
from service.protocol.tlog_proof import verify_tlog_proof
from tests.audit import rfc9162_reference as reference
from tests.conftest import Party, settle


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


@pytest.fixture
async def plain(app: FastAPI) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


@pytest.fixture
async def auditor(register: Any) -> Party:
    party: Party = await register("eu-ombudsman", roles=("auditor",))
    return party


async def checkpoint(plain: httpx.AsyncClient) -> tuple[int, bytes, str]:
    identity = (await plain.get("/v1/broker")).json()
    response = await plain.get("/v1/audit/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    verified = verify_checkpoint(
        response.text, NoteVerifier.from_vkey(identity["checkpoint_vkey"]), identity["origin"]
    )
    return verified.size, verified.root_hash, response.text


async def raw_entries(client: LiaisonClient, start: int, end: int) -> list[bytes]:
    response = await client.request("GET", "/v1/audit/entries", params={"start": start, "end": end})
    return [base64.b64decode(e, validate=True) for e in response.json()["entries"]]


async def test_checkpoint_is_unauthenticated_signed_and_covers_all_entries(
    app: FastAPI, plain: httpx.AsyncClient, auditor: Party, register: Any
) -> None:
    await register("fr-police")
    await settle(app)
    size, root, _ = await checkpoint(plain)
    leaves = await raw_entries(auditor.client, 0, size)
    assert len(leaves) == size
    assert reference.mth(leaves) == root
    documents = [json.loads(leaf) for leaf in leaves]
    assert [d["index"] for d in documents] == list(range(size))
    assert {"principal.registered", "key.added"} <= {d["event"] for d in documents}
    # exact bytes: canonical JSON
    assert all(
        leaf == json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        for leaf, d in zip(leaves, documents, strict=True)
    )


async def test_entries_need_the_auditor_role_and_a_bounded_range(
    app: FastAPI, register: Any, auditor: Party
) -> None:
    fr: Party = await register("fr-police")
    with pytest.raises(LiaisonAPIError) as caught:
        await raw_entries(fr.client, 0, 1)
    assert caught.value.status == 403
    with pytest.raises(LiaisonAPIError) as caught:
        await raw_entries(auditor.client, 0, 1001)
    assert caught.value.status == 422
    assert caught.value.type == problem_type("invalid-input")


async def test_search_by_event_and_pagination(app: FastAPI, auditor: Party, register: Any) -> None:
    for name in ("fr-police", "de-bka", "it-polizia"):
        await register(name)
    await settle(app)
    found: list[dict[str, Any]] = []
    after = None
    while True:
        params: dict[str, Any] = {"event": "principal.registered", "limit": 2}
        if after is not None:
            params["after"] = after
        page = (await auditor.client.request("GET", "/v1/audit/search", params=params)).json()
        found += page["entries"]
        after = page["next"]
        if after is None:
            break
    assert [e["principal"] for e in found] == [
        "admin",
        "eu-ombudsman",
        "fr-police",
        "de-bka",
        "it-polizia",
    ]
    assert all(e["event"] == "principal.registered" for e in found)


async def test_agency_sees_only_entries_that_name_it(app: FastAPI, register: Any) -> None:
    fr: Party = await register("fr-police")
    await register("de-bka")
    await settle(app)
    page = (await fr.client.request("GET", "/v1/audit/search")).json()
    assert page["entries"]
    assert all(
        "fr-police" in (e.get("actor"), e.get("principal"), e.get("partner"))
        for e in page["entries"]
    )
    everything = (
        await fr.client.request("GET", "/v1/audit/search", params={"event": "principal.registered"})
    ).json()
    assert [e["principal"] for e in everything["entries"]] == ["fr-police"]


async def test_inclusion_proofs_verify_with_the_reference(
    app: FastAPI, plain: httpx.AsyncClient, auditor: Party, register: Any
) -> None:
    for name in ("fr-police", "de-bka", "it-polizia", "es-policia", "nl-politie"):
        await register(name)
    await settle(app)
    size, root, _ = await checkpoint(plain)
    leaves = await raw_entries(auditor.client, 0, size)
    for index in range(size):
        for at_size in {index + 1, size}:
            body = (
                await auditor.client.request(
                    "GET", "/v1/audit/proof/inclusion", params={"index": index, "size": at_size}
                )
            ).json()
            assert (body["index"], body["size"]) == (index, at_size)
            hashes = [base64.b64decode(h) for h in body["hashes"]]
            expected_root = reference.mth(leaves[:at_size])
            assert reference.verify_inclusion(
                leaf_hash(leaves[index]), index, at_size, hashes, expected_root
            )
    assert reference.mth(leaves) == root


async def test_agency_may_prove_only_entries_naming_it(
    app: FastAPI, auditor: Party, register: Any
) -> None:
    fr: Party = await register("fr-police")
    await register("de-bka")
    await settle(app)
    mine = (await fr.client.request("GET", "/v1/audit/search")).json()["entries"][0]["index"]
    theirs = (
        await auditor.client.request(
            "GET", "/v1/audit/search", params={"event": "principal.registered"}
        )
    ).json()["entries"][-1]
    assert theirs["principal"] == "de-bka"
    size = theirs["index"] + 1
    ok = await fr.client.request(
        "GET", "/v1/audit/proof/inclusion", params={"index": mine, "size": size}
    )
    assert ok.json()["hashes"]
    with pytest.raises(LiaisonAPIError) as caught:
        await fr.client.request(
            "GET", "/v1/audit/proof/inclusion", params={"index": theirs["index"], "size": size}
        )
    assert caught.value.status == 403


async def test_consistency_proofs_between_checkpoints(
    app: FastAPI, plain: httpx.AsyncClient, register: Any, auditor: Party
) -> None:
    fr: Party = await register("fr-police")
    await settle(app)
    old_size, old_root, _ = await checkpoint(plain)
    for name in ("de-bka", "it-polizia", "es-policia"):
        await register(name)
    await settle(app)
    new_size, new_root, _ = await checkpoint(plain)
    assert new_size > old_size
    body = (
        await fr.client.request(
            "GET", "/v1/audit/proof/consistency", params={"from": old_size, "to": new_size}
        )
    ).json()
    assert (body["from"], body["to"]) == (old_size, new_size)
    hashes = [base64.b64decode(h) for h in body["hashes"]]
    assert reference.verify_consistency(old_size, new_size, old_root, new_root, hashes)
    assert not reference.verify_consistency(old_size, new_size, new_root, new_root, hashes)
    with pytest.raises(LiaisonAPIError) as caught:
        await fr.client.request(
            "GET", "/v1/audit/proof/consistency", params={"from": new_size, "to": new_size + 5}
        )
    assert caught.value.status == 422


async def test_receipt_is_a_verifiable_tlog_proof(
    app: FastAPI, plain: httpx.AsyncClient, auditor: Party
) -> None:
    await settle(app)
    identity = (await plain.get("/v1/broker")).json()
    size, _, _ = await checkpoint(plain)
    leaves = await raw_entries(auditor.client, 0, size)
    response = await auditor.client.request("GET", "/v1/audit/receipt/1")
    assert response.text.startswith("c2sp.org/tlog-proof@v1\nindex 1\n")
    verified = verify_tlog_proof(
        response.text,
        leaves[1],
        NoteVerifier.from_vkey(identity["checkpoint_vkey"]),
        identity["origin"],
    )
    assert verified.size >= size
    with pytest.raises(VerificationError):
        verify_tlog_proof(
            response.text,
            leaves[0],
            NoteVerifier.from_vkey(identity["checkpoint_vkey"]),
            identity["origin"],
        )


async def test_auditor_queries_are_themselves_audited(app: FastAPI, auditor: Party) -> None:
    await settle(app)
    await raw_entries(auditor.client, 0, 2)
    await auditor.client.request("GET", "/v1/audit/search", params={"event": "key.added"})
    await settle(app)
    queries = (
        await auditor.client.request("GET", "/v1/audit/search", params={"event": "audit.query"})
    ).json()["entries"]
    assert [(q["actor"], q["query"]) for q in queries[:2]] == [
        ("eu-ombudsman", "entries"),
        ("eu-ombudsman", "search"),
    ]
    assert queries[0]["params"] == {"start": 0, "end": 2}
    assert queries[1]["params"]["event"] == "key.added"


async def test_entries_are_integrated_by_the_background_integrator(
    app: FastAPI, plain: httpx.AsyncClient, register: Any
) -> None:
    """No explicit drain: the integrator task alone must pick the new entries up."""
    import asyncio

    await settle(app)
    before, _, _ = await checkpoint(plain)
    await register("fr-police")
    for _ in range(100):
        size, _, _ = await checkpoint(plain)
        if size >= before + 3:
            break
        await asyncio.sleep(0.1)
    assert size >= before + 3
