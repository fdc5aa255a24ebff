"""The alert lifecycle: the table in code, in docs/lifecycle.md, and through the API.

Every (state, action) pair is walked: an alert is put in the state (through the API, then
by setting its row's status for the states the API cannot reach directly), the action is
performed through its real entry point, and the outcome is the table's: the new state, or
409 and nothing changed.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from service.alerts.feed import MAX_CURSOR, parse_cursor
from service.alerts.lifecycle import (
    ACTORS,
    TABLE,
    ActorKind,
    AlertAction,
    check,
    transition,
)
from service.alerts.models import Alert, FeedItem, ReviewCase
from service.app import expire_due, shred_due
from service.client import LiaisonAPIError
from service.protocol.clock import ManualClock
from service.protocol.errors import Conflict, Forbidden, InvalidInput
from service.protocol.vocabulary import AlertStatus
from tests.alerts.conftest import Member, MemberFactory
from tests.conftest import table_snapshot

DOC = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"
RED_NOTICE = {
    "kind": "red",
    "category": "corruption",
    "tlp": "clear",
    "audience": {"agencies": [], "groups": [], "all": True},
}


# --- the table itself -------------------------------------------------------------------


def documented_table() -> dict[tuple[str, str], tuple[frozenset[str], str]]:
    """The table between the ``lifecycle-table`` markers of docs/lifecycle.md."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- lifecycle-table.*?-->\n(.*?)<!-- end lifecycle-table -->", text, re.S)
    assert found is not None, "docs/lifecycle.md has lost its lifecycle-table markers"
    rows = [line for line in found.group(1).splitlines() if line.startswith("|")]
    assert [c.strip() for c in rows[0].strip("|").split("|")] == [
        "state",
        "action",
        "who may act",
        "resulting state",
    ]
    table: dict[tuple[str, str], tuple[frozenset[str], str]] = {}
    for line in rows[2:]:
        state, action, actors, result = (c.strip() for c in line.strip("|").split("|"))
        assert (state, action) not in table, f"({state}, {action}) is documented twice"
        table[(state, action)] = (frozenset(a.strip() for a in actors.split(",")), result)
    return table


def test_the_documented_table_is_the_code_table() -> None:
    code = {
        (str(state), str(action)): (frozenset(str(a) for a in rule.actors), str(rule.result))
        for (state, action), rule in TABLE.items()
    }
    assert documented_table() == code


def test_every_state_and_action_is_a_vocabulary_member() -> None:
    assert {s for s, _ in TABLE} <= set(AlertStatus)
    assert {a for _, a in TABLE} == set(AlertAction)
    # Nothing leaves shredded but a recipient's answer (a late purge confirmation).
    assert {a for s, a in TABLE if s == AlertStatus.SHREDDED} == {AlertAction.DISPOSITION}


@pytest.mark.parametrize("state", list(AlertStatus))
@pytest.mark.parametrize("action", list(AlertAction))
@pytest.mark.parametrize("actor", list(ActorKind))
def test_transition_follows_the_table_and_changes_nothing_when_refused(
    state: AlertStatus, action: AlertAction, actor: ActorKind
) -> None:
    alert = Alert(id="a", status=state)
    rule = TABLE.get((state, action))
    if rule is not None and actor in rule.actors:
        assert transition(alert, action, actor) == rule.result
        assert alert.status == rule.result
        return
    expected: type[Exception] = Forbidden
    if rule is None and actor in ACTORS[action]:
        expected = Conflict
    with pytest.raises(expected):
        transition(alert, action, actor)
    with pytest.raises(expected):
        check(state, action, actor)
    assert alert.status == state


# --- the table through the API -----------------------------------------------------------


@pytest.fixture
async def parties(member: MemberFactory) -> dict[str, Member]:
    return {
        "fr": await member("fr-police", groups=("eu",), country="FR"),
        "de": await member("de-bka", groups=("eu",), country="DE"),
        "ccf": await member("ccf-review", roles=("reviewer",), country="ZZ"),
    }


