"""Whole-log verification (service.protocol.logverify) over the API, the database and the CLI."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.audit.database_source import DatabaseLogSource
from service.audit.integrator import Integrator
from service.audit.models import PendingEntry
from service.broker.keys import stored_checkpoint_verifier
from service.cli.main import main
from service.client import LiaisonClient
from service.client.log_source import HttpLogSource
from service.db.engine import make_engine, make_sessionmaker
from service.live import serve_app
from service.protocol.crypto import SigningPrivateKey
from service.protocol.logverify import (
    LogSource,
    LogVerificationError,
    VerificationReport,
    verify_log,
)
from service.protocol.merkle import Frontier, assemble, consistency_plan, inclusion_plan, leaf_hash
from service.protocol.note import Checkpoint, NoteSigner, NoteVerifier, sign_checkpoint
from tests.conftest import Party, settle


@dataclass(frozen=True)
class Trust:
    """What an auditor pins: the broker's checkpoint verifier and the log's origin."""

    verifier: NoteVerifier
    origin: str


async def broker_trust(client: LiaisonClient) -> Trust:
    identity = await client.broker()
    return Trust(NoteVerifier.from_vkey(identity["checkpoint_vkey"]), identity["origin"])


async def enqueue(engine: AsyncEngine, count: int, actor: str = "bulk") -> None:
    """Queue ``count`` entries directly, as committed requests would; ``settle`` integrates."""
    now = datetime.now(UTC)
    async with AsyncSession(engine) as session, session.begin():
        session.add_all(
            PendingEntry(
                payload={
                    "time": now.isoformat(),
                    "event": "test.bulk",
                    "actor": actor,
                    "n": n,
                },
                enqueued_at=now,
            )
            for n in range(count)
        )


async def stored_checkpoint(engine: AsyncEngine) -> tuple[int, bytes]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT size, root FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
            )
        ).one()
    return int(row[0]), bytes(row[1])


async def verify_database(
    engine: AsyncEngine, trust: Trust, trusted: Checkpoint | None = None
) -> VerificationReport:
    async with AsyncSession(engine) as session:
        return await verify_log(DatabaseLogSource(session), trust.verifier, trust.origin, trusted)


async def liaison_cli(*args: str) -> Result:
    """Run the CLI in a worker thread: it starts its own event loop, as from a shell."""
    return await asyncio.to_thread(CliRunner().invoke, main, list(args))


@pytest.fixture
async def auditor(register: Any) -> Party:
    party: Party = await register("eu-ombudsman", roles=("auditor",))
    return party


@pytest.fixture
async def populated(app: FastAPI, register: Any, auditor: Party) -> Trust:
    """A log with registrations of a few agencies, settled; the auditor is registered first."""
    for agency_id in ("fr-police", "de-bka", "it-polizia"):
        await register(agency_id)
    await settle(app)
    return await broker_trust(auditor.client)


async def test_log_verifies_over_http(
    populated: Trust, auditor: Party, engine: AsyncEngine
) -> None:
    size, root = await stored_checkpoint(engine)
    report = await verify_log(HttpLogSource(auditor.client), populated.verifier, populated.origin)
    assert report.size == size
    assert report.root_hash == root
    assert report.entries_checked == size
    assert report.consistent_from is None
    assert report.checkpoint.origin == populated.origin
    # Admin, auditor and three agencies: a registration and its keys each.
    assert size >= 4 * 3


async def test_log_verifies_from_the_database(populated: Trust, engine: AsyncEngine) -> None:
    size, root = await stored_checkpoint(engine)
    report = await verify_database(engine, populated)
    assert (report.size, report.root_hash, report.entries_checked) == (size, root, size)


async def test_stored_checkpoint_key_is_the_published_one(
    populated: Trust, engine: AsyncEngine
) -> None:
    async with AsyncSession(engine) as session:
        verifier = await stored_checkpoint_verifier(session, populated.origin)
    assert verifier.vkey == populated.verifier.vkey


async def test_log_of_several_pages_verifies(
    app: FastAPI, populated: Trust, auditor: Party, engine: AsyncEngine
) -> None:
    await enqueue(engine, 2100)
    await settle(app)
    size, _ = await stored_checkpoint(engine)
    assert size > 2000
    http = await verify_log(HttpLogSource(auditor.client), populated.verifier, populated.origin)
    database = await verify_database(engine, populated)
    assert http.entries_checked == http.size >= size
    assert database.entries_checked == database.size >= size


async def test_trusted_checkpoint_consistency_after_growth(
    app: FastAPI, populated: Trust, auditor: Party, register: Any, engine: AsyncEngine
) -> None:
    source = HttpLogSource(auditor.client)
    first = await verify_log(source, populated.verifier, populated.origin)
    for agency_id in ("es-policia", "nl-politie"):
        await register(agency_id)
    await settle(app)
    second = await verify_log(source, populated.verifier, populated.origin, first.checkpoint)
    assert second.size > first.size
    assert second.consistent_from == first.size
    # Equal sizes: the database source sees no new auditor queries once settled.
    await settle(app)
    third = await verify_database(engine, populated)
    again = await verify_database(engine, populated, third.checkpoint)
    assert again.consistent_from == again.size == third.size


class SubstitutedCheckpoint:
    """A source serving the real entries under a checkpoint note of the test's choosing."""

    def __init__(self, inner: LogSource, note: str) -> None:
        self._inner = inner
        self._note = note

    async def checkpoint_note(self) -> str:
        return self._note

    async def entries(self, start: int, end: int) -> list[bytes]:
        return await self._inner.entries(start, end)

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return await self._inner.inclusion_proof(index, size)

    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return await self._inner.consistency_proof(old_size, new_size)


