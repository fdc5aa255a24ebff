"""The protected-subject register: alerts about a registered person are held although the
originator marked nothing; identities are never stored in clear; reviewers only; audited."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.alerts.models import Alert
from service.alerts.protected import (
    SubjectIdentity,
    normalise,
    register_from_alert,
    registered_subject,
    stored_content,
)
from service.audit.log import AuditLog
from service.client import LiaisonAPIError
from service.tables import Base
from tests.alerts.conftest import Member, MemberFactory
from tests.conftest import Template, settle

NAME, BORN, NATIONALITY = "José  María Pérez", "1975-04-12", "VE"
SPELLED_OTHERWISE = "jose maria PEREZ"
REASON = "recognised refugee (UNHCR mandate), fled Venezuela"


@pytest.fixture
async def network(member: MemberFactory) -> dict[str, Member]:
    return {
        "fr": await member("fr-police", groups=("eu",), country="FR"),
        "de": await member("de-bka", groups=("eu",), country="DE"),
        "ccf": await member("ccf-review", roles=("reviewer",), country="ZZ"),
    }


def subject_content(name: str, born: str = BORN, nationality: str = NATIONALITY) -> dict[str, Any]:
    return {
        "subject": {"name": name, "born": born, "nationality": nationality},
        "narrative": "Suspected of embezzling public funds.",
    }


async def register(member: Member, **overrides: str) -> Any:
    body = {"name": NAME, "birth_date": BORN, "nationality": NATIONALITY, "reason": REASON}
    return await member.party.client.request(
        "POST", "/v1/protected-subjects", json=body | overrides
    )


def test_normalisation_ignores_case_spacing_and_diacritics() -> None:
    assert normalise(NAME) == normalise(SPELLED_OTHERWISE) == "jose maria perez"
    key = bytes(32)
    same = SubjectIdentity.of(SPELLED_OTHERWISE, BORN, "ve")
    assert SubjectIdentity.of(NAME, BORN, NATIONALITY).digest(key) == same.digest(key)
    assert SubjectIdentity.of(NAME, "1975-04-13", NATIONALITY).digest(key) != same.digest(key)
    # keyed: another key, another digest
    assert same.digest(bytes(32)) != same.digest(b"\x01" * 32)


async def test_an_alert_about_a_registered_subject_is_held_unmarked(
    network: dict[str, Member],
) -> None:
    fr, de, ccf = network["fr"], network["de"], network["ccf"]
    registered = await register(ccf)
    assert registered.status_code == 201
    entry = registered.json()
    assert NAME not in registered.text and BORN not in registered.text
    # The originator marks nothing and asks only for enquiries: still held.
    posted = await fr.post(purpose="investigate", content=subject_content(SPELLED_OTHERWISE))
    assert posted["status"] == "pending_review"
    assert (await de.poll())[0] == []
    [case] = (await ccf.party.client.request("GET", "/v1/reviews")).json()["reviews"]
    assert case["alert_id"] == posted["alert_id"]
    assert "protected-subject-register" in case["reason"]
    assert f"register entry {entry['id']}" in case["reason"] and REASON in case["reason"]
    assert "jose" not in case["reason"].lower()
    # Someone else, or the same name born another day, is published.
    other = await fr.post(content=subject_content(SPELLED_OTHERWISE, born="1975-04-13"))
    assert other["status"] == "published"


async def test_the_register_is_for_reviewers_and_audited(
    app: FastAPI, engine: AsyncEngine, network: dict[str, Member]
) -> None:
    fr, ccf = network["fr"], network["ccf"]
    for call in (
        register(fr),
        fr.party.client.request("GET", "/v1/protected-subjects"),
    ):
        with pytest.raises(LiaisonAPIError) as refused:
            await call
        assert refused.value.status == 403
    entry = (await register(ccf)).json()
    with pytest.raises(LiaisonAPIError) as twice:
        await register(ccf, name=SPELLED_OTHERWISE, nationality="ve")
    assert twice.value.status == 409
    listed = (await ccf.party.client.request("GET", "/v1/protected-subjects")).json()
    assert listed == {
        "protected_subjects": [
            {
                "id": entry["id"],
                "reason": REASON,
                "registered_by": "ccf-review",
                "registered_at": entry["registered_at"],
                "source_alert_id": None,
            }
        ]
    }
    await settle(app)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT actor, leaf FROM audit_entries WHERE event = 'protected.registered'")
            )
        ).all()
    [(actor, leaf)] = rows
    assert actor == "ccf-review"
    assert REASON.encode() in bytes(leaf) and b'"entry"' in bytes(leaf)


async def test_register_from_alert_registers_the_subject_of_a_stored_alert(
    app: FastAPI, template: Template, network: dict[str, Member]
) -> None:
    fr = network["fr"]
    posted = await fr.post(content=subject_content(NAME))
    now = datetime.now(UTC)
    async with app.state.runtime.sessionmaker() as session, session.begin():
        key = app.state.runtime.require_broker_keys().subject_register
        alert = (await session.scalars(select(Alert))).one()
        content = stored_content(template.kek, alert)
        audit = AuditLog(session, now)
        entry = await register_from_alert(
            session, audit, key, alert, content, "cancelled: neutrality", "ccf-review", now
        )
        assert entry is not None and entry.source_alert_id == posted["alert_id"]
        again = await register_from_alert(
            session, audit, key, alert, content, "cancelled again", "ccf-review", now
        )
        assert again is entry
        found = await registered_subject(session, key, subject_content(SPELLED_OTHERWISE))
        assert found is entry
    assert (await fr.post(content=subject_content(SPELLED_OTHERWISE)))["status"] == (
        "pending_review"
    )


def _forms() -> list[str]:
    forms = {NAME, SPELLED_OTHERWISE, normalise(NAME), "José María Pérez", BORN, normalise(BORN)}
    forms |= {"Pérez", "perez", "María"}
    return sorted(forms)


async def test_no_table_holds_a_protected_subjects_identity_in_clear(
    app: FastAPI, engine: AsyncEngine, network: dict[str, Member]
) -> None:
    fr, ccf = network["fr"], network["ccf"]
    assert (await register(ccf)).status_code == 201
    posted = await fr.post(content=subject_content(SPELLED_OTHERWISE))
    assert posted["status"] == "pending_review"
    await settle(app)
    found: list[str] = []
    scanned = 0
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = (await connection.execute(select(table))).all()
            for row in rows:
                for column, value in zip(table.columns, row, strict=True):
                    scanned += 1
                    for rendered in _renderings(value):
                        lowered = rendered.casefold()
                        for form in _forms():
                            if form.casefold() in lowered:
                                found.append(f"{table.name}.{column.name}: {form!r}")
    assert scanned > 0
    # Positive control: the scan does see clear values stored with the same entry.
    assert any(REASON in r for r in await _reasons(engine))
    assert found == []


def _renderings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return [raw.decode("utf-8", "replace"), raw.hex(), base64.b64encode(raw).decode()]
    return [str(value)]


async def _reasons(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list(
            (await connection.execute(text("SELECT reason FROM protected_subjects"))).scalars()
        )
