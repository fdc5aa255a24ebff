"""The negative matrix of request authentication (API.md "Request authentication (exact)").

Each case checks the status, the problem type and that no row of any table changed.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms
from sqlalchemy.ext.asyncio import AsyncEngine

from service.api.problems import problem_type
from service.app import create_app
from service.client import sign_request
from service.protocol.clock import ManualClock
from service.protocol.crypto import SigningPrivateKey, b64url_encode
from service.settings import Settings
from tests.conftest import Party, Template, table_snapshot


class Send:
    """Sends raw requests to one app; knows the app so snapshots can settle its audit queue."""

    def __init__(self, app: FastAPI, raw: httpx.AsyncClient) -> None:
        self.app = app
        self._raw = raw

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        return await self._raw.send(request)


@pytest.fixture
async def send(app: FastAPI) -> AsyncIterator[Send]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as raw:
        yield Send(app, raw)


def signed(
    key: SigningPrivateKey,
    clock: ManualClock,
    method: str = "GET",
    path: str = "/v1/agencies",
    json: Any = None,
    *,
    created: datetime | None = None,
    nonce: str | None = None,
) -> httpx.Request:
    request = httpx.Request(method, "http://testserver" + path, json=json)
    sign_request(request, key, created=created or clock.now(), nonce=nonce)
    return request


async def assert_rejected(
    engine: AsyncEngine, send: Send, request: httpx.Request, status: int, slug: str
) -> dict[str, Any]:
    app = send.app
    before = await table_snapshot(engine, app)
    response = await send(request)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == problem_type(slug)
    assert problem["status"] == status
    assert await table_snapshot(engine, app) == before
    return dict(problem)


class _Resolver(HTTPSignatureKeyResolver):
    def __init__(self, key: Any) -> None:
        self.key = key

    def resolve_private_key(self, key_id: str) -> Any:
        return self.key


def sign_with_library(
    request: httpx.Request,
    *,
    key_id: str,
    private_key: Any,
    algorithm: Any = algorithms.ED25519,
    components: tuple[str, ...] = ("@method", "@authority", "@path", "@query"),
    created: datetime,
    body: bytes | None = None,
) -> None:
    HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=_Resolver(private_key)).sign(
        request,
        key_id=key_id,
        created=created,
        nonce=b64url_encode(os.urandom(16)),
        label="sig1",
        tag="liaison",
        include_alg=True,
        covered_component_ids=components,
        body=body,
    )


async def test_signed_request_is_accepted(
    template: Template, clock: ManualClock, send: Send
) -> None:
    response = await send(signed(template.admin_key, clock))
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["agencies"]] == ["admin"]


async def test_no_signature(engine: AsyncEngine, send: Send) -> None:
    request = httpx.Request("GET", "http://testserver/v1/agencies")
    await assert_rejected(engine, send, request, 401, "unsigned-request")


async def test_unknown_kid(engine: AsyncEngine, clock: ManualClock, send: Send) -> None:
    stranger = SigningPrivateKey.generate()
    await assert_rejected(engine, send, signed(stranger, clock), 401, "unknown-key")


async def test_revoked_key(
    engine: AsyncEngine, clock: ManualClock, send: Send, register: Any, admin: Any
) -> None:
    party: Party = await register("de-bka")
    await admin.revoke_key("de-bka", party.signing.kid, "compromised")
    await assert_rejected(engine, send, signed(party.signing, clock), 401, "key-not-valid")


@pytest.mark.parametrize("window", ["not_yet_valid", "expired"])
async def test_key_outside_validity_window(
    engine: AsyncEngine, clock: ManualClock, send: Send, admin: Any, window: str
) -> None:
    key = SigningPrivateKey.generate()
    jwk: dict[str, Any] = key.public.to_jwk()
    now = clock.now()
    if window == "not_yet_valid":
        jwk["not_before"] = (now + timedelta(hours=1)).isoformat()
    else:
        jwk["not_before"] = (now - timedelta(days=2)).isoformat()
        jwk["not_after"] = (now - timedelta(seconds=1)).isoformat()
    await admin.register_agency(
        {
            "id": "it-polizia",
            "name": "IT",
            "country": "IT",
            "roles": ["agency"],
            "signing_keys": [jwk],
        }
    )
    await assert_rejected(engine, send, signed(key, clock), 401, "key-not-valid")


@pytest.mark.parametrize("offset", [-301, 301])
async def test_created_outside_300_seconds(
    engine: AsyncEngine, template: Template, clock: ManualClock, send: Send, offset: int
) -> None:
    request = signed(template.admin_key, clock, created=clock.now() + timedelta(seconds=offset))
    await assert_rejected(engine, send, request, 401, "stale-signature")


@pytest.mark.parametrize("offset", [-299, 299])
async def test_created_inside_300_seconds_is_accepted(
    template: Template, clock: ManualClock, send: Send, offset: int
) -> None:
    request = signed(template.admin_key, clock, created=clock.now() + timedelta(seconds=offset))
    assert (await send(request)).status_code == 200


async def test_replayed_nonce(
    engine: AsyncEngine, template: Template, clock: ManualClock, send: Send
) -> None:
    request = signed(template.admin_key, clock)
    assert (await send(request)).status_code == 200
    await assert_rejected(engine, send, request, 401, "replayed-request")


async def test_replayed_nonce_after_restart(
    engine: AsyncEngine, template: Template, clock: ManualClock, send: Send, settings: Settings
) -> None:
    request = signed(template.admin_key, clock)
    assert (await send(request)).status_code == 200
    restarted = create_app(settings, clock)
    async with (
        restarted.router.lifespan_context(restarted),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=restarted)) as raw,
    ):
        await assert_rejected(engine, Send(restarted, raw), request, 401, "replayed-request")


async def test_same_nonce_with_another_key_is_not_a_replay(
    template: Template, clock: ManualClock, send: Send, register: Any
) -> None:
    party: Party = await register("es-policia")
    nonce = b64url_encode(os.urandom(16))
    assert (await send(signed(template.admin_key, clock, nonce=nonce))).status_code == 200
    assert (await send(signed(party.signing, clock, nonce=nonce))).status_code == 200


async def test_tampered_body(
    engine: AsyncEngine, template: Template, clock: ManualClock, send: Send
) -> None:
    body = {"reason": "rotation"}
    request = signed(template.admin_key, clock, "POST", "/v1/agencies/admin/keys/x/revoke", body)
    tampered = httpx.Request(
        "POST",
        request.url,
        headers={k: v for k, v in request.headers.items() if k != "content-length"},
        content=b'{"reason":"ROTATION"}',
    )
    await assert_rejected(engine, send, tampered, 401, "digest-mismatch")


@pytest.mark.parametrize(
    ("signed_url", "sent_url"),
    [
        ("/v1/agencies/admin", "/v1/agencies/other"),
        ("/v1/agencies?limit=1", "/v1/agencies?limit=2"),
        ("/v1/agencies", "/v1/agencies?extra=1"),
    ],
)
async def test_tampered_path_or_query(
    engine: AsyncEngine,
    template: Template,
    clock: ManualClock,
    send: Send,
    signed_url: str,
    sent_url: str,
) -> None:
    request = signed(template.admin_key, clock, "GET", signed_url)
    tampered = httpx.Request("GET", "http://testserver" + sent_url, headers=request.headers)
    await assert_rejected(engine, send, tampered, 401, "invalid-signature")


async def test_tampered_signature_bytes(
    engine: AsyncEngine, template: Template, clock: ManualClock, send: Send
) -> None:
    request = signed(template.admin_key, clock)
    value = request.headers["signature"]
    flipped = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]
    request.headers["signature"] = flipped
    await assert_rejected(engine, send, request, 401, "invalid-signature")


@pytest.mark.parametrize(
    "components",
    [
        ("@method", "@authority", "@path"),
        ("@method", "@path", "@query"),
        ("@authority", "@path", "@query"),
    ],
)
async def test_missing_covered_component(
    engine: AsyncEngine,
    template: Template,
    clock: ManualClock,
    send: Send,
    components: tuple[str, ...],
) -> None:
    request = httpx.Request("GET", "http://testserver/v1/agencies")
    key = template.admin_key
    sign_with_library(
        request,
        key_id=key.kid,
        private_key=key.unsafe_cryptography_key(),
        components=components,
        created=clock.now(),
    )
    await assert_rejected(engine, send, request, 401, "missing-component")


async def test_body_without_content_digest(
    engine: AsyncEngine, template: Template, clock: ManualClock, send: Send
) -> None:
    request = httpx.Request("POST", "http://testserver/v1/agencies", json={"id": "x"})
    key = template.admin_key
    sign_with_library(
        request, key_id=key.kid, private_key=key.unsafe_cryptography_key(), created=clock.now()
    )
    await assert_rejected(engine, send, request, 401, "missing-component")


async def test_wrong_alg(
    engine: AsyncEngine, template: Template, clock: ManualClock, send: Send
) -> None:
    request = httpx.Request("GET", "http://testserver/v1/agencies")
    sign_with_library(
        request,
        key_id=template.admin_key.kid,
        private_key=b"a shared secret that must never be accepted",
        algorithm=algorithms.HMAC_SHA256,
        created=clock.now(),
    )
    await assert_rejected(engine, send, request, 401, "unsupported-algorithm")


async def test_key_of_another_principal_does_not_verify(
    engine: AsyncEngine, template: Template, clock: ManualClock, send: Send, register: Any
) -> None:
    party: Party = await register("nl-politie")
    request = httpx.Request("GET", "http://testserver/v1/agencies")
    sign_with_library(
        request,
        key_id=template.admin_key.kid,
        private_key=party.signing.unsafe_cryptography_key(),
        created=clock.now(),
    )
    await assert_rejected(engine, send, request, 401, "invalid-signature")


async def test_principal_without_role(
    engine: AsyncEngine, clock: ManualClock, send: Send, register: Any
) -> None:
    party: Party = await register("pt-pj")
    newcomer = SigningPrivateKey.generate()
    body = {
        "id": "rogue",
        "name": "Rogue",
        "country": "ZZ",
        "roles": ["admin"],
        "signing_keys": [newcomer.public.to_jwk()],
    }
    request = signed(party.signing, clock, "POST", "/v1/agencies", body)
    await assert_rejected(engine, send, request, 403, "forbidden")


async def test_independent_library_signature_is_accepted(
    template: Template, clock: ManualClock, send: Send
) -> None:
    """Signed with http-message-signatures directly, as a partner's own client would."""
    key = template.admin_key
    newcomer = SigningPrivateKey.generate()
    body = {
        "id": "be-fedpol",
        "name": "Federal Police BE",
        "country": "BE",
        "roles": ["agency"],
        "signing_keys": [newcomer.public.to_jwk()],
    }
    request = httpx.Request("POST", "http://testserver/v1/agencies?x=1", json=body)
    sign_with_library(
        request,
        key_id=key.kid,
        private_key=key.unsafe_cryptography_key(),
        created=clock.now(),
        body=request.content,
    )
    assert "content-digest" in request.headers["signature-input"]
    response = await send(request)
    assert response.status_code == 201, response.text
    assert response.json()["id"] == "be-fedpol"


