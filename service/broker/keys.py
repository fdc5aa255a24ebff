"""The broker's key material: the key-encryption key, and the checkpoint, key-binding and
protected-subject register keys that every replica shares through the database, wrapped by
the KEK."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.broker.models import BrokerKey
from service.protocol.crypto import (
    KeyFormatError,
    SigningPrivateKey,
    SigningPublicKey,
    VerificationError,
    b64url_decode,
    b64url_encode,
)
from service.protocol.crypto.aead import KEY_LENGTH, generate_key, open_sealed, seal
from service.protocol.errors import NotReady
from service.protocol.logverify import LogVerificationError
from service.protocol.note import NoteVerifier, note_key_id
from service.settings import Settings

CHECKPOINT = "checkpoint"
KEY_BINDING = "key-binding"
SUBJECT_REGISTER = "subject-register"
#: Every purpose stored in ``broker_keys``, all wrapped by the KEK (``service.broker.rotation``
#: re-wraps each).
PURPOSES = (CHECKPOINT, KEY_BINDING, SUBJECT_REGISTER)


@dataclass(frozen=True)
class BrokerKeys:
    kek: bytes
    checkpoint: SigningPrivateKey
    key_binding: SigningPrivateKey
    #: The protected-subject register's random 32-byte HMAC-SHA256 key, stored wrapped by
    #: the KEK like the other broker keys (so a KEK rotation re-wraps it, digests stay valid).
    subject_register: bytes


def read_kek(settings: Settings) -> bytes:
    """The KEK from ``LIAISON_KEK`` or, outside production, the data directory's ``kek.key``.

    Raises NotReady when there is none or it is malformed.
    """
    if settings.kek is not None:
        text = settings.kek.get_secret_value()
    elif settings.env != "production" and settings.kek_file.exists():
        text = settings.kek_file.read_text().strip()
    else:
        raise NotReady("no key-encryption key: set LIAISON_KEK or run `liaison init`")
    return parse_kek(text)


def parse_kek(text: str) -> bytes:
    """A KEK from its base64url text; raises NotReady when it is malformed."""
    try:
        kek = b64url_decode(text.strip())
    except ValueError:
        raise NotReady("the key-encryption key is not base64url") from None
    if len(kek) != KEY_LENGTH:
        raise NotReady("the key-encryption key must be 32 bytes")
    return kek


def write_new_kek(path: Path) -> bytes:
    """Create a KEK file readable by its owner only; refuses to overwrite one."""
    kek = generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(b64url_encode(kek) + "\n")
    return kek


def _aad(purpose: str, kid: str) -> bytes:
    return f"liaison-broker-key:{purpose}:{kid}".encode()


def wrap_broker_key(kek: bytes, purpose: str, kid: str, private: bytes) -> bytes:
    """``private`` sealed under ``kek``, bound to the key's purpose and kid."""
    return seal(kek, private, _aad(purpose, kid))


def unwrap_broker_key(kek: bytes, purpose: str, kid: str, wrapped: bytes) -> bytes:
    """Reverse ``wrap_broker_key``; raises VerificationError if ``kek`` does not open it."""
    return open_sealed(kek, wrapped, _aad(purpose, kid))


def _unwrap(kek: bytes, row: BrokerKey) -> bytes:
    try:
        return unwrap_broker_key(kek, row.purpose, row.kid, row.wrapped_private)
    except VerificationError:
        raise NotReady("the key-encryption key does not open the broker keys") from None


def _register_row(kek: bytes, key: bytes, now: datetime) -> BrokerKey:
    # A symmetric key has no public half; its kid names it without revealing it.
    kid = "subject-register-" + hashlib.sha256(b"liaison register kid" + key).hexdigest()[:32]
    return BrokerKey(
        purpose=SUBJECT_REGISTER,
        kid=kid,
        public_jwk={},
        wrapped_private=wrap_broker_key(kek, SUBJECT_REGISTER, kid, key),
        created_at=now,
    )


async def create_broker_keys(session: AsyncSession, kek: bytes, now: datetime) -> BrokerKeys:
    """Generate the broker's signing keys and a random protected-subject register key and
    store them wrapped; flushes, never commits."""
    generated = {purpose: SigningPrivateKey.generate() for purpose in (CHECKPOINT, KEY_BINDING)}
    for purpose, key in generated.items():
        private = json.dumps(key.to_jwk()).encode()
        session.add(
            BrokerKey(
                purpose=purpose,
                kid=key.kid,
                public_jwk=key.public.to_jwk(),
                wrapped_private=wrap_broker_key(kek, purpose, key.kid, private),
                created_at=now,
            )
        )
    register = generate_key()
    session.add(_register_row(kek, register, now))
    await session.flush()
    return BrokerKeys(
        kek=kek,
        checkpoint=generated[CHECKPOINT],
        key_binding=generated[KEY_BINDING],
        subject_register=register,
    )


async def load_broker_keys(
    session: AsyncSession, kek: bytes, now: datetime | None = None
) -> BrokerKeys:
    """Unwrap the broker keys; raises NotReady if they are missing or the KEK is wrong.

    A database initialised before the register key existed gets a new random one now (flushed
    in the caller's transaction, which must commit it); when another replica stores its own
    first, that one is read back, so every replica uses the same key.
    """
    rows = {row.purpose: row for row in (await session.scalars(select(BrokerKey))).all()}
    keys: dict[str, SigningPrivateKey] = {}
    for purpose in (CHECKPOINT, KEY_BINDING):
        row = rows.get(purpose)
        if row is None:
            raise NotReady(f"broker key {purpose!r} is missing: run `liaison init`")
        keys[purpose] = SigningPrivateKey.from_jwk(json.loads(_unwrap(kek, row)))
    register_row = rows.get(SUBJECT_REGISTER)
    if register_row is None:
        register_row = await _store_register_key(session, kek, now or datetime.now(UTC))
    return BrokerKeys(
        kek=kek,
        checkpoint=keys[CHECKPOINT],
        key_binding=keys[KEY_BINDING],
        subject_register=_unwrap(kek, register_row),
    )


async def _store_register_key(session: AsyncSession, kek: bytes, now: datetime) -> BrokerKey:
    row = _register_row(kek, generate_key(), now)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another replica stored its key first: use that one.
        stored = await session.get(BrokerKey, SUBJECT_REGISTER, populate_existing=True)
        if stored is None:
            raise
        return stored
    return row


async def stored_checkpoint_verifier(session: AsyncSession, origin: str) -> NoteVerifier:
    """The checkpoint verifier built from the public key in the ``broker_keys`` table.

    The service signs checkpoints under its origin as key name, so ``origin`` names the key.
    Only as trustworthy as the database it is read from. Raises LogVerificationError if the
    key is missing or malformed.
    """
    row = await session.get(BrokerKey, CHECKPOINT)
    if row is None:
        raise LogVerificationError("the database holds no checkpoint key")
    try:
        public = SigningPublicKey.from_jwk(row.public_jwk)
        return NoteVerifier(origin, note_key_id(origin, public.raw), public)
    except KeyFormatError:
        raise LogVerificationError("the stored checkpoint key is malformed") from None
