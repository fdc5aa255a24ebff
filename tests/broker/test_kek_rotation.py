"""Rotating the key-encryption key: after a rotation the service runs on the new KEK alone,
every alert still opens, the log verifies, the protected-subject register still matches, the
old KEK opens nothing, and an interrupted rotation completes when run again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from service.alerts.models import Alert
from service.alerts.sealing import SealedAlert, open_alert, rewrap
from service.app import create_app
from service.broker.keys import load_broker_keys
from service.broker.rotation import WrappedColumn
from service.cli.kek import alert_key_column, rotate_everything
from service.cli.main import main
from service.client import LiaisonClient
from service.protocol.clock import ManualClock
from service.protocol.crypto import VerificationError, b64url_encode
from service.protocol.crypto.aead import generate_key
from service.protocol.errors import NotReady
from service.settings import Settings
from tests.alerts.conftest import Member, MemberFactory, member
from tests.conftest import Party, Template, settle
from tests.governance.test_protected_subjects import (
    BORN,
    NAME,
    SPELLED_OTHERWISE,
    register,
    subject_content,
)

__all__ = ["member"]


@pytest.fixture
async def network(member: MemberFactory) -> dict[str, Member]:
    return {
        "fr": await member("fr-police", groups=("eu",), country="FR"),
        "de": await member("de-bka", groups=("eu",), country="DE"),
        "ccf": await member("ccf-review", roles=("reviewer",), country="ZZ"),
    }


def _on(app: FastAPI, member: Member, clock: ManualClock) -> Member:
    """The same agency, talking to another app."""
    party = member.party
    client = LiaisonClient(
        "http://testserver",
        party.signing,
        transport=httpx.ASGITransport(app=app),
        clock=clock.now,
    )
    return Member(Party(party.id, party.signing, party.encryption, client))


async def _alert_rows(engine: AsyncEngine) -> list[Alert]:
    async with async_sessionmaker(engine)() as session:
        return list((await session.scalars(select(Alert))).all())


async def test_after_rotation_the_new_kek_alone_opens_everything(
    app: FastAPI,
    engine: AsyncEngine,
    settings: Settings,
    clock: ManualClock,
    template: Template,
    database_url: str,
    network: dict[str, Member],
) -> None:
    fr, de, ccf = network["fr"], network["de"], network["ccf"]
    assert (await register(ccf)).status_code == 201
    published = await fr.post()
    held = await fr.post(content=subject_content(SPELLED_OTHERWISE))
    assert held["status"] == "pending_review"
    await settle(app)

    new_kek = generate_key()
    report = await rotate_everything(
        async_sessionmaker(engine), template.kek, new_kek, datetime.now(UTC), "operator"
    )
    assert report.rewrapped == {"alerts": 2, "broker_keys": 3}
    assert report.skipped == {"alerts": 0, "broker_keys": 0}

    # The old KEK opens nothing: not the broker's keys, not one alert.
    async with async_sessionmaker(engine)() as session:
        with pytest.raises(NotReady):
            await load_broker_keys(session, template.kek)
    for row in await _alert_rows(engine):
        assert row.sealed_body is not None and row.wrapped_key is not None
        sealed = SealedAlert(row.sealed_body, row.wrapped_key)
        with pytest.raises(VerificationError):
            open_alert(template.kek, row.id, sealed)
        open_alert(new_kek, row.id, sealed)

    rotated = create_app(
        settings.model_copy(update={"kek": SecretStr(b64url_encode(new_kek))}), clock
    )
    async with rotated.router.lifespan_context(rotated):
        de2, ccf2, fr2 = (_on(rotated, m, clock) for m in (de, ccf, fr))
        # A partner's feed still opens the alert sealed under the old KEK.
        items, _ = await de2.poll()
        assert [item.alert_id for item in items] == [published["alert_id"]]
        # A reviewer still reads the held one.
        read = await ccf2.party.client.request("GET", f"/v1/reviews/{held['alert_id']}")
        assert read.status_code == 200
        # The protected-subject register still matches: its key survived the rotation.
        again = await fr2.post(content=subject_content(NAME, born=BORN))
        assert again["status"] == "pending_review"
        await settle(rotated)
        for client in (de2, ccf2, fr2):
            await client.party.client.aclose()
    # The log, with the rotation in it, verifies as the operator checks it.
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["audit", "verify", "--database", database_url]
    )
    assert result.exit_code == 0, result.output


async def test_an_interrupted_rotation_completes_when_run_again(
    app: FastAPI, engine: AsyncEngine, template: Template, network: dict[str, Member]
) -> None:
    fr = network["fr"]
    posted = [(await fr.post())["alert_id"] for _ in range(3)]
    await settle(app)
    new_kek = generate_key()
    calls: list[str] = []

    def crash_on_second(old: bytes, new: bytes, alert_id: str, wrapped: bytes) -> bytes | None:
        calls.append(alert_id)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return rewrap(old, new, alert_id, wrapped)

    base = alert_key_column()
    crashing = WrappedColumn(base.name, base.table, base.id_name, base.key_name, crash_on_second)
    sessions = async_sessionmaker(engine)
    from service.broker.rotation import rotate_kek

    with pytest.raises(RuntimeError):
        await rotate_kek(
            sessions, template.kek, new_kek, datetime.now(UTC), "op", [crashing], batch_size=1
        )
    report = await rotate_everything(sessions, template.kek, new_kek, datetime.now(UTC), "op")
    assert report.rewrapped == {"alerts": 2, "broker_keys": 3}
    assert report.skipped == {"alerts": 1, "broker_keys": 0}
    again = await rotate_everything(sessions, template.kek, new_kek, datetime.now(UTC), "op")
    assert again.rewrapped == {"alerts": 0, "broker_keys": 0}
    assert again.skipped == {"alerts": 3, "broker_keys": 3}
    rows = await _alert_rows(engine)
    assert sorted(r.id for r in rows) == sorted(posted)
    for row in rows:
        assert row.sealed_body is not None and row.wrapped_key is not None
        open_alert(new_kek, row.id, SealedAlert(row.sealed_body, row.wrapped_key))
