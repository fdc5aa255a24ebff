"""Accepting an alert: verify everything, store it sealed, fan it out, audit it — or nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from service.alerts.cases import CaseRepository
from service.alerts.gateway import PolicyGateway, alert_facts
from service.alerts.models import Alert
from service.alerts.protected import RegisterHold, registered_subject
from service.alerts.publication import Publisher
from service.alerts.repository import AlertRepository
from service.alerts.sealing import seal_alert
from service.api.principal import AuthenticatedPrincipal
from service.audit.sink import AuditSink
from service.protocol.crypto import KeyFormatError, SigningPublicKey, VerificationError
from service.protocol.errors import Conflict, InvalidInput, MalformedInput
from service.protocol.sdjwt import (
    InvalidSdJwt,
    MalformedSdJwt,
    UnverifiedSdJwt,
    VerifiedAlert,
    check_key_binding,
    parse_sd_jwt,
    verify_alert,
)
from service.protocol.validation import AlertClaims, validate_claims
from service.protocol.vocabulary import AlertStatus, AuditEvent, Role
from service.registry.repository import RegistryRepository


@dataclass(frozen=True)
class Submission:
    alert_id: str
    status: AlertStatus
    received_at: datetime
    created: bool


@dataclass
class SubmissionService:
    alerts: AlertRepository
    registry: RegistryRepository
    audit: AuditSink
    gateway: PolicyGateway
    kek: bytes
    #: The protected-subject register's HMAC key (``BrokerKeys.subject_register``).
    register_key: bytes
    kb_key: SigningPublicKey
    now: datetime
    skew: timedelta
    purge_days: int = 30

    async def submit(self, actor: AuthenticatedPrincipal, body: bytes) -> Submission:
        """Verify and accept an SD-JWT alert (API.md "Submitting an alert").

        Raises MalformedInput (unparseable), InvalidInput (fails verification or validation),
        Conflict (``jti`` reused with other bytes), Forbidden (not an agency). Nothing is
        written unless everything verifies.
        """
        actor.require_role(Role.AGENCY)
        try:
            text = body.decode("ascii")
            unverified = parse_sd_jwt(text)
        except (UnicodeDecodeError, MalformedSdJwt):
            raise MalformedInput("the body is not an SD-JWT compact serialization") from None
        verified = await self._verify_signature(actor, unverified)
        claims = validate_claims(verified.claims, list(verified.disclosures), self.now, self.skew)
        if claims.issuer != actor.id:
            raise InvalidInput("iss must be the authenticated principal")
        digest = hashlib.sha256(body).hexdigest()
        existing = await self.alerts.get(claims.alert_id)
        if existing is not None:
            if existing.body_sha256 != digest or existing.originator != actor.id:
                raise Conflict("this jti was already used for a different alert")
            return Submission(
                existing.id, AlertStatus(existing.status), existing.received_at, created=False
            )
        await self._check_relations(actor, claims)
        originator = await self.registry.get_principal(actor.id)
        if originator is None:
            raise InvalidInput(f"{actor.id!r} is not a registered agency")
        sealed = seal_alert(self.kek, claims.alert_id, body)
        content = sorted(verified.disclosures)
        alert = Alert(
            id=claims.alert_id,
            originator=actor.id,
            kind=claims.kind,
            category=claims.category,
            tlp=claims.tlp,
            handling=list(claims.handling),
            audience=claims.audience,
            purpose=claims.purpose,
            legal_basis=claims.legal_basis,
            supersedes=claims.supersedes,
            claims=content,
            character=list(claims.character) or None,
            subject_status=list(claims.subject_status) or None,
            issued_at=claims.issued_at,
            expires_at=claims.expires_at,
            received_at=self.now,
            status=AlertStatus.PUBLISHED,
            status_reason=None,
            status_changed_at=None,
            policy_version=self.gateway.version,
            body_sha256=digest,
            sealed_body=sealed.sealed_body,
            wrapped_key=sealed.wrapped_key,
        )
        await self.alerts.add(alert)
        await self.audit.append(
            AuditEvent.ALERT_SUBMITTED,
            actor.id,
            {
                "alert_id": alert.id,
                "kind": alert.kind,
                "category": alert.category,
                "tlp": alert.tlp,
                "digest": digest,
                "policy_version": self.gateway.version,
            },
        )
        publisher = Publisher(
            self.alerts,
            CaseRepository(self.alerts.session),
            self.audit,
            self.gateway,
            self.now,
            self.purge_days,
        )
        facts = alert_facts(claims, originator.country, content)
        # The register is matched on content, which the policies never see: a registered
        # subject holds the alert whatever the originator declared.
        protected = await registered_subject(
            self.alerts.session,
            self.register_key,
            verified.content,
        )
        if protected is not None:
            hold = RegisterHold(publisher.governance, self.audit, self.gateway, self.now)
            status = await hold.hold(alert, facts, originator, protected)
        else:
            status = await publisher.screen_and_publish(alert, facts, originator, claims.supersedes)
        return Submission(alert.id, status, alert.received_at, created=True)

    async def _verify_signature(
        self, actor: AuthenticatedPrincipal, unverified: UnverifiedSdJwt
    ) -> VerifiedAlert:
        kid = unverified.header.get("kid")
        key = await self.registry.get_key(kid) if isinstance(kid, str) else None
        if key is None or key.use != "sig" or key.principal_id != actor.id:
            raise InvalidInput("the alert is not signed with a signing key of the originator")
        if key.revoked_at is not None and key.revoked_at <= self.now:
            raise InvalidInput("the alert's signing key is revoked")
        try:
            public = SigningPublicKey.from_jwk(key.public_jwk)
            verified = verify_alert(unverified, public)
        except (InvalidSdJwt, KeyFormatError) as exc:
            raise InvalidInput(f"the alert does not verify: {exc}") from None
        iat = verified.claims.get("iat")
        if type(iat) is int:
            signed_at = _moment(iat)
            # NumericDate has whole seconds and clocks drift: a key registered moments ago
            # may sign an alert whose iat reads slightly before its not_before.
            if key.not_before > signed_at + self.skew or (
                key.not_after is not None and key.not_after <= signed_at
            ):
                raise InvalidInput("the signing key was not valid at the alert's iat")
        return verified

    async def _check_relations(self, actor: AuthenticatedPrincipal, claims: AlertClaims) -> None:
        directory = await self.alerts.directory(self.now)
        unknown = set(claims.audience_agencies) - directory.ids
        if unknown:
            raise InvalidInput(f"the audience names unknown agencies {sorted(unknown)}")
        groups = directory.groups
        if set(claims.audience_groups) - groups:
            raise InvalidInput(
                f"the audience names unknown groups {sorted(set(claims.audience_groups) - groups)}"
            )
        try:
            check_key_binding({"cnf": {"jwk": claims.cnf_jwk}}, self.kb_key)
        except VerificationError:
            raise InvalidInput("cnf.jwk must be the broker's kb_key (GET /v1/broker)") from None
        if claims.supersedes is not None:
            older = await self.alerts.get(claims.supersedes)
            if older is None or older.originator != actor.id:
                raise InvalidInput("supersedes must name an earlier alert of the same originator")


def _moment(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