async def test_checkpoint_signed_by_another_key_is_rejected(
    populated: Trust, engine: AsyncEngine
) -> None:
    genuine = await verify_database(engine, populated)
    impostor = NoteSigner(populated.origin, SigningPrivateKey.generate())
    # The very same tree head, only the signature is not the broker's.
    forged = sign_checkpoint(genuine.checkpoint, impostor)
    async with AsyncSession(engine) as session:
        source = SubstitutedCheckpoint(DatabaseLogSource(session), forged)
        with pytest.raises(LogVerificationError, match="not signed by"):
            await verify_log(source, populated.verifier, populated.origin)
        # Trusting the impostor's key instead does not help against the genuine note.
        with pytest.raises(LogVerificationError, match="not signed by"):
            await verify_log(DatabaseLogSource(session), impostor.verifier, populated.origin)


async def test_checkpoint_of_another_origin_is_rejected(
    populated: Trust, engine: AsyncEngine
) -> None:
    with pytest.raises(LogVerificationError, match=re.escape("for origin 'elsewhere.example/log'")):
        await verify_database(engine, Trust(populated.verifier, "elsewhere.example/log"))


async def test_cli_verifies_the_database_and_keeps_a_trusted_checkpoint(
    app: FastAPI,
    populated: Trust,
    register: Any,
    engine: AsyncEngine,
    database_url: str,
    tmp_path: Path,
) -> None:
    trusted_file = tmp_path / "trusted.checkpoint"
    result = await liaison_cli(
        "audit", "verify", "--database", database_url, "--trusted-checkpoint", str(trusted_file)
    )
    assert result.exit_code == 0, result.output
    size, _ = await stored_checkpoint(engine)
    assert f"size         {size}\n" in result.stdout
    assert f"entries      {size} checked\n" in result.stdout
    assert "not checked (no trusted checkpoint)" in result.stdout
    assert "trusting the checkpoint key from the broker_keys table" in result.stderr
    assert trusted_file.read_text().startswith(f"{populated.origin}\n{size}\n")

    await register("es-policia")
    await settle(app)
    result = await liaison_cli(
        "audit",
        "verify",
        "--database",
        database_url,
        "--vkey",
        populated.verifier.vkey,
        "--trusted-checkpoint",
        str(trusted_file),
    )
    assert result.exit_code == 0, result.output
    grown, _ = await stored_checkpoint(engine)
    assert grown > size
    assert f"consistency  ok from size {size}\n" in result.stdout
    assert "trusting" not in result.stderr
    assert trusted_file.read_text().startswith(f"{populated.origin}\n{grown}\n")


