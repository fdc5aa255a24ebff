"""Checks on an alert's clear claims, after its signature and disclosures have verified.

Every problem is collected before anything is refused, so that an originator fixes an alert in
one go: :func:`validate_claims` raises one InvalidInput whose ``errors`` list each problem
with its location, and whose messages name the allowed values of a closed vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from service.protocol.claims import (
    AUDIENCE_FIELDS,
    CATEGORIES,
    CHARACTERS,
    CLEAR_CLAIMS,
    HANDLING_CODES,
    KINDS,
    PURPOSES,
    SUBJECT_STATUSES,
    TLP_LABELS,
    is_reserved_content_name,
)
from service.protocol.errors import InputError, InvalidInput

MAX_LIFETIME = timedelta(days=3653)
MAX_CONTENT_CLAIMS = 64
MAX_TEXT_LENGTH = 500
MAX_AUDIENCE_IDS = 500
MAX_CONTENT_NAME_LENGTH = 64
UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# Content claim names (docs/protocol.md §4.3): the vocabulary is open, the spelling is not, so
# that a policy withholding `biometrics` cannot be sidestepped by `Biometrics` or `bio metrics`.
CONTENT_NAME_PATTERN = f"^[a-z][a-z0-9_]{{0,{MAX_CONTENT_NAME_LENGTH - 1}}}$"
_UUID = re.compile(UUID_PATTERN)
_CONTENT_NAME = re.compile(CONTENT_NAME_PATTERN)
_SHOWN_LENGTH = 40


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


def allowed(values: Iterable[str]) -> str:
    """A closed vocabulary as an error message lists it: sorted, comma-separated."""
    return ", ".join(sorted(values))


def _shown(value: Any) -> str:
    """A refused value as a message may show it: a short string quoted, anything else by type
    (a message never echoes a large or structured value)."""
    if isinstance(value, str) and len(value) <= _SHOWN_LENGTH:
        return repr(value)
    if value is None:
        return "None"
    return f"(a {type(value).__name__})"


class _Problems:
    """The problems found so far, each with the path to the claim it is about."""

    def __init__(self) -> None:
        self.items: list[InputError] = []

    def add(self, location: Sequence[str], message: str) -> None:
        self.items.append({"location": list(location), "message": message})

    def raise_any(self) -> None:
        if self.items:
            detail = "; ".join(item["message"] for item in self.items)
            raise InvalidInput(detail, self.items)


def validate_claims(
    claims: dict[str, Any],
    content_claims: int | Collection[str],
    now: datetime,
    skew: timedelta,
) -> AlertClaims:
    """Validate the clear claims' shape and vocabulary, and the content claims' count (and
    their names, when ``content_claims`` is the collection of names rather than their number).

    Raises one InvalidInput listing every problem in ``errors`` (location ``["claims", name,
    …]`` or ``["content", name]``) and in ``detail``; a closed vocabulary's message names the
    allowed values. Relations to the registry (issuer, audience members, supersedes, cnf) are
    checked by the submission service, which knows the registry.
    """
    problems = _Problems()
    for name in sorted(set(claims) - CLEAR_CLAIMS):
        problems.add(
            ["claims", name],
            f"unknown clear claims [{_shown(name)}]: allowed are {allowed(CLEAR_CLAIMS)}",
        )
    _check_content(content_claims, problems)
    alert_id = claims.get("jti")
    if not isinstance(alert_id, str) or not _UUID.fullmatch(alert_id):
        problems.add(["claims", "jti"], "jti must be a lowercase UUID")
        alert_id = None
    issued_at, expires_at = _time(claims, "iat", problems), _time(claims, "exp", problems)
    if issued_at is not None and issued_at > now + skew:
        problems.add(["claims", "iat"], "iat is in the future")
    if expires_at is not None and expires_at <= now:
        problems.add(["claims", "exp"], "the alert has expired (exp is not in the future)")
    if issued_at is not None and expires_at is not None and expires_at - issued_at > MAX_LIFETIME:
        problems.add(["claims", "exp"], "exp is more than ten years after iat")
    kind = _choice(claims, "kind", KINDS, problems)
    category = _choice(claims, "category", CATEGORIES, problems)
    tlp = _choice(claims, "tlp", TLP_LABELS, problems)
    handling = _codes(claims, "handling", HANDLING_CODES, problems, distinct=False)
    audience = _audience(claims.get("audience"), problems)
    supersedes = claims.get("supersedes")
    if supersedes is not None and (
        not isinstance(supersedes, str) or not _UUID.fullmatch(supersedes)
    ):
        problems.add(["claims", "supersedes"], "supersedes must be an alert id")
    elif supersedes is not None and supersedes == alert_id:
        problems.add(["claims", "supersedes"], "an alert cannot supersede itself")
    cnf = claims.get("cnf")
    if not isinstance(cnf, dict) or not isinstance(cnf.get("jwk"), dict) or set(cnf) != {"jwk"}:
        problems.add(["claims", "cnf"], 'cnf must be {"jwk": <the broker\'s kb_key>}')
    purpose = _choice(claims, "purpose", PURPOSES, problems)
    character = _codes(claims, "character", CHARACTERS, problems, distinct=True)
    subject_status = _codes(claims, "subject_status", SUBJECT_STATUSES, problems, distinct=True)
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        problems.add(["claims", "iss"], "iss must be the originator's id")
    legal_basis = _text(claims, "legal_basis", problems)
    problems.raise_any()
    # No problem was found, so every value above is present and well-typed.
    if (
        alert_id is None
        or issued_at is None
        or expires_at is None
        or kind is None
        or category is None
        or tlp is None
        or handling is None
        or audience is None
        or purpose is None
        or character is None
        or subject_status is None
        or legal_basis is None
        or not isinstance(issuer, str)
        or not isinstance(cnf, dict)
    ):  # unreachable: each None above added a problem, and raise_any raised
        raise InvalidInput("the clear claims do not validate")
    agencies, groups, audience_all = audience
    return AlertClaims(
        alert_id=alert_id,
        issuer=issuer,
        issued_at=issued_at,
        expires_at=expires_at,
        kind=kind,
        category=category,
        tlp=tlp,
        handling=handling,
        audience_agencies=agencies,
        audience_groups=groups,
        audience_all=audience_all,
        purpose=purpose,
        legal_basis=legal_basis,
        supersedes=supersedes,
        cnf_jwk=dict(cnf["jwk"]),
        character=character,
        subject_status=subject_status,
    )


def _check_content(content_claims: int | Collection[str], problems: _Problems) -> None:
    """At most MAX_CONTENT_CLAIMS content claims; names, when given, of the open vocabulary's
    spelling (CONTENT_NAME_PATTERN) and not reserved."""
    names = [] if isinstance(content_claims, int) else list(content_claims)
    count = content_claims if isinstance(content_claims, int) else len(names)
    if count > MAX_CONTENT_CLAIMS:
        problems.add(["content"], f"at most {MAX_CONTENT_CLAIMS} content claims")
    for name in names:
        if not isinstance(name, str) or is_reserved_content_name(name):
            problems.add(["content", str(name)], f"content claim name {_shown(name)} is reserved")
        elif not _CONTENT_NAME.fullmatch(name):
            problems.add(
                ["content", name],
                f"content claim name {_shown(name)} must start with a lowercase letter and hold "
                f"only lowercase letters, digits and _ (at most {MAX_CONTENT_NAME_LENGTH})",
            )


def _text(claims: dict[str, Any], name: str, problems: _Problems) -> str | None:
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT_LENGTH:
        problems.add(
            ["claims", name],
            f"claim {name!r} must be a non-empty string of at most {MAX_TEXT_LENGTH} chars",
        )
        return None
    return value


def _time(claims: dict[str, Any], name: str, problems: _Problems) -> datetime | None:
    value = claims.get(name)
    if type(value) is not int:
        problems.add(["claims", name], f"claim {name!r} must be an integer NumericDate")
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        problems.add(["claims", name], f"claim {name!r} is out of range")
        return None


def _choice(
    claims: dict[str, Any], name: str, vocabulary: frozenset[str], problems: _Problems
) -> str | None:
    """One code of a closed vocabulary."""
    value = claims.get(name)
    # Types first: a JSON array or object is unhashable, and `in` would raise TypeError.
    if isinstance(value, str) and value in vocabulary:
        return value
    if value is None:
        message = f"{name} is missing: allowed are {allowed(vocabulary)}"
    else:
        message = f"unknown {name} {_shown(value)}: allowed are {allowed(vocabulary)}"
    problems.add(["claims", name], message)
    return None


def _codes(
    claims: dict[str, Any],
    name: str,
    vocabulary: frozenset[str],
    problems: _Problems,
    *,
    distinct: bool,
) -> tuple[str, ...] | None:
    """An optional list of codes of a closed vocabulary (default: empty)."""
    value = claims.get(name, [])
    qualifier = "distinct values" if distinct else "codes"
    if not isinstance(value, list):
        problems.add(
            ["claims", name], f"{name} must be a list of {qualifier} from {allowed(vocabulary)}"
        )
        return None
    found = len(problems.items)
    seen: set[str] = set()
    for index, item in enumerate(value):
        location = ["claims", name, str(index)]
        if not isinstance(item, str) or item not in vocabulary:
            problems.add(
                location, f"unknown {name} {_shown(item)}: allowed are {allowed(vocabulary)}"
            )
        elif distinct and item in seen:
            problems.add(location, f"{name} must be a list of distinct values: {item!r} repeats")
        else:
            seen.add(item)
    return tuple(value) if len(problems.items) == found else None


def _audience(
    audience: Any, problems: _Problems
) -> tuple[tuple[str, ...], tuple[str, ...], bool] | None:
    if not isinstance(audience, dict):
        problems.add(
            ["claims", "audience"], "audience must be an object with agencies, groups and all"
        )
        return None
    found = len(problems.items)
    for member in sorted(set(audience) - AUDIENCE_FIELDS):
        problems.add(
            ["claims", "audience", member],
            f"unknown audience member {_shown(member)}: allowed are {allowed(AUDIENCE_FIELDS)}",
        )
    audience_all = audience.get("all", False)
    if not isinstance(audience_all, bool):
        problems.add(["claims", "audience", "all"], "audience.all must be a boolean")
    agencies = _ids(audience.get("agencies", []), "agencies", problems)
    groups = _ids(audience.get("groups", []), "groups", problems)
    if len(problems.items) != found or agencies is None or groups is None:
        return None
    if not (agencies or groups or audience_all is True):
        problems.add(
            ["claims", "audience"],
            "the audience is empty: name agencies or groups, or set all to true",
        )
        return None
    return agencies, groups, bool(audience_all)


def _ids(value: Any, name: str, problems: _Problems) -> tuple[str, ...] | None:
    location = ["claims", "audience", name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(location, f"audience.{name} must be a list of ids")
        return None
    if len(set(value)) != len(value) or len(value) > MAX_AUDIENCE_IDS:
        problems.add(
            location,
            f"audience.{name} must not repeat ids (and hold at most {MAX_AUDIENCE_IDS})",
        )
        return None
    return tuple(value)
