"""The JSON Schema of alert.json and the broker's validation agree.

Every alert.json example of the docs and of the schema passes both; a value outside any closed
vocabulary fails both, and the broker's error lists the allowed values. The committed copy of
the schema is the generated one, and the schema is served (unauthenticated) by the API.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from service.alerts import schema_routes
from service.api import problems
from service.client.alerts import alert_token
from service.protocol.alert_schema import (
    SCHEMA_MEDIA_TYPE,
    SCHEMA_PATH,
    alert_examples,
    alert_schema,
    render,
)
from service.protocol.claims import (
    AUDIENCE_FIELDS,
    CATEGORIES,
    CHARACTERS,
    HANDLING_CODES,
    KINDS,
    PURPOSES,
    SUBJECT_STATUSES,
    TLP_LABELS,
)
from service.protocol.crypto import SigningPrivateKey
from service.protocol.errors import InvalidInput
from service.protocol.sdjwt import parse_sd_jwt, verify_alert
from service.protocol.validation import AlertClaims, allowed, validate_claims

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "schemas" / "alert.schema.json"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SKEW = timedelta(seconds=60)
KEY = SigningPrivateKey.generate("originator-1")
KB_KEY = SigningPrivateKey.generate("broker-kb").public.to_jwk()
VALIDATOR = Draft202012Validator(alert_schema())


def schema_problems(document: Any) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(document)]


def broker_validates(document: dict[str, Any]) -> AlertClaims:
    """What the broker makes of ``document``: composed and signed by the client exactly as
    ``liaison alert post`` does, verified as an SD-JWT, then the claims validated."""
    clear = {name: value for name, value in document.items() if name != "content"}
    token = alert_token(KEY, "fr-police", KB_KEY, clear, document["content"], now=NOW)
    verified = verify_alert(parse_sd_jwt(token), KEY.public)
    return validate_claims(verified.claims, list(verified.disclosures), NOW, SKEW)


def broker_problems(document: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(InvalidInput) as caught:
        broker_validates(document)
    assert caught.value.errors, caught.value.detail
    return [dict(item) for item in caught.value.errors]


def is_alert_file(candidate: Any) -> bool:
    return isinstance(candidate, dict) and "kind" in candidate and "content" in candidate


def docs_examples() -> list[tuple[str, dict[str, Any]]]:
    """Every alert.json example of docs/protocol.md (a ```json block with `kind` and
    `content`) and of README.md (a heredoc written to a .json file, with the same keys)."""
    found: list[tuple[str, dict[str, Any]]] = []
    protocol = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    for index, block in enumerate(re.findall(r"```json\n(.*?)```", protocol, re.DOTALL)):
        try:
            candidate = json.loads(block)
        except json.JSONDecodeError:
            continue  # an elided example ("…"), never an alert file
        if is_alert_file(candidate):
            found.append((f"protocol.md block {index}", candidate))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    heredoc = r"cat > (\S+\.json) <<'?(\w+)'?\n(.*?)\n\2\n"
    for name, _, body in re.findall(heredoc, readme, re.DOTALL):
        candidate = json.loads(body)
        if is_alert_file(candidate):
            found.append((f"README.md {name}", candidate))
    return found


def all_examples() -> list[tuple[str, dict[str, Any]]]:
    schema = [(f"schema {name}", example) for name, example in alert_examples().items()]
    return docs_examples() + schema


def test_the_committed_schema_is_the_generated_one() -> None:
    """Regenerate with: python -m service.protocol.alert_schema > docs/schemas/alert.schema.json"""
    assert COMMITTED.read_text(encoding="utf-8") == render()


def test_the_schema_is_a_draft_2020_12_schema_with_the_three_examples() -> None:
    schema = alert_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    examples = {(e["kind"], e["purpose"], e["tlp"]) for e in schema["examples"]}
    assert {("red", "arrest", "amber"), ("diffusion", "investigate", "amber")} <= examples
    (bulletin,) = [e for e in schema["examples"] if e["tlp"] == "red"]
    assert bulletin["kind"] == "bulletin"
    assert len(bulletin["audience"]["agencies"]) == 1


def test_every_field_is_described() -> None:
    schema = alert_schema()
    assert schema["description"]
    for name, field in schema["properties"].items():
        assert field.get("description"), name
    for name, field in schema["properties"]["audience"]["properties"].items():
        assert field.get("description"), f"audience.{name}"


def test_the_docs_hold_alert_file_examples() -> None:
    sources = [source for source, _ in docs_examples()]
    assert any(source.startswith("protocol.md") for source in sources), sources
    assert any(source.startswith("README.md") for source in sources), sources


@pytest.mark.parametrize(("source", "example"), all_examples(), ids=lambda v: str(v)[:40])
def test_every_example_passes_the_schema_and_the_broker(
    source: str, example: dict[str, Any]
) -> None:
    assert schema_problems(example) == [], source
    claims = broker_validates(example)
    assert (claims.kind, claims.purpose) == (example["kind"], example["purpose"])


def diffusion() -> dict[str, Any]:
    return alert_examples()["diffusion-investigate"]


# (where the closed value goes, its vocabulary)
VOCABULARIES: list[tuple[tuple[str, ...], frozenset[str]]] = [
    (("kind",), KINDS),
    (("category",), CATEGORIES),
    (("tlp",), TLP_LABELS),
    (("purpose",), PURPOSES),
    (("handling", "0"), HANDLING_CODES),
    (("character", "0"), CHARACTERS),
    (("subject_status", "0"), SUBJECT_STATUSES),
]


def outsider(vocabulary: frozenset[str]) -> st.SearchStrategy[str]:
    """Strings outside ``vocabulary``, near misses included (case, spacing, underscores)."""
    near = [v.upper() for v in vocabulary] + [v + " " for v in vocabulary]
    near += [v.replace("-", "_") for v in vocabulary if "-" in v] + ["red_notice", ""]
    return (st.sampled_from(near) | st.text(max_size=12)).filter(lambda v: v not in vocabulary)


def _vocabulary_id(value: object) -> str:
    # Ids must not depend on set order (hash randomisation differs between xdist workers).
    if isinstance(value, frozenset):
        return ",".join(sorted(value))[:30]
    return "/".join(str(part) for part in value) if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize(("path", "vocabulary"), VOCABULARIES, ids=_vocabulary_id)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_a_value_outside_a_closed_vocabulary_fails_both(
    path: tuple[str, ...], vocabulary: frozenset[str], data: st.DataObject
) -> None:
    value = data.draw(outsider(vocabulary))
    document = diffusion()
    # A list's single item (path ends with its index 0), or the claim itself.
    document[path[0]] = [value] if len(path) == 2 else value
    assert schema_problems(document), document
    (problem,) = broker_problems(document)
    assert problem["location"] == ["claims", *path]
    assert problem["message"].endswith(f"allowed are {allowed(vocabulary)}")
    assert all(code in problem["message"] for code in vocabulary)


@settings(max_examples=15, deadline=None)
@given(member=st.text(min_size=1, max_size=12).filter(lambda m: m not in AUDIENCE_FIELDS))
def test_an_unknown_audience_member_fails_both(member: str) -> None:
    document = diffusion()
    document["audience"][member] = ["de-bka"]
    assert schema_problems(document)
    (problem,) = broker_problems(document)
    assert problem["location"] == ["claims", "audience", member]
    assert problem["message"].endswith(f"allowed are {allowed(AUDIENCE_FIELDS)}")


def test_the_vocabulary_table_covers_every_closed_vocabulary_of_the_schema() -> None:
    """A new enumerated field in the schema must join VOCABULARIES (or this test fails)."""
    properties = alert_schema()["properties"]
    enumerated = {name for name, field in properties.items() if "enum" in field}
    enumerated |= {name for name, field in properties.items() if "enum" in field.get("items", {})}
    assert enumerated == {path[0] for path, _ in VOCABULARIES}


@pytest.mark.parametrize(
    "name", ["vehicle_registration", "passport_scan", "x", "a" * 64, "photo_2"]
)
def test_content_names_are_open_in_both(name: str) -> None:
    """docs/protocol.md §4.3: any name of the documented spelling is content, known to a
    policy or not."""
    document = diffusion()
    document["content"][name] = "value"
    assert schema_problems(document) == []
    assert broker_validates(document).kind == "diffusion"


@pytest.mark.parametrize(
    "name", ["Biometrics", "biometrics ", "bio-metrics", "2nd_subject", "a" * 65, "_private", "é"]
)
def test_content_names_outside_the_spelling_fail_both(name: str) -> None:
    document = diffusion()
    document["content"][name] = "value"
    assert schema_problems(document)
    (problem,) = broker_problems(document)
    assert problem["location"] == ["content", name]
    assert "lowercase" in problem["message"]


@pytest.mark.parametrize("name", ["exp", "audience", "iss", "sd_hash"])
def test_reserved_content_names_fail_both(name: str) -> None:
    document = diffusion()
    document["content"][name] = "value"
    assert schema_problems(document)
    with pytest.raises(InvalidInput, match="reserved"):
        validate_claims(broker_claims(), [*document["content"]], NOW, SKEW)


def broker_claims() -> dict[str, Any]:
    """The clear claims the client composes from the diffusion example."""
    document = diffusion()
    del document["content"]
    token = alert_token(KEY, "fr-police", KB_KEY, document, {"narrative": "n"}, now=NOW)
    return copy.deepcopy(verify_alert(parse_sd_jwt(token), KEY.public).claims)


def test_the_schema_refuses_what_the_client_sets_itself() -> None:
    for name, value in {"iss": "fr-police", "cnf": {"jwk": KB_KEY}}.items():
        assert schema_problems(diffusion() | {name: value}), name


def test_an_empty_audience_fails_both() -> None:
    document = diffusion() | {"audience": {"agencies": [], "groups": [], "all": False}}
    assert schema_problems(document)
    (problem,) = broker_problems(document)
    assert problem["location"] == ["claims", "audience"]


def router_app() -> FastAPI:
    application = FastAPI()
    problems.install(application)
    application.include_router(schema_routes.router)
    return application


async def test_the_router_serves_the_schema_unauthenticated() -> None:
    application = router_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://testserver"
    ) as client:
        response = await client.get(SCHEMA_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"] == SCHEMA_MEDIA_TYPE
    assert response.json() == alert_schema()
    assert response.text == COMMITTED.read_text(encoding="utf-8")
    typed = application.openapi()["paths"][SCHEMA_PATH]["get"]["responses"]["200"]["content"]
    assert typed[SCHEMA_MEDIA_TYPE]["schema"]["properties"]


async def test_the_app_serves_the_schema(app: FastAPI) -> None:
    """Needs `app.include_router(schema_routes.router)` in service/app.py."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.get(SCHEMA_PATH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == SCHEMA_MEDIA_TYPE
    assert response.json()["$id"] == alert_schema()["$id"]
