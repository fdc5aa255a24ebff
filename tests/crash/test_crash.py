"""Crash consistency (issue 11): a live ``liaison serve`` publishing alerts from several
concurrent submitters is killed with SIGKILL, then restarted on the same database and data
directory.

After the restart, every alert that was answered 201 must be there with its decisions, an
item in each recipient's feed (once, decrypting and verifying) and its audit entries; an
alert whose submission died with the connection must be there completely or not at all; and
the whole audit log must verify and extend the last checkpoint published before the crash.

The kill comes a random delay after the first few acceptances; the seed is in every failure
message and ``LIAISON_CRASH_SEED`` replays it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from service.client import LiaisonAPIError, LiaisonClient
from service.client.alerts import SD_JWT_MEDIA_TYPE, AlertsClient, alert_token
from service.client.log_source import HttpLogSource
from service.live import LiveServer
from service.protocol.crypto import EncryptionPrivateKey, SigningPrivateKey, b64url_encode
from service.protocol.logverify import ENTRIES_PER_CALL, open_checkpoint, verify_log
from service.protocol.note import Checkpoint, NoteVerifier
from service.protocol.vocabulary import AuditEvent
from tests.conftest import DatabaseFactory, Template

pytestmark = pytest.mark.slow

ORIGINATOR = "fr-police"
RECIPIENTS = ("de-bka", "it-polizia", "es-policia")
OUTSIDER = "us-fbi"  # registered, outside the alerts' audience: every decision withholds
AUDITOR = "eu-ombudsman"
SUBMITTERS = 4
#: Acceptances to wait for before the kill's random delay starts, so that there is something
#: to lose.
ACCEPTED_BEFORE_KILL = 8
KILL_DELAY_SECONDS = (0.0, 2.0)
#: Bounds on waiting for progress (liveness, not timing: they only turn a hang into a failure).
PROGRESS_DEADLINE_SECONDS = 45.0


@dataclass(frozen=True)
class Agency:
    id: str
    signing: SigningPrivateKey
    encryption: EncryptionPrivateKey


@dataclass
class Outcomes:
    """What the submitters saw, recorded as the answers arrived."""

    accepted: list[str] = field(default_factory=list)  # 201
    unknown: list[str] = field(default_factory=list)  # the connection died: maybe stored
    failures: list[str] = field(default_factory=list)  # any other answer, or a pre-kill error


@dataclass
class Crash:
    """The kill switch: ``killed`` is set just before SIGKILL, ``stop`` ends the submitters."""

    killed: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    checkpoint_notes: list[str] = field(default_factory=list)  # seen before the kill


def clear_claims(alert_id: str) -> dict[str, Any]:
    return {
        "jti": alert_id,
        "kind": "diffusion",
        "category": "fraud",
        "tlp": "amber",
        "handling": [],
        "audience": {"agencies": [], "groups": ["eu"], "all": False},
        "purpose": "inform",
        "legal_basis": "Convention on mutual assistance, art. 7",
    }


async def sigkill(server: LiveServer) -> None:
    """SIGKILL ``liaison serve`` itself (with one worker, uvicorn serves in that very process:
    no parent shell, no supervisor) and reap it."""
    assert await asyncio.to_thread(server.kill) == -signal.SIGKILL


@pytest.fixture
def agencies() -> dict[str, Agency]:
    return {
        name: Agency(name, SigningPrivateKey.generate(), EncryptionPrivateKey.generate())
        for name in (ORIGINATOR, *RECIPIENTS, OUTSIDER, AUDITOR)
    }


@pytest.fixture
def crash_database(databases: DatabaseFactory, template: Template) -> str:
    return databases.copy_of(template.url)


@pytest.fixture
async def server(
    crash_database: str, template: Template, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    data = tmp_path / "data"
    data.mkdir()
    live = LiveServer(
        data,
        database_url=crash_database,
        env={"LIAISON_KEK": b64url_encode(template.kek)},
        log_path=tmp_path / "server-before-crash.log",
        ready_timeout=PROGRESS_DEADLINE_SECONDS,
    )
    async with live:
        yield live


async def register_all(server: LiveServer, template: Template, agencies: dict[str, Agency]) -> None:
    async with LiaisonClient(server.base_url, template.admin_key) as admin:
        for agency in agencies.values():
            groups = ["eu"] if agency.id in (ORIGINATOR, *RECIPIENTS) else []
            await admin.register_agency(
                {
                    "id": agency.id,
                    "name": f"Agency {agency.id}",
                    "country": "FR",
                    "groups": groups,
                    "roles": ["auditor"] if agency.id == AUDITOR else ["agency"],
                    "attributes": {},
                    "signing_keys": [agency.signing.public.to_jwk()],
                    "encryption_keys": [agency.encryption.public.to_jwk()],
                }
            )


async def submit_until_stopped(
    base_url: str, originator: Agency, kb_key: dict[str, str], crash: Crash, outcomes: Outcomes
) -> None:
    """Post alerts one after another until ``crash.stop``, recording each answer."""
    async with LiaisonClient(base_url, originator.signing) as client:
        while not crash.stop.is_set():
            alert_id = str(uuid.uuid4())
            content = {"narrative": f"crash test alert {alert_id}", "subject": {"name": "X"}}
            token = alert_token(
                originator.signing, originator.id, kb_key, clear_claims(alert_id), content
            )
            try:
                response = await client.request(
                    "POST",
                    "/v1/alerts",
                    content=token.encode("ascii"),
                    headers={"content-type": SD_JWT_MEDIA_TYPE},
                )
            except httpx.TransportError as exc:
                outcomes.unknown.append(alert_id)
                if not crash.killed.is_set():
                    outcomes.failures.append(f"{alert_id}: {exc!r} before the kill")
                await asyncio.sleep(0.02)
                continue
            except LiaisonAPIError as exc:
                outcomes.failures.append(f"{alert_id}: {exc}")
                continue
            if response.status_code != 201 or response.json()["alert_id"] != alert_id:
                outcomes.failures.append(f"{alert_id}: {response.status_code} {response.text}")
                continue
            outcomes.accepted.append(alert_id)


async def watch_checkpoints(base_url: str, auditor: Agency, crash: Crash) -> None:
    """Keep every checkpoint note published before the kill."""
    async with LiaisonClient(base_url, auditor.signing) as client:
        while not crash.killed.is_set():
            try:
                note = await client.audit_checkpoint()
            except httpx.TransportError:
                return
            if not crash.killed.is_set():
                crash.checkpoint_notes.append(note)
            await asyncio.sleep(0.05)


async def until(condition: Any, what: str, context: str) -> None:
    """Wait for ``await condition()`` to be true; fail naming ``what`` after the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PROGRESS_DEADLINE_SECONDS
    while not await condition():
        if loop.time() > deadline:
            pytest.fail(f"{what} did not happen within {PROGRESS_DEADLINE_SECONDS} s; {context}")
        await asyncio.sleep(0.1)