async def test_cli_rejects_a_wrong_pinned_key(
    populated: Trust, database_url: str, tmp_path: Path
) -> None:
    trusted_file = tmp_path / "trusted.checkpoint"
    other = NoteSigner(populated.origin, SigningPrivateKey.generate()).vkey
    result = await liaison_cli(
        "audit",
        "verify",
        "--database",
        database_url,
        "--vkey",
        other,
        "--trusted-checkpoint",
        str(trusted_file),
    )
    assert result.exit_code == 1
    assert "verification FAILED" in result.output
    assert not trusted_file.exists()


async def test_cli_needs_a_key_without_database() -> None:
    result = await liaison_cli("audit", "verify", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert "--key is required" in result.output


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The test's app on a real local port, so that the CLI reaches it over HTTP from its own
    thread and event loop, exactly as from a shell."""
    async with serve_app(app, lifespan="off", log_level="error") as base:
        yield base


@pytest.fixture
def auditor_key_file(auditor: Party, tmp_path: Path) -> Path:
    path = tmp_path / "auditor.jwk"
    path.write_text(json.dumps(auditor.signing.to_jwk()))
    return path


async def test_cli_verifies_over_http(
    app: FastAPI,
    populated: Trust,
    register: Any,
    served: str,
    auditor_key_file: Path,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    trusted_file = tmp_path / "trusted.checkpoint"
    common = ("audit", "verify", "--url", served, "--key", str(auditor_key_file))
    result = await liaison_cli(*common, "--trusted-checkpoint", str(trusted_file))
    assert result.exit_code == 0, result.output
    assert "trusting the checkpoint key from GET /v1/broker" in result.stderr
    assert populated.verifier.vkey in result.stderr
    size = int(trusted_file.read_text().split("\n")[1])
    assert f"entries      {size} checked\n" in result.stdout

    await register("es-policia")
    await settle(app)
    result = await liaison_cli(
        *common, "--vkey", populated.verifier.vkey, "--trusted-checkpoint", str(trusted_file)
    )
    assert result.exit_code == 0, result.output
    assert "trusting" not in result.stderr
    assert f"consistency  ok from size {size}\n" in result.stdout
    assert int(trusted_file.read_text().split("\n")[1]) > size


async def test_cli_over_http_names_the_altered_entry(
    populated: Trust, served: str, auditor_key_file: Path, engine: AsyncEngine
) -> None:
    # Imported here: test_tamper builds on this module's helpers.
    from tests.audit.test_tamper import allow_tampering, falsify_actor

    await allow_tampering(engine, ("audit_entries",))
    await falsify_actor(engine, 5)
    result = await liaison_cli(
        "audit",
        "verify",
        "--url",
        served,
        "--key",
        str(auditor_key_file),
        "--vkey",
        populated.verifier.vkey,
    )
    assert result.exit_code == 1
    assert "first bad index 5)" in result.output


async def test_cli_over_http_needs_an_auditor(
    populated: Trust, served: str, register: Any, tmp_path: Path
) -> None:
    agency: Party = await register("pt-pj")
    key_file = tmp_path / "agency.jwk"
    key_file.write_text(json.dumps(agency.signing.to_jwk()))
    result = await liaison_cli("audit", "verify", "--url", served, "--key", str(key_file))
    assert result.exit_code == 1
    assert "the broker refused: 403" in result.output


async def test_leaves_are_canonical_json_with_their_index(populated: Trust, auditor: Party) -> None:
    # The verifier's index check relies on this shape; pin it so the check cannot be vacuous.
    leaves = await auditor.client.audit_entries(0, 5)
    assert [json.loads(leaf)["index"] for leaf in leaves] == list(range(5))


class MemoryLog:
    """A log held in memory and signed by a key of the test's own: it lets a test serve
    leaves that the real service would never write, under a valid signature."""

    ORIGIN = "memory.example/log"

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves
        self.signer = NoteSigner(self.ORIGIN, SigningPrivateKey.generate())
        frontier = Frontier()
        self.nodes = dict(frontier.extend(leaf_hash(leaf) for leaf in leaves))
        checkpoint = Checkpoint(self.ORIGIN, frontier.size, frontier.root())
        self.note = sign_checkpoint(checkpoint, self.signer)
        self.pages: list[tuple[int, int]] = []

    @classmethod
    def of(cls, count: int) -> MemoryLog:
        return cls([json.dumps({"index": i, "event": "test"}).encode() for i in range(count)])

    async def checkpoint_note(self) -> str:
        return self.note

    async def entries(self, start: int, end: int) -> list[bytes]:
        self.pages.append((start, end))
        return self.leaves[start:end]

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        plan = inclusion_plan(index, size)
        return assemble(plan, self.nodes)

    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return assemble(consistency_plan(old_size, new_size), self.nodes)


async def test_entries_are_fetched_in_pages_of_at_most_a_thousand() -> None:
    log = MemoryLog.of(2345)
    report = await verify_log(log, log.signer.verifier, log.ORIGIN)
    assert report.entries_checked == 2345
    assert log.pages == [(0, 1000), (1000, 2000), (2000, 2345)]


@pytest.mark.parametrize(
    ("leaf", "reason"),
    [
        (b'{"index": 4, "event": "test"}', "another position"),
        (b'{"index": "3", "event": "test"}', "index as a string"),
        (b'{"index": true}', "index as a boolean"),
        (b'{"event": "test"}', "no index"),
        (b"[3]", "not an object"),
        (b"\xff not json", "not JSON"),
    ],
)
async def test_signed_but_malformed_entry_is_named(leaf: bytes, reason: str) -> None:
    leaves = MemoryLog.of(9).leaves
    leaves[3] = leaf
    # The broker itself signed this log: every hash matches, only the leaf's shape is wrong.
    log = MemoryLog(leaves)
    with pytest.raises(LogVerificationError) as caught:
        await verify_log(log, log.signer.verifier, log.ORIGIN)
    assert caught.value.index == 3, reason


async def test_log_serving_fewer_entries_than_signed_fails() -> None:
    log = MemoryLog.of(12)
    del log.leaves[10:]
    with pytest.raises(LogVerificationError) as caught:
        await verify_log(log, log.signer.verifier, log.ORIGIN)
    assert caught.value.index == 10


async def test_empty_log_verifies() -> None:
    log = MemoryLog([])
    report = await verify_log(log, log.signer.verifier, log.ORIGIN)
    assert (report.size, report.entries_checked) == (0, 0)


async def test_integrators_taking_turns_keep_one_consistent_log(
    app: FastAPI, populated: Trust, engine: AsyncEngine, database_url: str
) -> None:
    """Each integrator keeps the frontier it last committed; after another process has
    integrated in between it must read the stored one again, or the tree would fork."""
    runtime = app.state.runtime
    own_engine = make_engine(database_url)  # as a second process would (BEGIN IMMEDIATE)
    sessionmaker = make_sessionmaker(own_engine)
    first, second = (
        Integrator(sessionmaker, runtime.checkpoint_signer(), runtime.clock, batch_size=7)
        for _ in range(2)
    )
    integrated = {"first": 0, "second": 0}
    for turn in range(6):
        size = (await stored_checkpoint(engine))[0]
        await enqueue(engine, 10 + turn, actor=f"turn-{turn}")
        name, integrator = ("first", first) if turn % 3 else ("second", second)
        integrated[name] += await integrator.drain(wait=True)
        report = await verify_database(engine, populated)
        assert report.checkpoint.size == size + 10 + turn
    # (the app's own integrator may have taken a batch too: three integrators, one tree)
    assert integrated["first"] > 0 and integrated["second"] > 0
    await own_engine.dispose()
