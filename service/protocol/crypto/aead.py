"""AES-256-GCM sealing, used to wrap data keys and broker keys under the key-encryption key."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service.protocol.crypto.errors import KeyFormatError, VerificationError

KEY_LENGTH = 32
_NONCE_LENGTH = 12
_VERSION = b"\x01"


def generate_key() -> bytes:
    """A fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """Encrypt and authenticate; the result is ``version ‖ nonce ‖ ciphertext+tag``."""
    if len(key) != KEY_LENGTH:
        raise KeyFormatError("AES-256-GCM needs a 32-byte key")
    nonce = os.urandom(_NONCE_LENGTH)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def open_sealed(key: bytes, sealed: bytes, associated_data: bytes) -> bytes:
    """Reverse :func:`seal`; raises VerificationError if anything was altered or the key differs."""
    if len(key) != KEY_LENGTH:
        raise KeyFormatError("AES-256-GCM needs a 32-byte key")
    if len(sealed) < 1 + _NONCE_LENGTH + 16 or sealed[:1] != _VERSION:
        raise VerificationError
    nonce = sealed[1 : 1 + _NONCE_LENGTH]
    try:
        return AESGCM(key).decrypt(nonce, sealed[1 + _NONCE_LENGTH :], associated_data)
    except InvalidTag:
        raise VerificationError from None
