"""OpenAPI-driven fuzzing (issue 11): every operation of the app's own OpenAPI document, fed
schemathesis' valid and invalid inputs, signed like a real client (RFC 9421, a key holding
every role, so requests reach the endpoints rather than stop at authentication), never
answers 5xx; and a rejected request writes nothing.

Schemathesis only generates the cases here; they are sent over httpx to the ASGI app in the
test's event loop (the app's database connections belong to it), while Hypothesis drives the
generation in a worker thread. ``.ci/run`` runs this module on both databases
(``pytest -m fuzz``) and prints the number of cases sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Err
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.client.signing import SignatureAuth
from service.protocol.clock import ManualClock
from service.tables import Base
from tests.conftest import Party

pytestmark = pytest.mark.fuzz
MAX_EXAMPLES = 40  # per operation and generation mode: keeps a backend's run under a minute
# Tables a rejected request may still change: the replay cache (an authenticated request's
# nonce is remembered even when the endpoint then refuses, by design) and the audit log,
# whose entries move from the queue to the log in the background (the sum is compared).
UNCOUNTED = {"seen_nonces", "audit_pending", "audit_entries", "audit_nodes", "audit_checkpoints"}
ALL_ROLES = ("agency", "reviewer", "auditor", "admin")


@dataclass
class Tally:
    sent: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def counts_query() -> str:
    """One statement counting every table that a rejected request must leave alone."""
    parts = [
        f'(SELECT count(*) FROM "{t.name}") AS "{t.name}"'
        for t in Base.metadata.sorted_tables
        if t.name not in UNCOUNTED
    ]
    parts.append(
        '((SELECT count(*) FROM "audit_pending") + (SELECT count(*) FROM "audit_entries"))'
        ' AS "audit"'
    )
    return "SELECT " + ", ".join(parts)


@schemathesis.serializer("application/sd-jwt")
def _sd_jwt(_context: schemathesis.SerializationContext, value: Any) -> bytes:
    """POST /v1/alerts takes an SD-JWT as text: generated strings are sent as they are, and
    anything else (negative cases) as its JSON text, which the broker must refuse cleanly."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


def request_of(case: schemathesis.Case[Any]) -> httpx.Request:
    """The generated case as an httpx request (before signing)."""
    query = dict(case.query or {})
    if "wait" in query:
        # A valid long-poll wait would hold the fuzzer for up to 30 s; the wait is not what
        # is being fuzzed.
        query["wait"] = 0
    headers = {k: str(v) for k, v in (case.headers or {}).items()}
    content: bytes | None = None
    body = case.body
    if not isinstance(body, schemathesis.core.NotSet):
        if isinstance(body, bytes):
            content = body
        elif isinstance(body, str) and not (case.media_type or "").endswith("json"):
            content = body.encode()
        else:
            content = json.dumps(body).encode()
        headers.setdefault("content-type", case.media_type or "application/json")
    return httpx.Request(
        case.method,
        "http://testserver" + case.formatted_path,
        params={k: v for k, v in query.items() if v is not None},
        headers=headers,
        content=content,
    )


@pytest.fixture
async def fuzzer(
    register: Callable[..., Awaitable[Party]], app: FastAPI, clock: ManualClock
) -> Party:
    # Reviewer and auditor roles on an agency: every endpoint's domain code is reachable.
    await register("fr-police", groups=("eu",), country="FR")
    return await register("fuzz-all", roles=ALL_ROLES, groups=("eu",), country="FR")


async def test_no_operation_answers_5xx_and_rejections_write_nothing(
    app: FastAPI,
    clock: ManualClock,
    engine: AsyncEngine,
    fuzzer: Party,
    backend: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [r.ok() for r in schema.get_all_operations() if not isinstance(r, Err)]
    assert len(operations) == len([m for p in app.openapi()["paths"].values() for m in p]), (
        "every operation of the OpenAPI document is fuzzed"
    )
    loop = asyncio.get_running_loop()
    tally = Tally()
    count_sql = text(counts_query())

    async def counts() -> tuple[Any, ...]:
        async with engine.connect() as connection:
            return tuple((await connection.execute(count_sql)).one())

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), auth=SignatureAuth(fuzzer.signing, clock.now)
    ) as http:

        async def send(case: schemathesis.Case[Any]) -> None:
            request = request_of(case)
            before = await counts()
            response = await http.send(request)
            tally.sent += 1
            tally.by_status[response.status_code] = tally.by_status.get(response.status_code, 0) + 1
            where = f"{case.method} {request.url}"
            if response.status_code >= 500:
                tally.failures.append(f"{where} -> {response.status_code} {response.text[:200]}")
            elif response.status_code >= 400 and await counts() != before:
                tally.failures.append(f"{where} -> {response.status_code} but wrote rows")

        def run_in_app_loop(case: schemathesis.Case[Any]) -> None:
            future: Future[None] = asyncio.run_coroutine_threadsafe(send(case), loop)
            future.result()

        def fuzz(operation: schemathesis.APIOperation[Any, Any, Any, Any]) -> None:
            strategy = st.one_of(
                operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
                operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
            )

            @settings(
                max_examples=2 * MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def each(case: schemathesis.Case[Any]) -> None:
                run_in_app_loop(case)

            each()

        for operation in operations:
            await asyncio.to_thread(fuzz, operation)

    with capsys.disabled():
        print(
            f"\nschemathesis [{backend}]: {tally.sent} cases over {len(operations)} operations,"
            f" statuses {dict(sorted(tally.by_status.items()))}"
        )
    assert tally.failures == []