async def shown_or_missing(client: AlertsClient, alert_id: str) -> dict[str, Any] | None:
    """The originator's view of the alert, or None if the broker answers 404."""
    try:
        return await client.show(alert_id)
    except LiaisonAPIError as exc:
        if exc.status == 404:
            return None
        raise


async def read_feed(client: AlertsClient) -> list[dict[str, Any]]:
    """Every item of the caller's feed, reading on until a page comes back empty."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = await client.feed(after=after, limit=100)
        if not page["items"]:
            return items
        items += page["items"]
        after = page["next"]


async def verify_database_with_cli(
    database_url: str, broker: dict[str, Any], trusted_note: str, tmp_path: Path
) -> None:
    """``liaison audit verify --database``: the operator's offline check, straight from the
    tables, pinned to the broker's key and the last checkpoint seen before the crash."""
    trusted_file = tmp_path / "trusted-checkpoint.txt"
    trusted_file.write_text(trusted_note)
    command = [sys.executable, "-m", "service.cli", "audit", "verify", "--database", database_url]
    command += ["--vkey", broker["checkpoint_vkey"], "--origin", broker["origin"]]
    command += ["--trusted-checkpoint", str(trusted_file)]
    result = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit log verified" in result.stdout


async def read_log(client: LiaisonClient, size: int) -> list[dict[str, Any]]:
    leaves: list[bytes] = []
    for start in range(0, size, ENTRIES_PER_CALL):
        leaves += await client.audit_entries(start, min(size, start + ENTRIES_PER_CALL))
    return [json.loads(leaf) for leaf in leaves]


