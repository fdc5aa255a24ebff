"""Acceptance 5: the database (SQLite file bytes and PostgreSQL table contents) never holds the
plaintext of a content claim. A unique marker goes into several content claims; after the
alert is posted, served, disposed of, withdrawn and audited, the marker is searched for in
the raw storage, plain and base64/base64url-encoded at every alignment (disclosures are
base64url JSON), and, for PostgreSQL's bytea text form, hex-encoded too.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.tables import Base
from tests.alerts.conftest import MemberFactory
from tests.conftest import settle


def encodings(secret: bytes) -> dict[str, bytes]:
    """``secret`` as it would show inside any base64 or base64url text that encodes it.

    Wherever ``secret`` starts inside the encoded bytes, one of its three suffixes
    ``secret[o:]`` (o = 0, 1, 2) starts on a 3-byte boundary; whole 3-byte groups of it are
    then encoded to the same 4 characters whatever surrounds them.
    """
    found = {"raw": secret}
    for offset in range(3):
        chunk = secret[offset:]
        chunk = chunk[: len(chunk) // 3 * 3]
        found[f"base64@{offset}"] = base64.b64encode(chunk)
        found[f"base64url@{offset}"] = base64.urlsafe_b64encode(chunk)
    return found


def leaks(blob: bytes, secret: bytes, *, hex_too: bool = False) -> list[str]:
    """The names of the encodings of ``secret`` found in ``blob`` (lower-cased for hex)."""
    plain = encodings(secret)
    found = [name for name, needle in plain.items() if needle in blob]
    if hex_too:  # PostgreSQL prints bytea as \x<hex>, in either case
        lowered = blob.lower()
        found += [
            f"hex({name})" for name, needle in plain.items() if needle.hex().encode() in lowered
        ]
    return sorted(found)


def test_leak_search_finds_a_marker_in_a_disclosure() -> None:
    """The search itself can fail: a base64url disclosure holding the marker is found at
    every alignment, in plain bytes and in hex."""
    marker = uuid.uuid4().hex.encode()
    for prefix in (b"", b"a", b"ab"):
        disclosure = b'["salt' + prefix + b'","narrative","x ' + marker + b' y"]'
        encoded = base64.urlsafe_b64encode(disclosure).rstrip(b"=")
        assert any(k.startswith("base64url") for k in leaks(b"..." + encoded + b"...", marker))
        as_hex = b"\\x" + encoded.hex().encode()
        assert any(k.startswith("hex(base64url") for k in leaks(as_hex, marker, hex_too=True))
    assert leaks(b"nothing here", marker, hex_too=True) == []


def sqlite_files(database_url: str) -> list[Path]:
    path = Path(database_url.split(":///", 1)[1])
    assert path.is_file(), path
    side = [Path(str(path) + suffix) for suffix in ("-wal", "-journal", "-shm")]
    return [path, *(p for p in side if p.exists())]


async def postgresql_text(engine: AsyncEngine) -> bytes:
    """Every row of every table (all of ``public``, not only the models') as text."""
    async with engine.connect() as connection:
        tables = (
            await connection.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                )
            )
        ).scalars()
        names = set(tables)
        assert {t.name for t in Base.metadata.sorted_tables} <= names
        rows: list[str] = []
        for name in sorted(names):
            result = await connection.execute(text(f'SELECT t::text FROM "{name}" t'))
            rows.extend(f"{name}: {row}" for row in result.scalars())
    return "\n".join(rows).encode()


async def test_content_claims_never_reach_the_database_in_plaintext(
    member: MemberFactory, app: FastAPI, engine: AsyncEngine, database_url: str
) -> None:
    marker = uuid.uuid4().hex
    control = uuid.uuid4().hex  # goes into a clear claim, which is stored in the open
    fr = await member("fr-police", groups=("eu",))
    de = await member("de-bka", groups=("eu",), attributes={"biometrics": True})
    it = await member("it-polizia", groups=("eu",))
    content: dict[str, Any] = {
        "subject": {"name": f"Name {marker}", "aliases": [marker]},
        "narrative": f"Seen with {marker} at the harbour.",
        "biometrics": {"fingerprint": marker},
        "charges": [f"charge-{marker}"],
    }
    posted = await fr.post(content=content, legal_basis=f"treaty {control}")
    alert_id = posted["alert_id"]

    # Positive control: the legitimate recipients recover the marker through the SDK.
    [delivered], cursor = await de.poll()
    assert delivered.content == content
    assert marker in delivered.content["narrative"]
    [partial], _ = await it.poll()
    assert "biometrics" not in partial.content and marker in partial.content["narrative"]
    await de.alerts.dispose(alert_id, "acting", "surveillance started")
    await fr.alerts.withdraw(alert_id, "case closed")
    [notice], _ = await de.poll(after=cursor)
    assert notice.type == "withdrawal"
    await settle(app)

    if database_url.startswith("sqlite"):
        files = sqlite_files(database_url)
        stored = b"".join(path.read_bytes() for path in files)
        hex_too = False
    else:
        stored = await postgresql_text(engine)
        hex_too = True
    # The scan sees what is stored: the clear legal basis and the alert id are there.
    assert control.encode() in stored
    assert alert_id.encode() in stored
    assert leaks(stored, marker.encode(), hex_too=hex_too) == []
