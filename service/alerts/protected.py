"""The protected-subject register: persons whose alerts are always held for review.

Reviewers register protected persons (recognised refugees, subjects of alerts cancelled on
neutrality grounds). The register never holds an identity in clear: an entry is the keyed
digest HMAC-SHA256(K, name | birth date | nationality) of the normalised attributes, where K
is a random broker key stored wrapped by the KEK (``BrokerKeys.subject_register``). Without K the
digests cannot be tested against guessed identities, so the table can be read, backed up and
replicated like any other.

At submission the broker computes the same digest from the alert's content claims (it sees
them then, before sealing them) and holds the alert if the digest is registered, whatever the
originator marked: the review case and the ``alert.held`` entry name the register entry and
why it was registered, never the identity.

What goes to the audit log (``protected.registered``): the entry id, the reason, the source
alert if any. Not the identity, and not the digest either: the digest reveals nothing without
K, but the log is immutable and public to auditors, so a later compromise of the KEK would
let anyone confirm a guessed identity against it forever, while a table row can be deleted.
The entry id links the log to the row, which is all an auditor needs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.cases import CaseRepository
from service.alerts.gateway import PolicyGateway, partner_facts
from service.alerts.models import Alert, ProtectedSubject, ReviewCase
from service.alerts.sealing import SealedAlert, open_alert
from service.api.metrics import count_held
from service.api.principal import BROKER_ID, AuthenticatedPrincipal
from service.audit.sink import AuditSink
from service.policy.facts import AlertFacts
from service.protocol.crypto import VerificationError, b64url_decode
from service.protocol.errors import Conflict, InvalidInput
from service.protocol.sdjwt import parse_sd_jwt
from service.protocol.vocabulary import AlertStatus, AuditEvent, CaseKind, CaseStatus, Role
from service.registry.models import Principal

#: How a hold by the register is named among the screening policies (review case, audit).
REGISTER_HOLD = "protected-subject-register"
_REASON_LIMIT = 1000


def normalise(text: str) -> str:
    """``text`` as the register compares it: NFKD, combining marks dropped, casefolded,
    whitespace collapsed to single spaces and stripped ("José  María" → "jose maria")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


@dataclass(frozen=True)
class SubjectIdentity:
    """A person's identifying attributes, normalised. Never stored, never logged."""

    name: str
    birth_date: str
    nationality: str

    @classmethod
    def of(cls, name: str, birth_date: str, nationality: str) -> SubjectIdentity:
        """Normalise the attributes; raises InvalidInput if one is empty once normalised."""
        identity = cls(normalise(name), normalise(birth_date), normalise(nationality))
        if not (identity.name and identity.birth_date and identity.nationality):
            raise InvalidInput("name, birth_date and nationality must not be empty")
        return identity

    def digest(self, key: bytes) -> str:
        """HMAC-SHA256 under ``key`` over the JSON array of the three attributes (JSON,
        so no choice of separator can make two identities collide), lowercase hex."""
        message = json.dumps([self.name, self.birth_date, self.nationality]).encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()


def identity_in(content: Mapping[str, Any]) -> SubjectIdentity | None:
    """The subject's identity in an alert's content claims, or None if it has none.

    The subject is the ``subject`` claim, an object with ``name`` (or ``given_name`` and
    ``family_name``), ``born`` (or ``birth_date``) and ``nationality``. An alert that lacks
    one of the three cannot be matched (the digest covers all three).
    """
    subject = content.get("subject")
    if not isinstance(subject, Mapping):
        return None
    name = subject.get("name")
    if name is None and isinstance(subject.get("family_name"), str):
        name = f"{subject.get('given_name') or ''} {subject['family_name']}"
    born = subject.get("born", subject.get("birth_date"))
    nationality = subject.get("nationality")
    if not all(isinstance(value, str) for value in (name, born, nationality)):
        return None
    try:
        return SubjectIdentity.of(str(name), str(born), str(nationality))
    except InvalidInput:
        return None


def stored_content(kek: bytes, alert: Alert) -> dict[str, Any]:
    """The content claims of a stored alert, opened with ``kek``.

    The body was verified at submission and sealed under an AEAD since, so its disclosures
    are read without verifying the signature again. Raises VerificationError if the alert
    does not open (shredded, altered or the wrong KEK).
    """
    if alert.sealed_body is None or alert.wrapped_key is None:
        raise VerificationError("the alert's content has been shredded")
    opened = open_alert(kek, alert.id, SealedAlert(alert.sealed_body, alert.wrapped_key))
    content: dict[str, Any] = {}
    for encoded in parse_sd_jwt(opened.sd_jwt).disclosures:
        _, name, value = json.loads(b64url_decode(encoded))
        content[name] = value
    return content


