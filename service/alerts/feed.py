"""Serving a partner's feed: each item sealed to the partner alone, each serving audited."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from service.alerts.envelope import seal_for, sign_notice
from service.alerts.models import Alert, AlertDecision, FeedItem
from service.alerts.repository import AlertRepository
from service.alerts.sdjwt import parse_sd_jwt, present
from service.alerts.sealing import SealedAlert, open_alert
from service.audit.sink import AuditSink
from service.clock import rfc3339
from service.crypto import EncryptionPublicKey, SigningPrivateKey
from service.errors import InvalidInput
from service.registry.models import Principal

MAX_LIMIT = 500
# Items of these alert states are no longer delivered as content (notices still are).
GONE = frozenset(
    {"withdrawn", "superseded", "expired", "cancelled", "rejected", "shredded", "pending_review"}
)
# Notices the broker sends the originator itself (review outcomes), not recipients.
ORIGINATOR_NOTICES = frozenset({"rejection", "cancellation"})


@dataclass(frozen=True)
class ServedItem:
    cursor: str
    type: str
    alert_id: str
    envelope: str


def parse_cursor(value: str | None) -> int:
    """A cursor is the decimal string of a feed position; absent means the beginning."""
    if value is None or value == "":
        return 0
    if not value.isdigit() or len(value) > 19:
        raise InvalidInput("after must be a cursor returned by the feed")
    return int(value)


def current_encryption_key(partner: Principal, now: datetime) -> EncryptionPublicKey | None:
    """The partner's newest valid X25519 key: rotation takes effect for the next item served."""
    valid = [k for k in partner.keys if k.use == "enc" and k.is_valid_at(now)]
    if not valid:
        return None
    newest = max(valid, key=lambda k: (k.not_before, k.created_at))
    return EncryptionPublicKey.from_jwk(newest.public_jwk)


@dataclass
class FeedService:
    repository: AlertRepository
    audit: AuditSink
    kek: bytes
    kb_key: SigningPrivateKey
    now: datetime

    async def serve(
        self, partner: Principal, after: int, limit: int
    ) -> tuple[list[ServedItem], int]:
        """The partner's next items after ``after``, each appended to the audit log as served,
        and the cursor to continue from.

        Items for alerts that are gone (withdrawn, expired…) are skipped, but their position
        is consumed, so the returned cursor still advances past them.
        """
        items = await self.repository.feed(partner.id, after, limit)
        alerts = await self.repository.alerts_by_id({item.alert_id for item in items})
        decisions = await self.repository.decisions_for(partner.id, {i.alert_id for i in items})
        key = current_encryption_key(partner, self.now)
        served: list[ServedItem] = []
        for item in items:
            alert, decision = alerts[item.alert_id], decisions.get(item.alert_id)
            to_originator = item.type in ORIGINATOR_NOTICES and alert.originator == partner.id
            if key is None or not (to_originator or (decision is not None and decision.receive)):
                continue
            if item.type == "alert" and alert.status in GONE:
                continue
            plaintext = self._plaintext(item, alert, decision, partner.id)
            version = decision.policy_version if decision is not None else alert.policy_version
            served.append(
                ServedItem(str(item.cursor), item.type, item.alert_id, seal_for(key, plaintext))
            )
            await self.audit.append(
                "alert.disclosed",
                "broker",
                {
                    "alert_id": item.alert_id,
                    "partner": partner.id,
                    "cursor": str(item.cursor),
                    "item": item.type,
                    "digest": hashlib.sha256(plaintext).hexdigest(),
                    "policy_version": version,
                },
            )
        return served, items[-1].cursor if items else after

    def _plaintext(
        self, item: FeedItem, alert: Alert, decision: AlertDecision | None, partner: str
    ) -> bytes:
        if item.type != "alert":
            notice = {
                "type": item.type,
                "alert_id": alert.id,
                "reason": item.reason or "",
                "at": rfc3339(item.created_at),
                "aud": partner,
            }
            return sign_notice(self.kb_key, notice).encode("ascii")
        assert decision is not None
        assert alert.sealed_body is not None and alert.wrapped_key is not None
        body = open_alert(self.kek, alert.id, SealedAlert(alert.sealed_body, alert.wrapped_key))
        permitted = set(alert.claims) - set(decision.redacted)
        presentation = present(
            parse_sd_jwt(body.decode("ascii")),
            permitted,
            self.kb_key,
            audience=partner,
            nonce=str(item.cursor),
            issued_at=int(self.now.timestamp()),
        )
        return presentation.encode("ascii")
