"""The broker's key material: the key-encryption key, and the checkpoint and key-binding keys
that every replica shares through the database, wrapped by the KEK."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
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
# HKDF info of the protected-subject register's key: changing it orphans every stored digest.
SUBJECT_REGISTER_INFO = b"liaison protected-subject register v1"


@dataclass(frozen=True)
class BrokerKeys:
    kek: bytes
    checkpoint: SigningPrivateKey
    key_binding: SigningPrivateKey


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
    try:
        kek = b64url_decode(text)
    except ValueError:
        raise NotReady("the key-encryption key is not base64url") from None
    if len(kek) != KEY_LENGTH:
        raise NotReady("the key-encryption key must be 32 bytes")
    return kek


def subject_register_key(kek: bytes) -> bytes:
    """The 32-byte HMAC-SHA256 key of the protected-subject register, derived from the KEK.

    HKDF-SHA256 (RFC 5869) with an all-zero salt and the fixed info
    ``SUBJECT_REGISTER_INFO``: every replica derives the same key from the KEK it already
    holds, so no new secret is generated or stored, and the register's digests are
    worthless to whoever reads the database without the KEK. Rotating the KEK orphans the
    register (its digests must be recomputed from the identities, which are not stored).
    Raises nothing; a malformed KEK is refused earlier by ``read_kek``.
    """
    # RFC 5869 §2.2 extract, §2.3 expand to one block (L = HashLen = 32), with the standard
    # library's HMAC: one HMAC per step needs no hazmat primitive.
    prk = hmac.new(bytes(hashlib.sha256().digest_size), kek, hashlib.sha256).digest()
    return hmac.new(prk, SUBJECT_REGISTER_INFO + b"\x01", hashlib.sha256).digest()


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


async def create_broker_keys(session: AsyncSession, kek: bytes, now: datetime) -> BrokerKeys:
    """Generate both broker signing keys and store them wrapped; flushes, never commits."""
    generated = {purpose: SigningPrivateKey.generate() for purpose in (CHECKPOINT, KEY_BINDING)}
    for purpose, key in generated.items():
        private = json.dumps(key.to_jwk()).encode()
        session.add(
            BrokerKey(
                purpose=purpose,
                kid=key.kid,
                public_jwk=key.public.to_jwk(),
                wrapped_private=seal(kek, private, _aad(purpose, key.kid)),
                created_at=now,
            )
        )
    await session.flush()
    return BrokerKeys(kek=kek, checkpoint=generated[CHECKPOINT], key_binding=generated[KEY_BINDING])


async def load_broker_keys(session: AsyncSession, kek: bytes) -> BrokerKeys:
    """Unwrap the broker keys; raises NotReady if they are missing or the KEK is wrong."""
    rows = {row.purpose: row for row in (await session.scalars(select(BrokerKey))).all()}
    keys: dict[str, SigningPrivateKey] = {}
    for purpose in (CHECKPOINT, KEY_BINDING):
        row = rows.get(purpose)
        if row is None:
            raise NotReady(f"broker key {purpose!r} is missing: run `liaison init`")
        try:
            private = open_sealed(kek, row.wrapped_private, _aad(purpose, row.kid))
        except VerificationError:
            raise NotReady("the key-encryption key does not open the broker keys") from None
        keys[purpose] = SigningPrivateKey.from_jwk(json.loads(private))
    return BrokerKeys(kek=kek, checkpoint=keys[CHECKPOINT], key_binding=keys[KEY_BINDING])


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