async def test_sigkill_during_concurrent_publication_loses_nothing_acknowledged(
    server: LiveServer,
    template: Template,
    agencies: dict[str, Agency],
    crash_database: str,
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("LIAISON_CRASH_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    context = f"seed {seed} (LIAISON_CRASH_SEED), server logs in {tmp_path}"
    await register_all(server, template, agencies)
    originator, auditor = agencies[ORIGINATOR], agencies[AUDITOR]
    async with LiaisonClient(server.base_url, auditor.signing) as client:
        broker = await client.broker()
    verifier, origin = NoteVerifier.from_vkey(broker["checkpoint_vkey"]), broker["origin"]

    # 1. Publish from several submitters; kill the server while they are at it.
    crash, outcomes = Crash(), Outcomes()
    workers = [
        asyncio.create_task(
            submit_until_stopped(server.base_url, originator, broker["kb_key"], crash, outcomes)
        )
        for _ in range(SUBMITTERS)
    ]
    workers.append(asyncio.create_task(watch_checkpoints(server.base_url, auditor, crash)))

    async def enough_accepted() -> bool:
        return len(outcomes.accepted) >= ACCEPTED_BEFORE_KILL or bool(outcomes.failures)

    try:
        await until(enough_accepted, f"{ACCEPTED_BEFORE_KILL} acceptances", context)
        await asyncio.sleep(rng.uniform(*KILL_DELAY_SECONDS))
        crash.killed.set()
        await sigkill(server)
    finally:
        crash.killed.set()
        crash.stop.set()
        await asyncio.gather(*workers)
    assert outcomes.failures == [], f"answers other than 201 before the kill; {context}"
    assert crash.checkpoint_notes, context
    trusted: Checkpoint = open_checkpoint(crash.checkpoint_notes[-1], verifier, origin)

    # 2. Restart on the same database and data directory.
    await asyncio.to_thread(server.stop)
    server.log_path = tmp_path / "server-after-crash.log"
    server.start()
    await asyncio.to_thread(server.wait_ready)

    # 3. The integrator catches up: nothing committed is left unintegrated.
    engine = create_async_engine(crash_database)
    try:

        async def queue_empty() -> bool:
            async with engine.connect() as connection:
                pending = await connection.scalar(text("SELECT count(*) FROM audit_pending"))
            return int(pending or 0) == 0

        await until(queue_empty, "integration of the audit queue after restart", context)
    finally:
        await engine.dispose()

    async with (
        LiaisonClient(server.base_url, originator.signing) as originator_client,
        LiaisonClient(server.base_url, auditor.signing) as auditor_client,
    ):
        # 4. The whole log verifies and extends the last checkpoint seen before the crash.
        report = await verify_log(HttpLogSource(auditor_client), verifier, origin, trusted)
        assert report.consistent_from == trusted.size
        await verify_database_with_cli(crash_database, broker, crash.checkpoint_notes[-1], tmp_path)
        entries = await read_log(auditor_client, report.size)
        submitted: Counter[str] = Counter()
        decided: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
        for entry in entries:
            if entry["event"] == AuditEvent.ALERT_SUBMITTED:
                submitted[entry["alert_id"]] += 1
            elif entry["event"] == AuditEvent.ALERT_DECISION:
                decided[entry["alert_id"]].add((entry["partner"], entry["decision"]))

        # 5. Every acknowledged alert is there; an unknown one completely or not at all.
        shows = AlertsClient(originator_client, ORIGINATOR)
        present: list[str] = []
        for alert_id in [*outcomes.accepted, *outcomes.unknown]:
            view = await shown_or_missing(shows, alert_id)
            if view is None:
                assert alert_id not in outcomes.accepted, f"201'd {alert_id} lost; {context}"
                assert alert_id not in submitted, f"{alert_id} audited, not stored; {context}"
                continue
            present.append(alert_id)
            decisions = {(d["partner"], d["decision"]) for d in view["decisions"]}
            assert view["status"] == "published", context
            assert {p for p, d in decisions if d == "received"} == set(RECIPIENTS), context
            assert (OUTSIDER, "withheld") in decisions, context
            assert submitted[alert_id] == 1, f"{alert_id} submitted {submitted[alert_id]} times"
            assert decided[alert_id] == decisions, f"{alert_id}: audit ≠ stored decisions"
        assert set(submitted) == set(present), f"audited alerts that are not stored; {context}"

        # 6. Each recipient's feed holds every present alert once, and nothing else.
        for name in (*RECIPIENTS, OUTSIDER):
            agency = agencies[name]
            async with LiaisonClient(server.base_url, agency.signing) as partner_client:
                feed = AlertsClient(partner_client, name, agency.encryption)
                items = [i for i in await read_feed(feed) if i["type"] == "alert"]
                counts = Counter(item["alert_id"] for item in items)
                assert [a for a, n in counts.items() if n > 1] == [], f"{name}: twice; {context}"
                expected = set(present) if name in RECIPIENTS else set()
                assert set(counts) == expected, f"{name}'s feed; {context}"
                for item in items:
                    assert (await feed.open_item(item)).originator == ORIGINATOR
    assert set(outcomes.accepted) <= set(present), context