async def status_of(engine: AsyncEngine, alert_id: str) -> str:
    async with engine.connect() as connection:
        row = (await connection.execute(select(Alert.status).where(Alert.id == alert_id))).one()
    return str(row[0])


async def set_row(engine: AsyncEngine, alert_id: str, **values: Any) -> None:
    async with engine.begin() as connection:
        await connection.execute(update(Alert).where(Alert.id == alert_id).values(**values))


async def api_status(call: Any) -> int:
    """The HTTP status of an SDK call that may fail."""
    try:
        await call
    except LiaisonAPIError as error:
        return error.status
    return 200


async def alert_shaped_for(action: AlertAction, parties: dict[str, Member]) -> str:
    """An alert with what ``action`` needs besides its state: an open screening case for
    approve/reject, an open challenge for uphold/cancel, a recipient otherwise."""
    fr, de = parties["fr"], parties["de"]
    if action in (AlertAction.APPROVE, AlertAction.REJECT):
        posted = await fr.post(**RED_NOTICE)
        assert posted["status"] == "pending_review"
        return str(posted["alert_id"])
    alert_id = str((await fr.post())["alert_id"])
    if action in (AlertAction.UPHOLD, AlertAction.CANCEL):
        await de.alerts.dispose(alert_id, "challenged", "not our subject")
    return alert_id


async def perform(action: AlertAction, parties: dict[str, Member], alert_id: str) -> int:
    """Perform ``action`` through its real entry point; the HTTP status (200 for passes)."""
    fr, de, ccf = parties["fr"], parties["de"], parties["ccf"]
    if action in (AlertAction.APPROVE, AlertAction.REJECT, AlertAction.UPHOLD, AlertAction.CANCEL):
        body = {"decision": str(action), "reason": "walk"}
        return await api_status(
            ccf.party.client.request("POST", f"/v1/reviews/{alert_id}", json=body)
        )
    if action == AlertAction.WITHDRAW:
        return await api_status(fr.alerts.withdraw(alert_id, "walk"))
    if action == AlertAction.DISPOSITION:
        return await api_status(de.alerts.dispose(alert_id, "purged", "walk"))
    raise AssertionError(action)


#: The status a review verdict leaves its case in.
DECIDED = {
    AlertAction.APPROVE: "approved",
    AlertAction.REJECT: "rejected",
    AlertAction.UPHOLD: "upheld",
    AlertAction.CANCEL: "cancelled",
}
API_ACTIONS = [
    AlertAction.APPROVE,
    AlertAction.REJECT,
    AlertAction.UPHOLD,
    AlertAction.CANCEL,
    AlertAction.WITHDRAW,
    AlertAction.DISPOSITION,
]


@pytest.mark.parametrize("action", API_ACTIONS)
async def test_every_state_through_the_api(
    action: AlertAction,
    parties: dict[str, Member],
    engine: AsyncEngine,
    app: FastAPI,
) -> None:
    for state in AlertStatus:
        alert_id = await alert_shaped_for(action, parties)
        await set_row(engine, alert_id, status=state)
        rule = TABLE.get((state, action))
        before = await table_snapshot(engine, app)
        status = await perform(action, parties, alert_id)
        if rule is None:
            assert status == 409, (state, action)
            after = await table_snapshot(engine, app)
            after.pop("seen_nonces"), before.pop("seen_nonces")
            assert after == before, (state, action)
        else:
            assert status in (200, 201), (state, action)
            assert await status_of(engine, alert_id) == rule.result, (state, action)
            if action in DECIDED:
                async with engine.connect() as connection:
                    cases = (
                        await connection.execute(
                            select(ReviewCase.status).where(ReviewCase.alert_id == alert_id)
                        )
                    ).all()
                assert [c[0] for c in cases] == [DECIDED[action]], (state, action)


