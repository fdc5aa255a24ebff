"""Verification catches a log altered behind the service's back, with the triggers dropped.

Whoever can drop the append-only triggers can rewrite rows; the signed checkpoints and the
stored subtree hashes still betray them. Each test alters a private copy of the database.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.audit.database_source import DatabaseLogSource
from service.client.log_source import HttpLogSource
from service.protocol.logverify import (
    LogVerificationError,
    verify_log,
)
from tests.audit.test_verify import (
    Trust,
    broker_trust,
    enqueue,
    liaison_cli,
    stored_checkpoint,
    verify_database,
)
from tests.conftest import Party, settle

APPEND_ONLY = ("audit_entries", "audit_nodes", "audit_checkpoints")


async def allow_tampering(engine: AsyncEngine, tables: tuple[str, ...] = APPEND_ONLY) -> None:
    """Remove the append-only triggers, as an attacker with DDL rights would."""
    async with engine.begin() as connection:
        for table in tables:
            if engine.dialect.name == "postgresql":
                await connection.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))
            else:
                for operation in ("update", "delete"):
                    await connection.execute(text(f"DROP TRIGGER {table}_no_{operation}"))


async def read_leaf(engine: AsyncEngine, index: int) -> bytes:
    async with engine.connect() as connection:
        statement = text("SELECT leaf FROM audit_entries WHERE idx = :i")
        return bytes((await connection.execute(statement, {"i": index})).scalar_one())


async def write_leaf(engine: AsyncEngine, index: int, leaf: bytes) -> None:
    async with engine.begin() as connection:
        statement = text("UPDATE audit_entries SET leaf = :leaf WHERE idx = :i")
        result = await connection.execute(statement, {"leaf": leaf, "i": index})
        assert result.rowcount == 1


async def falsify_actor(engine: AsyncEngine, index: int) -> None:
    """Rewrite one entry's actor, keeping it well-formed canonical JSON with its own index."""
    document = json.loads(await read_leaf(engine, index))
    assert document["index"] == index
    document["actor"] = "mallory"
    forged = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    await write_leaf(engine, index, forged)


async def truncate_to(engine: AsyncEngine, size: int) -> None:
    """Delete every entry, subtree hash and checkpoint beyond ``size`` leaves; a checkpoint
    of exactly ``size`` must exist."""
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM audit_entries WHERE idx >= :n"), {"n": size})
        # A stored subtree covers leaves [idx * 2^level, (idx + 1) * 2^level).
        await connection.execute(
            text("DELETE FROM audit_nodes WHERE ((idx + 1) << level) > :n"), {"n": size}
        )
        await connection.execute(text("DELETE FROM audit_checkpoints WHERE size > :n"), {"n": size})
        # Only a batch boundary leaves a signed checkpoint to fall back to.
        statement = text("SELECT count(*) FROM audit_checkpoints WHERE size = :n")
        assert (await connection.execute(statement, {"n": size})).scalar_one() == 1


@pytest.fixture
async def auditor(register: Any) -> Party:
    party: Party = await register("eu-ombudsman", roles=("auditor",))
    return party


@pytest.fixture
async def log(app: FastAPI, register: Any, auditor: Party, engine: AsyncEngine) -> Trust:
    """A settled log of some 2,080 entries (uneven, so the tree has a ragged right edge)."""
    await register("fr-police")
    await enqueue(engine, 2061)
    await register("de-bka")
    await settle(app)
    size, _ = await stored_checkpoint(engine)
    assert 2048 < size < 4096, size
    return await broker_trust(auditor.client)


