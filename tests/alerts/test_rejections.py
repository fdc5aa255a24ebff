"""Every way a submission can be wrong: the status, the problem type, and nothing stored."""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from service.api.problems import problem_type
from service.client import sign_request
from service.client.alerts import alert_token
from service.protocol.clock import ManualClock
from service.protocol.crypto import SigningPrivateKey, b64url_encode
from service.protocol.sdjwt import build_alert
from service.runtime import policy_directory
from service.settings import Settings
from tests.alerts.conftest import Member, MemberFactory, default_clear
from tests.conftest import table_snapshot


@pytest.fixture
async def parties(member: MemberFactory) -> tuple[Member, Member]:
    fr = await member("fr-police", groups=("eu",))
    de = await member("de-bka", groups=("eu",))
    return fr, de


async def token_for(
    sender: Member,
    clock: ManualClock,
    *,
    clear: dict[str, Any] | None = None,
    content: dict[str, Any] | None = None,
    key: SigningPrivateKey | None = None,
    iss: str | None = None,
    lifetime: timedelta = timedelta(days=1),
) -> str:
    broker = await sender.alerts.broker()
    return alert_token(
        key or sender.party.signing,
        iss or sender.id,
        broker["kb_key"],
        default_clear() | (clear or {}),
        content or {"narrative": "n", "subject": {"name": "x"}},
        now=clock.now(),
        lifetime=lifetime,
    )


async def assert_refused(
    app: FastAPI,
    engine: AsyncEngine,
    sender: Member,
    body: bytes,
    status: int,
    slug: str,
    content_type: str = "application/sd-jwt",
) -> dict[str, Any]:
    before = await table_snapshot(engine, app)
    request = httpx.Request(
        "POST", "http://testserver/v1/alerts", content=body, headers={"content-type": content_type}
    )
    sign_request(request, sender.party.signing, created=app.state.runtime.clock.now())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as raw:
        response = await raw.send(request)
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["type"] == problem_type(slug), problem
    assert await table_snapshot(engine, app) == before
    return dict(problem)


def split(token: str) -> tuple[list[str], list[str]]:
    parts = token.split("~")
    return parts[0].split("."), parts[1:-1]


def join(jws: list[str], disclosures: list[str]) -> str:
    return ".".join(jws) + "~" + "".join(d + "~" for d in disclosures)


Case = Callable[[str], str]


async def test_forged_signature(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock
) -> None:
    fr, _ = parties
    jws, disclosures = split(await token_for(fr, clock))
    signature = bytearray(base64.urlsafe_b64decode(jws[2] + "=="))
    signature[0] ^= 1
    jws[2] = b64url_encode(bytes(signature))
    await assert_refused(app, engine, fr, join(jws, disclosures).encode(), 422, "invalid-input")


async def test_stripped_signature(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock
) -> None:
    fr, _ = parties
    jws, disclosures = split(await token_for(fr, clock))
    jws[2] = ""
    problem = await assert_refused(
        app, engine, fr, join(jws, disclosures).encode(), 400, "malformed-body"
    )
    assert problem["status"] == 400


async def test_alg_none(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock
) -> None:
    fr, _ = parties
    jws, disclosures = split(await token_for(fr, clock))
    header = json.loads(base64.urlsafe_b64decode(jws[0] + "=="))
    header["alg"] = "none"
    jws[0] = b64url_encode(json.dumps(header).encode())
    await assert_refused(app, engine, fr, join(jws, disclosures).encode(), 422, "invalid-input")


async def test_iss_is_not_the_signer(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock
) -> None:
    fr, _ = parties
    token = await token_for(fr, clock, iss="de-bka")
    await assert_refused(app, engine, fr, token.encode(), 422, "invalid-input")


async def test_key_of_another_agency(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock
) -> None:
    fr, de = parties
    token = await token_for(fr, clock, key=de.party.signing)
    await assert_refused(app, engine, fr, token.encode(), 422, "invalid-input")


async def test_expired(app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock) -> None:
    fr, _ = parties
    token = await token_for(fr, clock, lifetime=timedelta(seconds=-1))
    await assert_refused(app, engine, fr, token.encode(), 422, "invalid-input")


async def test_duplicate_disclosure(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock
) -> None:
    fr, _ = parties
    jws, disclosures = split(await token_for(fr, clock))
    await assert_refused(
        app, engine, fr, join(jws, [*disclosures, disclosures[0]]).encode(), 422, "invalid-input"
    )


