"""Every partner's client catches a truncated or rewritten log (service.client.log_monitor)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from service.client.log_monitor import LogMonitor
from service.protocol.crypto import KeyFormatError, SigningPrivateKey
from service.protocol.logverify import LogVerificationError
from service.protocol.note import Checkpoint, NoteSigner, sign_checkpoint
from tests.audit.test_tamper import allow_tampering, truncate_to
from tests.audit.test_verify import stored_checkpoint
from tests.conftest import Party, settle


def broker_signer(app: FastAPI) -> NoteSigner:
    """The broker's real checkpoint signer: what a compromised broker could sign with."""
    signer: NoteSigner = app.state.runtime.checkpoint_signer()
    return signer


def fabricated(app: FastAPI, size: int) -> str:
    """A correctly signed checkpoint of some other tree of ``size`` leaves."""
    signer = broker_signer(app)
    return sign_checkpoint(Checkpoint(signer.name, size, os.urandom(32)), signer)


async def grow(app: FastAPI, register: Any, *agency_ids: str) -> None:
    for agency_id in agency_ids:
        await register(agency_id)
    await settle(app)


@pytest.fixture
async def partner(app: FastAPI, register: Any) -> Party:
    """A plain agency, not an auditor."""
    party: Party = await register("fr-police")
    await settle(app)
    return party


async def test_client_accepts_a_growing_log(
    app: FastAPI, partner: Party, register: Any, engine: AsyncEngine
) -> None:
    first = await partner.client.check_log()
    assert (first.size, first.root_hash) == await stored_checkpoint(engine)
    await grow(app, register, "de-bka", "it-polizia")
    second = await partner.client.check_log()
    assert second.size > first.size
    assert (second.size, second.root_hash) == await stored_checkpoint(engine)
    # Seeing the same checkpoint again is fine too.
    assert await partner.client.check_log() == second
    assert partner.client.log_monitor is not None
    assert partner.client.log_monitor.last == second


async def test_rewritten_history_is_detected(
    app: FastAPI, partner: Party, register: Any, engine: AsyncEngine
) -> None:
    seen = await partner.client.check_log()
    await grow(app, register, "de-bka")
    size, _ = await stored_checkpoint(engine)
    monitor = partner.client.log_monitor
    assert monitor is not None
    # Signed with the right key, of the real size, but not the tree the partner saw grow:
    # the broker's consistency proof cannot connect the two.
    with pytest.raises(LogVerificationError, match="rewritten"):
        await monitor.observe(partner.client, fabricated(app, size))
    with pytest.raises(LogVerificationError, match="rewritten"):
        await monitor.observe(partner.client, fabricated(app, seen.size))
    assert monitor.last == seen
    # The genuine next checkpoint is still accepted afterwards.
    assert (await partner.client.check_log()).size == size


async def test_a_forked_memory_rejects_the_real_log(
    app: FastAPI, partner: Party, register: Any, engine: AsyncEngine, tmp_path: Path
) -> None:
    # The partner was shown (and kept) a checkpoint of another history; the log it is
    # served now does not extend it.
    size, _ = await stored_checkpoint(engine)
    state = tmp_path / "checkpoint"
    state.write_text(fabricated(app, size - 1))
    await grow(app, register, "de-bka")
    monitor = LogMonitor(state_file=state)
    with pytest.raises(LogVerificationError, match="rewritten"):
        await monitor.check(partner.client)


async def test_truncated_log_is_detected(
    app: FastAPI, partner: Party, register: Any, engine: AsyncEngine
) -> None:
    before, _ = await stored_checkpoint(engine)
    await grow(app, register, "de-bka", "it-polizia")
    seen = await partner.client.check_log()
    assert seen.size > before
    await allow_tampering(engine)
    await truncate_to(engine, before)
    with pytest.raises(LogVerificationError, match="truncated"):
        await partner.client.check_log()
    assert partner.client.log_monitor is not None
    assert partner.client.log_monitor.last == seen


async def test_checkpoint_signed_by_another_key_is_rejected(
    app: FastAPI, partner: Party, engine: AsyncEngine
) -> None:
    size, root = await stored_checkpoint(engine)
    impostor = NoteSigner(broker_signer(app).name, SigningPrivateKey.generate())
    forged = sign_checkpoint(Checkpoint(impostor.name, size, root), impostor)
    monitor = LogMonitor()
    with pytest.raises(LogVerificationError, match="not signed by"):
        await monitor.observe(partner.client, forged)
    assert monitor.last is None


async def test_state_file_survives_restarts(
    app: FastAPI, partner: Party, register: Any, engine: AsyncEngine, tmp_path: Path
) -> None:
    state = tmp_path / "checkpoint"
    vkey = broker_signer(app).vkey
    before, _ = await stored_checkpoint(engine)
    await grow(app, register, "de-bka")
    seen = await LogMonitor(vkey=vkey, state_file=state).check(partner.client)
    assert seen.size > before
    assert state.read_text() == await partner.client.audit_checkpoint()
    await allow_tampering(engine)
    await truncate_to(engine, before)
    # A fresh process with the remembered checkpoint catches what a fresh memory could not.
    with pytest.raises(LogVerificationError, match="truncated"):
        await LogMonitor(vkey=vkey, state_file=state).check(partner.client)
    assert (await LogMonitor(vkey=vkey).check(partner.client)).size == before


async def test_forged_state_file_is_an_error(app: FastAPI, partner: Party, tmp_path: Path) -> None:
    state = tmp_path / "checkpoint"
    impostor = NoteSigner(broker_signer(app).name, SigningPrivateKey.generate())
    state.write_text(sign_checkpoint(Checkpoint(impostor.name, 1, os.urandom(32)), impostor))
    with pytest.raises(LogVerificationError, match="does not verify"):
        await LogMonitor(state_file=state).check(partner.client)


async def test_pinned_key_of_another_broker_rejects_the_log(partner: Party) -> None:
    other = NoteSigner("liaison.local/audit", SigningPrivateKey.generate())
    with pytest.raises(LogVerificationError, match="not signed by"):
        await LogMonitor(vkey=other.vkey).check(partner.client)


def test_malformed_pinned_key_is_refused() -> None:
    with pytest.raises(KeyFormatError):
        LogMonitor(vkey="not-a-vkey")