class ProtectedSubjectRepository:
    """All SQL of the register."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: ProtectedSubject) -> None:
        self._session.add(row)
        await self._session.flush()

    async def by_digest(self, digest: str) -> ProtectedSubject | None:
        statement = select(ProtectedSubject).where(ProtectedSubject.digest == digest)
        return (await self._session.scalars(statement)).first()

    async def entries(self, limit: int) -> Sequence[ProtectedSubject]:
        statement = select(ProtectedSubject).order_by(ProtectedSubject.id).limit(limit)
        return (await self._session.scalars(statement)).all()


async def _add_entry(
    repository: ProtectedSubjectRepository,
    audit: AuditSink,
    digest: str,
    reason: str,
    actor: str,
    now: datetime,
    source_alert_id: str | None,
) -> ProtectedSubject:
    entry = ProtectedSubject(
        digest=digest,
        reason=reason,
        registered_by=actor,
        registered_at=now,
        source_alert_id=source_alert_id,
    )
    await repository.add(entry)
    await audit.append(
        AuditEvent.PROTECTED_REGISTERED,
        actor,
        {"entry": entry.id, "reason": reason, "source_alert_id": source_alert_id},
    )
    return entry


async def register(
    session: AsyncSession,
    audit: AuditSink,
    key: bytes,
    actor: AuthenticatedPrincipal,
    identity: SubjectIdentity,
    reason: str,
    now: datetime,
) -> ProtectedSubject:
    """Register a protected person (a reviewer's decision) and audit it.

    Raises Forbidden unless ``actor`` is a reviewer, Conflict if the person is registered
    already (the detail names the existing entry's id, never the identity).
    """
    actor.require_role(Role.REVIEWER)
    repository = ProtectedSubjectRepository(session)
    digest = identity.digest(key)
    existing = await repository.by_digest(digest)
    if existing is not None:
        raise Conflict(f"this person is registered already (entry {existing.id})")
    return await _add_entry(repository, audit, digest, reason, actor.id, now, None)


async def register_from_alert(
    session: AsyncSession,
    audit: AuditSink,
    key: bytes,
    alert: Alert,
    content: Mapping[str, Any],
    reason: str,
    actor: str,
    now: datetime,
) -> ProtectedSubject | None:
    """Register the subject of ``alert`` (cancelled on neutrality grounds) and audit it.

    ``content`` is the alert's opened content (``stored_content``). Returns the new entry,
    the existing one if the subject is registered already (nothing is appended then), or
    None if the content names no subject with a name, birth date and nationality. Raises
    nothing of its own; flushes, never commits.
    """
    identity = identity_in(content)
    if identity is None:
        return None
    repository = ProtectedSubjectRepository(session)
    digest = identity.digest(key)
    existing = await repository.by_digest(digest)
    if existing is not None:
        return existing
    return await _add_entry(repository, audit, digest, reason, actor, now, alert.id)


async def registered_subject(
    session: AsyncSession, key: bytes, content: Mapping[str, Any]
) -> ProtectedSubject | None:
    """The register entry of the subject named in ``content``, or None."""
    identity = identity_in(content)
    if identity is None:
        return None
    return await ProtectedSubjectRepository(session).by_digest(identity.digest(key))


@dataclass
class RegisterHold:
    """Holds an alert whose subject is registered, as screening holds any alert: status
    ``pending_review``, a screening review case, an ``alert.held`` entry."""

    cases: CaseRepository
    audit: AuditSink
    gateway: PolicyGateway
    now: datetime

    async def hold(
        self, alert: Alert, facts: AlertFacts, originator: Principal, entry: ProtectedSubject
    ) -> AlertStatus:
        """Hold ``alert`` for review because of register ``entry``; the Cedar holds that
        apply too are named beside it. Returns the new status (always pending review)."""
        heightened = await self.cases.heightened(originator.id) is not None
        screening = self.gateway.screen(
            facts, partner_facts(originator, heightened_review=heightened)
        )
        holds = sorted({REGISTER_HOLD, *(() if screening.publish else screening.policies)})
        alert.status = AlertStatus.PENDING_REVIEW
        alert.status_changed_at = self.now
        reason = f"{', '.join(holds)}; register entry {entry.id}: {entry.reason}"
        await self.cases.add(
            ReviewCase(
                alert_id=alert.id,
                kind=CaseKind.SCREENING,
                status=CaseStatus.OPEN,
                reason=reason[:_REASON_LIMIT],
                opened_by=BROKER_ID,
                opened_at=self.now,
            )
        )
        count_held()
        await self.audit.append(
            AuditEvent.ALERT_HELD,
            BROKER_ID,
            {
                "alert_id": alert.id,
                "policies": holds,
                "protected_subject": entry.id,
                "policy_version": self.gateway.version,
            },
        )
        return AlertStatus.PENDING_REVIEW