@pytest.mark.parametrize("action", [AlertAction.EXPIRE, AlertAction.SHRED])
async def test_every_state_through_the_broker_passes(
    action: AlertAction,
    parties: dict[str, Member],
    engine: AsyncEngine,
    app: FastAPI,
    clock: ManualClock,
) -> None:
    long_ago = clock.now() - timedelta(days=4000)
    for state in AlertStatus:
        alert_id = await alert_shaped_for(action, parties)
        # Due for both passes: exp passed, and status changed before any retention period.
        await set_row(
            engine, alert_id, status=state, status_changed_at=long_ago, expires_at=long_ago
        )
        rule = TABLE.get((state, action))
        before = await table_snapshot(engine, app)
        done = await (expire_due if action == AlertAction.EXPIRE else shred_due)(app.state.runtime)
        if rule is None:
            assert done == [], (state, action)
            assert await table_snapshot(engine, app) == before, (state, action)
        else:
            assert done == [alert_id], (state, action)
            assert await status_of(engine, alert_id) == rule.result, (state, action)


async def test_every_state_superseded(
    parties: dict[str, Member], engine: AsyncEngine, app: FastAPI
) -> None:
    fr = parties["fr"]
    for state in AlertStatus:
        older = await alert_shaped_for(AlertAction.SUPERSEDE, parties)
        await set_row(engine, older, status=state)
        rule = TABLE.get((state, AlertAction.SUPERSEDE))
        async with engine.connect() as connection:
            before = (await connection.execute(select(Alert).where(Alert.id == older))).one()
        newer = await fr.post(supersedes=older)
        # The newer alert is published whatever became of the older one.
        assert newer["status"] == "published", state
        async with engine.connect() as connection:
            after = (await connection.execute(select(Alert).where(Alert.id == older))).one()
            notices = (
                await connection.execute(select(FeedItem.type).where(FeedItem.alert_id == older))
            ).all()
        if rule is None:
            assert after == before, state
            assert [n[0] for n in notices] == ["alert"], state
        else:
            assert after.status == rule.result, state


# --- feeds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        # Finding 8's shape: published again, but its content shredded.
        {"sealed_body": None, "wrapped_key": None},
        # A sealed body the broker's key no longer opens.
        {"sealed_body": b"\x00" * 64},
    ],
    ids=["shredded", "unopenable"],
)
async def test_an_unservable_item_is_skipped_and_the_cursor_moves_past_it(
    parties: dict[str, Member],
    engine: AsyncEngine,
    damage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fr, de = parties["fr"], parties["de"]
    good = (await fr.post())["alert_id"]
    bad = (await fr.post(content={"narrative": "secret-marker-91c"}))["alert_id"]
    await set_row(engine, bad, **damage)
    with caplog.at_level(logging.WARNING, logger="service.alerts.feed"):
        items, cursor = await de.poll()
    assert [i.alert_id for i in items] == [good]
    async with engine.connect() as connection:
        bad_cursor = (
            await connection.execute(select(FeedItem.cursor).where(FeedItem.alert_id == bad))
        ).scalar_one()
    assert cursor == str(bad_cursor)
    [record] = [r for r in caplog.records if r.name == "service.alerts.feed"]
    assert bad in record.getMessage() and "de-bka" in record.getMessage()
    assert "secret-marker-91c" not in caplog.text
    later = (await fr.post())["alert_id"]
    items, _ = await de.poll(after=cursor)
    assert [i.alert_id for i in items] == [later]


@pytest.mark.parametrize(
    "value", ["²", "١٢", "1²", "+1", " 1", "-1", "1.0", str(MAX_CURSOR + 1), "9" * 19, "1" * 20]
)
def test_parse_cursor_refuses_anything_but_ascii_digits_in_range(value: str) -> None:
    with pytest.raises(InvalidInput):
        parse_cursor(value)


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 0), ("", 0), ("0", 0), ("42", 42), (str(MAX_CURSOR), MAX_CURSOR)]
)
def test_parse_cursor_accepts_feed_positions(value: str | None, expected: int) -> None:
    assert parse_cursor(value) == expected
