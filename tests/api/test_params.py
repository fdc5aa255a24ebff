"""Strict query and path parameters (issue 11, finding 3): every malformed number or time is a
4xx problem, never a 500 and never silently accepted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from service.api.params import aware_datetime, feed_cursor, strict_int
from service.client.signing import SignatureAuth
from service.protocol.clock import ManualClock
from tests.conftest import Party

# Non-ASCII digits (superscript two, Arabic-Indic three, fullwidth three), past int64, and
# what lax integer parsing accepts but the API does not document.
SUPERSCRIPT_TWO, ARABIC_INDIC_THREE, FULLWIDTH_THREE = "\u00b2", "\u0663", "\uff13"
BAD_INTEGERS = [
    SUPERSCRIPT_TWO,
    ARABIC_INDIC_THREE,
    FULLWIDTH_THREE,
    str(2**63),
    str(-(2**63) - 1),
    "1_0",
    " 5",
    "5.0",
    "+5",
    "0x10",
]
# Naive, out of range once converted to UTC (year 10000, year 0), not RFC 3339 at all.
BAD_TIMES = [
    "2026-01-01T00:00:00",
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:30:00+01:00",
    "2026-01-01",
    "1700000000",
    "\uff12\uff10\uff12\uff16-01-01T00:00:00Z",
    "2026-01-01T00:00:00+24:00",
]
GOOD_TIME = "2026-01-01T00:00:00Z"

# (path, the parameters that make a valid request, the parameter under test)
INTEGER_PARAMS = [
    ("/v1/feed", {}, "after"),
    ("/v1/feed", {}, "limit"),
    ("/v1/audit/search", {}, "after"),
    ("/v1/audit/search", {}, "limit"),
    ("/v1/audit/entries", {"start": "0", "end": "1"}, "start"),
    ("/v1/audit/entries", {"start": "0", "end": "1"}, "end"),
    ("/v1/audit/proof/inclusion", {"index": "0", "size": "1"}, "index"),
    ("/v1/audit/proof/inclusion", {"index": "0", "size": "1"}, "size"),
    ("/v1/audit/proof/consistency", {"from": "0", "to": "1"}, "from"),
    ("/v1/audit/proof/consistency", {"from": "0", "to": "1"}, "to"),
]
TIME_PARAMS = [
    ("/v1/audit/search", {}, "since"),
    ("/v1/audit/search", {}, "until"),
    ("/v1/transparency", {"from": "2020-01-01T00:00:00Z", "to": GOOD_TIME}, "from"),
    ("/v1/transparency", {"from": "2020-01-01T00:00:00Z", "to": GOOD_TIME}, "to"),
]


@pytest.fixture
async def auditor(register: Callable[..., Awaitable[Party]]) -> Party:
    return await register("eu-audit", roles=("auditor", "agency"), country="ZZ")


@pytest.fixture
async def http(
    app: FastAPI, clock: ManualClock, auditor: Party
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url="http://testserver",
        transport=httpx.ASGITransport(app=app),
        auth=SignatureAuth(auditor.signing, clock.now),
    ) as client:
        yield client


def assert_rejected(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] in (
        "urn:liaison:problem:validation-failed",
        "urn:liaison:problem:invalid-input",
    )


@pytest.mark.parametrize("value", BAD_INTEGERS)
@pytest.mark.parametrize(("path", "base", "name"), INTEGER_PARAMS)
async def test_bad_integer_is_a_problem(
    http: httpx.AsyncClient, path: str, base: dict[str, str], name: str, value: str
) -> None:
    assert_rejected(await http.get(path, params=base | {name: value}))


@pytest.mark.parametrize("value", BAD_INTEGERS)
async def test_bad_receipt_index_is_a_problem(http: httpx.AsyncClient, value: str) -> None:
    assert_rejected(await http.get(f"/v1/audit/receipt/{value}"))


@pytest.mark.parametrize("value", BAD_TIMES)
@pytest.mark.parametrize(("path", "base", "name"), TIME_PARAMS)
async def test_bad_time_is_a_problem(
    http: httpx.AsyncClient, path: str, base: dict[str, str], name: str, value: str
) -> None:
    assert_rejected(await http.get(path, params=base | {name: value}))


async def test_valid_parameters_still_pass(http: httpx.AsyncClient) -> None:
    """The strict types accept the documented syntax (the same endpoints, good values)."""
    search = await http.get(
        "/v1/audit/search",
        params={"after": "-1", "limit": "5", "since": "2020-01-01T00:00:00+02:00"},
    )
    assert search.status_code == 200, search.text
    assert (await http.get("/v1/feed", params={"after": "0", "limit": "3"})).status_code == 200
    assert (await http.get("/v1/feed", params={"after": ""})).status_code == 200
    report = await http.get(
        "/v1/transparency", params={"from": "2020-01-01T00:00:00+01:00", "to": GOOD_TIME}
    )
    assert report.status_code == 200, report.text


def test_validators_directly() -> None:
    assert strict_int("-42") == -42 and strict_int(2**63 - 1) == 2**63 - 1
    assert feed_cursor("9223372036854775807") == "9223372036854775807"
    assert aware_datetime("2026-01-01T01:00:00+01:00") == datetime(2026, 1, 1, tzinfo=UTC)
    for value in (ARABIC_INDIC_THREE, FULLWIDTH_THREE, SUPERSCRIPT_TWO, str(2**63), True):
        with pytest.raises(ValueError, match="integer"):
            strict_int(value)
    with pytest.raises(ValueError, match="cursor"):
        feed_cursor("9223372036854775808")
    with pytest.raises(ValueError, match="offset"):
        aware_datetime(datetime(2026, 1, 1))
