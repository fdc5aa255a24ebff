"""Acceptance: two app processes appending concurrently to one database produce a dense,
verifying log with every acknowledged entry present exactly once.

Two OS processes (``concurrent_appender.py``) each run the app's runtime pieces, their own
integrator included, and append from several tasks at once: 10 s on PostgreSQL, 5 s on one
SQLite WAL file. Afterwards the log is checked from first principles: dense indices, leaves
that say their own index, every acknowledged marker once and nothing rolled back, an empty
queue, every checkpoint signed and equal to a recomputation from the leaves, every stored node
hash equal to the recomputed one, and every checkpoint consistent with the latest by proof.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from service.audit.integrator import Integrator
from service.audit.models import AuditCheckpoint, AuditEntry, AuditNode, PendingEntry
from service.audit.repository import AuditRepository
from service.broker.keys import load_broker_keys
from service.db.engine import make_engine, make_sessionmaker
from service.protocol.clock import SystemClock
from service.protocol.crypto import b64url_encode
from service.protocol.merkle import (
    Frontier,
    NodeAddress,
    assemble,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    plan_addresses,
    verify_consistency,
    verify_inclusion,
)
from service.protocol.note import NoteSigner, verify_checkpoint
from tests.conftest import Template

pytestmark = pytest.mark.slow

APPENDER = Path(__file__).with_name("concurrent_appender.py")
ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "liaison.test/concurrency"
SECONDS = {"postgresql": 10.0, "sqlite": 5.0}
PROCESSES = 2
TASKS = 4
INCLUSION_SAMPLES = 200


def _child_environment(database_url: str, kek: bytes) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LIAISON_")}
    environment.update(
        LIAISON_ENV="test",
        LIAISON_DATABASE_URL=database_url,
        LIAISON_KEK=b64url_encode(kek),
        LIAISON_ORIGIN=ORIGIN,
    )
    return environment


async def _run_appenders(
    database_url: str, kek: bytes, seconds: float, workdir: Path
) -> list[dict[str, Any]]:
    """Start the appenders, release them together once all are ready, return their summaries."""
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(APPENDER),
            f"--name=p{n}",
            f"--seconds={seconds}",
            f"--tasks={TASKS}",
            f"--out={workdir / f'p{n}'}",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_child_environment(database_url, kek),
            cwd=ROOT,
        )
        for n in range(PROCESSES)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            ready = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            if ready != b"ready\n":
                _, stderr = await process.communicate()
                pytest.fail(f"appender did not start: {ready!r}\n{stderr.decode()}")
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        outputs = await asyncio.wait_for(
            asyncio.gather(*(process.communicate() for process in processes)),
            timeout=seconds + 120,
        )
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    summaries = []
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr.decode()
        summaries.append(json.loads(stdout.decode().strip().splitlines()[-1]))
    return summaries


def _markers(path: Path) -> list[str]:
    return path.read_text().splitlines()


async def test_two_processes_append_concurrently(
    backend: str, database_url: str, template: Template, tmp_path: Path
) -> None:
    summaries = await _run_appenders(database_url, template.kek, SECONDS[backend], tmp_path)
    for summary in summaries:
        assert summary["failure_count"] == 0, summary["failures"]
        assert summary["integrator_errors"] == 0, summary
        assert summary["acknowledged"] > 0, summary
    acknowledged = [m for n in range(PROCESSES) for m in _markers(tmp_path / f"p{n}.ack")]
    rolled_back = {m for n in range(PROCESSES) for m in _markers(tmp_path / f"p{n}.rolled-back")}
    assert len(acknowledged) == sum(s["acknowledged"] for s in summaries)
    assert rolled_back, "the appenders roll back every tenth transaction"

    engine = make_engine(database_url)
    try:
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as session:
            keys = await load_broker_keys(session, template.kek)
        signer = NoteSigner(ORIGIN, keys.checkpoint)
        # Whatever the appenders' integrators left queued is integrated now.
        await Integrator(sessionmaker, signer, SystemClock()).drain(wait=True)

        async with sessionmaker() as session:
            repository = AuditRepository(session)
            leaves = (
                await session.execute(
                    select(AuditEntry.idx, AuditEntry.leaf).order_by(AuditEntry.idx)
                )
            ).all()
            stored_nodes = {
                NodeAddress(level, index): value
                for level, index, value in (
                    await session.execute(select(AuditNode.level, AuditNode.idx, AuditNode.hash))
                ).all()
            }
            checkpoints = (
                await session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size))
            ).all()
            pending = await session.scalar(select(func.count(PendingEntry.id)))
            size = len(leaves)

            # Dense: exactly 0..n-1, and each leaf's canonical JSON names its own index.
            assert [index for index, _ in leaves] == list(range(size))
            documents = [json.loads(leaf) for _, leaf in leaves]
            for (index, leaf), document in zip(leaves, documents, strict=True):
                assert document["index"] == index
                canonical = json.dumps(
                    document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                ).encode()
                assert leaf == canonical

            # Every acknowledged entry once; nothing rolled back; nothing unaccounted for
            # (no transaction failed, so every committed entry was acknowledged).
            in_log = Counter(d["marker"] for d in documents if "marker" in d)
            assert [m for m, count in in_log.items() if count > 1] == []
            assert set(acknowledged) - set(in_log) == set()
            assert set(in_log) - set(acknowledged) == set()
            assert rolled_back & set(in_log) == set()
            assert len(acknowledged) == len(set(acknowledged))
            assert pending == 0

            # The processes really interleaved: each one's entries span the other's.
            spans = {
                f"p{n}": [i for i, d in enumerate(documents) if d.get("actor") == f"p{n}"]
                for n in range(PROCESSES)
            }
            assert min(spans["p0"]) < max(spans["p1"]) and min(spans["p1"]) < max(spans["p0"])

            # Every checkpoint is signed by the broker's checkpoint key, and its root is the
            # recomputed root of that prefix; every stored node hash is the recomputed one.
            assert checkpoints and checkpoints[-1].size == size
            signed = {
                c.size: verify_checkpoint(c.note, signer.verifier, ORIGIN) for c in checkpoints
            }
            frontier = Frontier()
            recomputed: dict[NodeAddress, bytes] = {}
            roots = {0: frontier.root()}
            for _, leaf in leaves:
                recomputed.update(frontier.append(leaf_hash(leaf)))
                roots[frontier.size] = frontier.root()
            for checkpoint in checkpoints:
                assert signed[checkpoint.size].size == checkpoint.size
                assert signed[checkpoint.size].root_hash == roots[checkpoint.size]
                assert checkpoint.root == roots[checkpoint.size]
            assert stored_nodes == recomputed

            # Every checkpoint is consistent with the latest, by proofs from stored nodes.
            latest = signed[size]
            for checkpoint in checkpoints[:-1]:
                old = signed[checkpoint.size]
                if old.size == 0:
                    continue
                plan = consistency_plan(old.size, size)
                proof = assemble(plan, await repository.nodes(plan_addresses(plan)))
                verify_consistency(old.size, size, proof, old.root_hash, latest.root_hash)

            # And a sample of entries is provably included in the latest checkpoint.
            for index in random.Random(size).sample(range(size), min(size, INCLUSION_SAMPLES)):
                plan = inclusion_plan(index, size)
                proof = assemble(plan, await repository.nodes(plan_addresses(plan)))
                verify_inclusion(leaf_hash(leaves[index][1]), index, size, proof, latest.root_hash)
    finally:
        await engine.dispose()

    print(
        f"\n[{backend}] {PROCESSES} processes x {TASKS} tasks, {SECONDS[backend]:g} s: "
        f"{len(acknowledged):,} acknowledged entries ({size:,} in the log with bootstrap), "
        f"{len(rolled_back):,} rolled back, {len(checkpoints):,} checkpoints, all consistent"
    )