async def test_key_rotation_with_injected_time(
    clock: ManualClock, send: Send, admin: Any, engine: AsyncEngine
) -> None:
    old = SigningPrivateKey.generate()
    not_after = clock.now() + timedelta(hours=1)
    old_jwk: dict[str, Any] = {**old.public.to_jwk(), "not_after": not_after.isoformat()}
    await admin.register_agency(
        {
            "id": "se-polisen",
            "name": "SE",
            "country": "SE",
            "roles": ["agency"],
            "signing_keys": [old_jwk],
        }
    )
    new = SigningPrivateKey.generate()
    add = signed(old, clock, "POST", "/v1/agencies/se-polisen/keys", new.public.to_jwk())
    assert (await send(add)).status_code == 201
    # the new key works at once, the old one still does
    assert (await send(signed(new, clock))).status_code == 200
    assert (await send(signed(old, clock))).status_code == 200
    clock.advance(timedelta(minutes=59))
    assert (await send(signed(old, clock))).status_code == 200
    clock.set(not_after)
    await assert_rejected(engine, send, signed(old, clock), 401, "key-not-valid")
    assert (await send(signed(new, clock))).status_code == 200


def test_created_is_utc_not_local() -> None:
    """A guard for the freshness arithmetic: timestamps are compared as aware UTC datetimes."""
    from service.protocol.signatures import UnverifiedRequest, parse_signature_params

    request = httpx.Request("GET", "http://testserver/v1/agencies")
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    sign_request(request, SigningPrivateKey.generate(), created=moment)
    params = parse_signature_params(
        UnverifiedRequest("GET", str(request.url), list(request.headers.items()), b"")
    )
    assert params.created == moment