async def test_unlisted_disclosure(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock
) -> None:
    fr, _ = parties
    jws, disclosures = split(await token_for(fr, clock))
    extra = b64url_encode(json.dumps([b64url_encode(os.urandom(16)), "extra", "smuggled"]).encode())
    await assert_refused(
        app, engine, fr, join(jws, [*disclosures, extra]).encode(), 422, "invalid-input"
    )


@pytest.mark.parametrize(
    "clear",
    [
        {"kind": "pink"},
        {"category": "jaywalking"},
        {"tlp": "white"},
        {"handling": ["H9"]},
        {"audience": {"agencies": ["nobody-here"], "groups": [], "all": False}},
        {"audience": {"agencies": [], "groups": ["no-such-group"], "all": False}},
        {"audience": {"agencies": [], "groups": [], "all": False}},
        {"unexpected": 1},
        {"purpose": ""},
        {"supersedes": "00000000-0000-4000-8000-000000000001"},
    ],
)
async def test_invalid_clear_claims(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock, clear: dict[str, Any]
) -> None:
    fr, _ = parties
    token = await token_for(fr, clock, clear=clear)
    await assert_refused(app, engine, fr, token.encode(), 422, "invalid-input")


async def test_wrong_cnf(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock
) -> None:
    fr, _ = parties
    other = SigningPrivateKey.generate().public.to_jwk()
    claims = default_clear() | {
        "iss": fr.id,
        "jti": "6f1c1b7e-8a59-4d0e-9a7a-2b0e7f1f0a11",
        "iat": int(clock.now().timestamp()),
        "exp": int(clock.now().timestamp()) + 3600,
        "cnf": {"jwk": other},
    }
    token = build_alert(claims, {"narrative": "n"}, fr.party.signing)
    await assert_refused(app, engine, fr, token.encode(), 422, "invalid-input")


async def test_unparseable_body(app: FastAPI, engine: AsyncEngine, parties: Any) -> None:
    fr, _ = parties
    await assert_refused(app, engine, fr, b"not an sd-jwt at all", 400, "malformed-body")
    await assert_refused(app, engine, fr, "é~".encode(), 400, "malformed-body")


async def test_wrong_content_type(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock
) -> None:
    fr, _ = parties
    token = await token_for(fr, clock)
    await assert_refused(app, engine, fr, token.encode(), 422, "invalid-input", "application/json")


async def test_oversized(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock, settings: Settings
) -> None:
    fr, _ = parties
    token = await token_for(fr, clock, content={"narrative": "x" * settings.max_body_bytes})
    await assert_refused(app, engine, fr, token.encode(), 413, "payload-too-large")


async def test_jti_reused_with_other_bytes(
    app: FastAPI, engine: AsyncEngine, parties: Any, clock: ManualClock
) -> None:
    fr, _ = parties
    first = await token_for(fr, clock)
    alert_id = (await fr.alerts.post(first))["alert_id"]
    second = await token_for(fr, clock, clear={"jti": alert_id}, content={"narrative": "other"})
    await assert_refused(app, engine, fr, second.encode(), 409, "conflict")


async def test_not_an_agency(
    app: FastAPI, engine: AsyncEngine, register: Any, clock: ManualClock, parties: Any
) -> None:
    # the parties exist so that the reviewer's audience group is known
    assert parties
    reviewer = Member(await register("eu-review", roles=("reviewer",)))
    token = await token_for(reviewer, clock)
    await assert_refused(app, engine, reviewer, token.encode(), 403, "forbidden")


async def test_broken_policy_file_keeps_the_old_set(
    app: FastAPI, parties: Any, admin: Any, tmp_path: Path, settings: Settings
) -> None:
    fr, de = parties
    runtime = app.state.runtime
    copy = tmp_path / "policies"
    shutil.copytree(policy_directory(settings), copy)
    runtime.settings = settings.model_copy(update={"policy_dir": copy})
    version = runtime.require_policy().version
    (copy / "tlp.cedar").write_text(
        (copy / "tlp.cedar").read_text() + "\nforbid (principal, action\n"
    )
    response = await admin._http.post("/v1/policy/reload")
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == problem_type("policy-invalid")
    assert "tlp.cedar:" in problem["detail"]
    assert runtime.require_policy().version == version
    posted = await fr.post()
    [item], _ = await de.poll()
    assert item.alert_id == posted["alert_id"]
