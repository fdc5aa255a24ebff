"""Alerts at rest: each submitted SD-JWT sealed under its own data key, wrapped by the KEK.

Destroying ``wrapped_key`` (crypto-shredding) makes the sealed body unreadable forever.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.protocol.crypto import VerificationError
from service.protocol.crypto.aead import generate_key, open_sealed, seal


@dataclass(frozen=True)
class SealedAlert:
    sealed_body: bytes
    wrapped_key: bytes


def _body_aad(alert_id: str) -> bytes:
    return f"liaison-alert-body:{alert_id}".encode()


def _key_aad(alert_id: str) -> bytes:
    return f"liaison-alert-key:{alert_id}".encode()


def seal_alert(kek: bytes, alert_id: str, body: bytes) -> SealedAlert:
    """Seal ``body`` under a fresh data key and wrap that key with ``kek``; both bound to the id."""
    data_key = generate_key()
    return SealedAlert(
        sealed_body=seal(data_key, body, _body_aad(alert_id)),
        wrapped_key=seal(kek, data_key, _key_aad(alert_id)),
    )


def rewrap(old_kek: bytes, new_kek: bytes, alert_id: str, wrapped_key: bytes) -> bytes | None:
    """The alert's data key wrapped under ``new_kek`` instead of ``old_kek``, bound to the
    same id; None if ``new_kek`` already opens it (a rotation that was interrupted and runs
    again skips it). Raises VerificationError if neither KEK opens it."""
    try:
        open_sealed(new_kek, wrapped_key, _key_aad(alert_id))
        return None
    except VerificationError:
        pass
    data_key = open_sealed(old_kek, wrapped_key, _key_aad(alert_id))
    return seal(new_kek, data_key, _key_aad(alert_id))


@dataclass(frozen=True)
class OpenedAlert:
    """An alert opened from storage: the SD-JWT exactly as its originator submitted it and
    the broker verified it then. Not re-verified; only ``open_alert`` makes one."""

    alert_id: str
    sd_jwt: str


def open_alert(kek: bytes, alert_id: str, sealed: SealedAlert) -> OpenedAlert:
    """The submitted alert; raises VerificationError if anything was altered or swapped."""
    data_key = open_sealed(kek, sealed.wrapped_key, _key_aad(alert_id))
    body = open_sealed(data_key, sealed.sealed_body, _body_aad(alert_id))
    try:
        return OpenedAlert(alert_id, body.decode("ascii"))
    except UnicodeDecodeError:
        raise VerificationError from None
