"""Disclosure: the one path by which a stored alert's content leaves the broker.

An alert is stored sealed under the KEK. To disclose it, ``present_stored`` opens it and
presents only the permitted claims, key-bound to the recipient; ``deliver`` seals the
plaintext to the recipient's key and appends ``alert.disclosed`` in the caller's
transaction, so nothing is served that is not logged. The feed and the reviewer's read are
its only callers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime

from service.alerts.sealing import SealedAlert, open_alert
from service.api.principal import BROKER_ID
from service.audit.sink import AuditSink
from service.protocol.crypto import EncryptionPublicKey, SigningPrivateKey
from service.protocol.envelope import seal_for
from service.protocol.sdjwt import parse_sd_jwt, present
from service.protocol.vocabulary import AuditEvent


def present_stored(
    kek: bytes,
    kb_key: SigningPrivateKey,
    alert_id: str,
    sealed: SealedAlert,
    permitted: Collection[str],
    audience: str,
    nonce: str,
    now: datetime,
) -> bytes:
    """The stored alert presented to ``audience`` with the ``permitted`` claims disclosed,
    bound by the broker's key-binding JWT (``nonce``, issued ``now``).

    Raises VerificationError if the sealed alert does not open under ``kek``.
    """
    opened = open_alert(kek, alert_id, sealed)
    presentation = present(
        parse_sd_jwt(opened.sd_jwt),
        set(permitted),
        kb_key,
        audience=audience,
        nonce=nonce,
        issued_at=int(now.timestamp()),
    )
    return presentation.encode("ascii")


async def deliver(
    audit: AuditSink,
    key: EncryptionPublicKey,
    plaintext: bytes,
    *,
    alert_id: str,
    partner: str,
    cursor: str,
    item: str,
    policy_version: str,
) -> str:
    """``plaintext`` sealed to ``key``, with its ``alert.disclosed`` entry appended; the
    entry's ``digest`` is the SHA-256 of the plaintext the recipient will open."""
    envelope = seal_for(key, plaintext)
    await audit.append(
        AuditEvent.ALERT_DISCLOSED,
        BROKER_ID,
        {
            "alert_id": alert_id,
            "partner": partner,
            "cursor": cursor,
            "item": item,
            "digest": hashlib.sha256(plaintext).hexdigest(),
            "policy_version": policy_version,
        },
    )
    return envelope
