"""Checks on an alert's clear claims, after its signature and disclosures have verified."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from service.protocol.claims import (
    CATEGORIES,
    CHARACTERS,
    CLEAR_CLAIMS,
    HANDLING_CODES,
    KINDS,
    PURPOSES,
    SUBJECT_STATUSES,
    TLP_LABELS,
)
from service.protocol.errors import InvalidInput

MAX_LIFETIME = timedelta(days=3653)
MAX_CONTENT_CLAIMS = 64
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class AlertClaims:
    """The validated clear claims of one alert."""

    alert_id: str
    issuer: str
    issued_at: datetime
    expires_at: datetime
    kind: str
    category: str
    tlp: str
    handling: tuple[str, ...]
    audience_agencies: tuple[str, ...]
    audience_groups: tuple[str, ...]
    audience_all: bool
    purpose: str
    legal_basis: str
    supersedes: str | None
    cnf_jwk: dict[str, Any]
    character: tuple[str, ...] = ()
    subject_status: tuple[str, ...] = ()

    @property
    def audience(self) -> dict[str, Any]:
        return {
            "agencies": list(self.audience_agencies),
            "groups": list(self.audience_groups),
            "all": self.audience_all,
        }


def _text(claims: dict[str, Any], name: str, limit: int = 500) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(f"claim {name!r} must be a non-empty string of at most {limit} chars")
    return value


def _ids(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"audience.{name} must be a list of ids")
    if len(set(value)) != len(value) or len(value) > 500:
        raise InvalidInput(f"audience.{name} must not repeat ids (and hold at most 500)")
    return tuple(value)


def _time(claims: dict[str, Any], name: str) -> datetime:
    value = claims.get(name)
    if type(value) is not int:
        raise InvalidInput(f"claim {name!r} must be an integer NumericDate")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidInput(f"claim {name!r} is out of range") from None


def validate_claims(
    claims: dict[str, Any], content_claims: int, now: datetime, skew: timedelta
) -> AlertClaims:
    """Validate the clear claims' shape and vocabulary; raise InvalidInput naming the claim.

    Relations to the registry (issuer, audience members, supersedes, cnf) are checked by the
    submission service, which knows the registry.
    """
    unknown = set(claims) - CLEAR_CLAIMS
    if unknown:
        raise InvalidInput(f"unknown clear claims {sorted(unknown)}")
    if content_claims > MAX_CONTENT_CLAIMS:
        raise InvalidInput(f"at most {MAX_CONTENT_CLAIMS} content claims")
    alert_id = claims.get("jti")
    if not isinstance(alert_id, str) or not _UUID.fullmatch(alert_id):
        raise InvalidInput("jti must be a lowercase UUID")
    issued_at, expires_at = _time(claims, "iat"), _time(claims, "exp")
    if issued_at > now + skew:
        raise InvalidInput("iat is in the future")
    if expires_at <= now:
        raise InvalidInput("the alert has expired (exp is not in the future)")
    if expires_at - issued_at > MAX_LIFETIME:
        raise InvalidInput("exp is more than ten years after iat")
    kind, category, tlp = claims.get("kind"), claims.get("category"), claims.get("tlp")
    # Types first: a JSON array or object is unhashable, and `in` would raise TypeError.
    if not isinstance(kind, str) or kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}")
    if not isinstance(category, str) or category not in CATEGORIES:
        raise InvalidInput(f"unknown category {category!r}")
    if not isinstance(tlp, str) or tlp not in TLP_LABELS:
        raise InvalidInput(f"unknown tlp {tlp!r}")
    handling = claims.get("handling", [])
    if not _codes(handling, HANDLING_CODES):
        raise InvalidInput(f"handling must be a list of codes from {sorted(HANDLING_CODES)}")
    audience = claims.get("audience")
    if not isinstance(audience, dict) or set(audience) - {"agencies", "groups", "all"}:
        raise InvalidInput("audience must be an object with agencies, groups and all")
    audience_all = audience.get("all", False)
    if not isinstance(audience_all, bool):
        raise InvalidInput("audience.all must be a boolean")
    agencies = _ids(audience.get("agencies", []), "agencies")
    groups = _ids(audience.get("groups", []), "groups")
    if not (agencies or groups or audience_all):
        raise InvalidInput("the audience is empty")
    supersedes = claims.get("supersedes")
    if supersedes is not None and (
        not isinstance(supersedes, str) or not _UUID.fullmatch(supersedes)
    ):
        raise InvalidInput("supersedes must be an alert id")
    if supersedes == alert_id:
        raise InvalidInput("an alert cannot supersede itself")
    cnf = claims.get("cnf")
    if not isinstance(cnf, dict) or not isinstance(cnf.get("jwk"), dict) or set(cnf) != {"jwk"}:
        raise InvalidInput('cnf must be {"jwk": <the broker\'s kb_key>}')
    purpose = claims.get("purpose")
    if not isinstance(purpose, str) or purpose not in PURPOSES:
        raise InvalidInput(f"purpose must be one of {sorted(PURPOSES)}")
    character = _markers(claims, "character", CHARACTERS)
    subject_status = _markers(claims, "subject_status", SUBJECT_STATUSES)
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        raise InvalidInput("iss must be the originator's id")
    return AlertClaims(
        alert_id=alert_id,
        issuer=issuer,
        issued_at=issued_at,
        expires_at=expires_at,
        kind=kind,
        category=category,
        tlp=tlp,
        handling=tuple(handling),
        audience_agencies=agencies,
        audience_groups=groups,
        audience_all=audience_all,
        purpose=purpose,
        legal_basis=_text(claims, "legal_basis"),
        supersedes=supersedes,
        cnf_jwk=dict(cnf["jwk"]),
        character=character,
        subject_status=subject_status,
    )


def _markers(claims: dict[str, Any], name: str, allowed: frozenset[str]) -> tuple[str, ...]:
    value = claims.get(name, [])
    if not _codes(value, allowed) or len(set(value)) != len(value):
        raise InvalidInput(f"{name} must be a list of distinct values from {sorted(allowed)}")
    return tuple(value)


def _codes(value: Any, allowed: frozenset[str]) -> bool:
    """True if ``value`` is a list of codes from ``allowed``. Types first: a JSON array or
    object is unhashable, and testing it with ``in`` would raise TypeError."""
    return isinstance(value, list) and all(
        isinstance(item, str) and item in allowed for item in value
    )
