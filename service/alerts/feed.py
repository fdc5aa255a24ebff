"""Serving a partner's feed: each item sealed to the partner alone, each serving audited."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from service.alerts.disclosure import deliver, present_stored
from service.alerts.repository import AlertRepository, FeedRow
from service.alerts.sealing import SealedAlert
from service.audit.sink import AuditSink
from service.protocol.clock import rfc3339
from service.protocol.crypto import EncryptionPublicKey, SigningPrivateKey, VerificationError
from service.protocol.envelope import sign_notice
from service.protocol.errors import InvalidInput, LiaisonError
from service.protocol.vocabulary import ENDED_STATUSES, AlertStatus, FeedItemType

logger = logging.getLogger(__name__)

MAX_LIMIT = 500
#: The largest cursor: feed positions are signed 64-bit integers.
MAX_CURSOR = 2**63 - 1
# ASCII digits only: ``str.isdigit`` also accepts '²' and other scripts' digits.
_CURSOR = re.compile(r"[0-9]{1,19}")
# Items of these alert states are no longer delivered as content (notices still are).
GONE: frozenset[AlertStatus] = ENDED_STATUSES | {AlertStatus.SHREDDED, AlertStatus.PENDING_REVIEW}
# Notices the broker sends the originator itself (review outcomes), not recipients.
ORIGINATOR_NOTICES = frozenset({FeedItemType.REJECTION, FeedItemType.CANCELLATION})


class Undeliverable(LiaisonError):
    """A feed item the broker cannot open or present (its content is gone)."""


@dataclass(frozen=True)
class ServedItem:
    cursor: str
    type: str
    alert_id: str
    envelope: str


def parse_cursor(value: str | None) -> int:
    """A cursor is the decimal string (ASCII digits) of a feed position, at most 2**63-1;
    absent means the beginning. Raises InvalidInput for anything else."""
    if value is None or value == "":
        return 0
    if _CURSOR.fullmatch(value) is None or int(value) > MAX_CURSOR:
        raise InvalidInput("after must be a cursor returned by the feed")
    return int(value)


class PublicKey(Protocol):
    """A registered key: an ORM ``PrincipalKey`` or a ``KeyRecord``."""

    @property
    def use(self) -> str: ...
    @property
    def public_jwk(self) -> dict[str, Any]: ...
    @property
    def not_before(self) -> datetime: ...
    @property
    def created_at(self) -> datetime: ...

    def is_valid_at(self, moment: datetime) -> bool: ...


def current_encryption_key(keys: Iterable[PublicKey], now: datetime) -> EncryptionPublicKey | None:
    """The newest valid X25519 key among ``keys`` (a principal's): rotation takes effect for
    the next item served."""
    valid = [k for k in keys if k.use == "enc" and k.is_valid_at(now)]
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
        self, partner: str, key: EncryptionPublicKey | None, after: int, limit: int
    ) -> tuple[list[ServedItem], int]:
        """The partner's next items after ``after``, each sealed to ``key`` (the partner's
        current encryption key) and appended to the audit log as served, and the cursor to
        continue from.

        Items for alerts that are gone (withdrawn, expired…) are skipped, but their position
        is consumed, so the returned cursor still advances past them. So is an item the
        broker cannot open or present (its content shredded or unreadable): it is logged and
        skipped, and never fails the page. Without a key nothing is served.
        """
        items = await self.repository.feed(partner, after, limit)
        served: list[ServedItem] = []
        for item in items:
            to_originator = item.type in ORIGINATOR_NOTICES and item.originator == partner
            if key is None or not (to_originator or item.receive):
                continue
            if item.type == FeedItemType.ALERT and item.status in GONE:
                continue
            try:
                plaintext = self._plaintext(item, partner)
            except (Undeliverable, VerificationError) as error:
                # One unopenable item must not poison the partner's feed for good.
                logger.warning(
                    "feed item skipped: alert %s for partner %s at cursor %d cannot be "
                    "presented (%s)",
                    item.alert_id,
                    partner,
                    item.cursor,
                    type(error).__name__,
                )
                continue
            envelope = await deliver(
                self.audit,
                key,
                plaintext,
                alert_id=item.alert_id,
                partner=partner,
                cursor=str(item.cursor),
                item=item.type,
                policy_version=item.decision_policy_version or item.alert_policy_version,
            )
            served.append(ServedItem(str(item.cursor), item.type, item.alert_id, envelope))
        return served, items[-1].cursor if items else after

    def _plaintext(self, item: FeedRow, partner: str) -> bytes:
        if item.type != FeedItemType.ALERT:
            notice = {
                "type": item.type,
                "alert_id": item.alert_id,
                "reason": item.reason or "",
                "at": rfc3339(item.created_at),
                "aud": partner,
            }
            return sign_notice(self.kb_key, notice).encode("ascii")
        if item.redacted is None or item.sealed_body is None or item.wrapped_key is None:
            raise Undeliverable(f"alert {item.alert_id} has no decision or no content to serve")
        permitted = set(item.claims) - set(item.redacted)
        return present_stored(
            self.kek,
            self.kb_key,
            item.alert_id,
            SealedAlert(item.sealed_body, item.wrapped_key),
            permitted,
            partner,
            str(item.cursor),
            self.now,
        )