def positions(size: int) -> dict[str, int]:
    return {"first": 0, "second": 1, "middle": size // 2, "edge": 2047, "last": size - 1}


@pytest.mark.parametrize("where", ["first", "second", "middle", "edge", "last"])
async def test_altered_entry_is_named_from_the_database(
    log: Trust, engine: AsyncEngine, where: str
) -> None:
    size, _ = await stored_checkpoint(engine)
    index = positions(size)[where]
    await allow_tampering(engine, ("audit_entries",))
    await falsify_actor(engine, index)
    with pytest.raises(LogVerificationError) as caught:
        await verify_database(engine, log)
    assert caught.value.index == index
    assert f"first bad index {index})" in str(caught.value)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
async def test_altered_entry_is_named_over_http(
    log: Trust, auditor: Party, engine: AsyncEngine, where: str
) -> None:
    size, _ = await stored_checkpoint(engine)
    index = positions(size)[where]
    await allow_tampering(engine, ("audit_entries",))
    await falsify_actor(engine, index)
    with pytest.raises(LogVerificationError) as caught:
        await verify_log(HttpLogSource(auditor.client), log.verifier, log.origin)
    assert caught.value.index == index
    assert f"first bad index {index})" in str(caught.value)


async def test_whitespace_alone_is_an_alteration(log: Trust, engine: AsyncEngine) -> None:
    # Same JSON meaning, different bytes: the leaf hash covers the exact bytes.
    await allow_tampering(engine, ("audit_entries",))
    original = await read_leaf(engine, 7)
    await write_leaf(engine, 7, original.replace(b",", b", ", 1))
    with pytest.raises(LogVerificationError) as caught:
        await verify_database(engine, log)
    assert caught.value.index == 7


async def test_the_first_of_several_alterations_is_named(log: Trust, engine: AsyncEngine) -> None:
    await allow_tampering(engine, ("audit_entries",))
    for index in (1500, 300, 1024):
        await falsify_actor(engine, index)
    with pytest.raises(LogVerificationError) as caught:
        await verify_database(engine, log)
    assert caught.value.index == 300


async def test_swapped_entries_are_named(log: Trust, engine: AsyncEngine) -> None:
    await allow_tampering(engine, ("audit_entries",))
    first, second = await read_leaf(engine, 40), await read_leaf(engine, 41)
    await write_leaf(engine, 40, second)
    await write_leaf(engine, 41, first)
    with pytest.raises(LogVerificationError) as caught:
        await verify_database(engine, log)
    assert caught.value.index == 40


async def test_deleted_entry_is_named(log: Trust, engine: AsyncEngine) -> None:
    await allow_tampering(engine, ("audit_entries",))
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM audit_entries WHERE idx = 1234"))
    with pytest.raises(LogVerificationError) as caught:
        await verify_database(engine, log)
    assert caught.value.index == 1234


async def test_cli_fails_naming_the_altered_entry(
    log: Trust, engine: AsyncEngine, database_url: str
) -> None:
    await allow_tampering(engine, ("audit_entries",))
    await falsify_actor(engine, 999)
    result = await liaison_cli("audit", "verify", "--database", database_url)
    assert result.exit_code == 1
    assert "verification FAILED" in result.output
    assert "first bad index 999)" in result.output


async def test_truncation_fails_against_a_trusted_checkpoint(
    app: FastAPI, log: Trust, register: Any, engine: AsyncEngine, database_url: str, tmp_path: Any
) -> None:
    before, _ = await stored_checkpoint(engine)
    await enqueue(engine, 300)
    await settle(app)
    trusted = await verify_database(engine, log)
    assert trusted.size > before
    trusted_file = tmp_path / "trusted.checkpoint"
    trusted_file.write_text(trusted.checkpoint_note)

    await allow_tampering(engine)
    await truncate_to(engine, before)
    # On its own the shortened log is self-consistent: only the trusted checkpoint tells.
    shortened = await verify_database(engine, log)
    assert shortened.size == before
    with pytest.raises(LogVerificationError, match="truncated") as caught:
        await verify_database(engine, log, trusted.checkpoint)
    assert caught.value.index is None
    result = await liaison_cli(
        "audit", "verify", "--database", database_url, "--trusted-checkpoint", str(trusted_file)
    )
    assert result.exit_code == 1
    assert "truncated" in result.output
    # The trusted checkpoint is not replaced by the shorter one.
    assert trusted_file.read_text() == trusted.checkpoint_note


async def test_truncated_then_regrown_log_fails_as_rewritten(
    app: FastAPI, log: Trust, engine: AsyncEngine
) -> None:
    before, _ = await stored_checkpoint(engine)
    await enqueue(engine, 300)
    await settle(app)
    trusted = await verify_database(engine, log)
    await allow_tampering(engine)
    await truncate_to(engine, before)
    # The service integrates on from the shortened log: a different history, now longer.
    await enqueue(engine, 400, actor="rewriter")
    await settle(app)
    forked = await verify_database(engine, log)
    assert forked.size > trusted.size
    async with AsyncSession(engine) as session:
        with pytest.raises(LogVerificationError, match="rewritten"):
            await verify_log(
                DatabaseLogSource(session), log.verifier, log.origin, trusted.checkpoint
            )
