"""The JSON Schema (draft 2020-12) of ``alert.json``: what an originator writes for
``liaison alert post`` (or passes to ``AlertsClient.compose_and_post``).

The file holds the alert's clear claims (docs/protocol.md §4.2) plus ``content``, the claims
the broker discloses per partner (§4.3). The client adds ``iss`` (the ``--as`` principal),
``cnf`` (the broker's key-binding key) and, unless the file sets them, ``jti`` (a fresh
UUID), ``iat`` (now) and ``exp`` (now + 90 days). Every enumeration and limit comes from
``service.protocol.claims`` and ``service.protocol.validation``, so the schema cannot drift
from what the broker accepts. Regenerate the committed copy with
``python -m service.protocol.alert_schema > docs/schemas/alert.schema.json``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from service.protocol.claims import (
    AUDIENCE_FIELDS,
    CATEGORIES,
    CHARACTERS,
    COERCIVE_PURPOSES,
    HANDLING_CODES,
    KINDS,
    PURPOSES,
    RESERVED_CONTENT_NAMES,
    SUBJECT_STATUSES,
    TLP_LABELS,
)
from service.protocol.validation import (
    CONTENT_NAME_PATTERN,
    MAX_AUDIENCE_IDS,
    MAX_CONTENT_CLAIMS,
    MAX_LIFETIME,
    MAX_TEXT_LENGTH,
    UUID_PATTERN,
)

SCHEMA_PATH = "/v1/schemas/alert.json"
SCHEMA_ID = "urn:liaison:schema:alert-file:1"
SCHEMA_MEDIA_TYPE = "application/schema+json"

# The three examples every reader starts from, by name (`liaison alert template` may print one).
_EXAMPLES: dict[str, dict[str, Any]] = {
    "red-notice-arrest": {
        "kind": "red",
        "category": "fugitive",
        "tlp": "amber",
        "handling": ["H1"],
        "audience": {"agencies": [], "groups": [], "all": True},
        "purpose": "arrest",
        "legal_basis": "Arrest warrant 2026/0412 of the Paris investigating judge",
        "content": {
            "subject": {"name": "Jean Exemple", "born": "1975-04-12", "nationality": "FR"},
            "charges": ["murder", "armed robbery"],
            "narrative": "Fled after the armed robbery of a cash transport in Lyon.",
            "biometrics": {"fingerprints": "NIST file 2026-0412-FP"},
        },
    },
    "diffusion-investigate": {
        "kind": "diffusion",
        "category": "fraud",
        "tlp": "amber",
        "audience": {"agencies": [], "groups": ["eu"], "all": False},
        "purpose": "investigate",
        "legal_basis": "MLA treaty FR-DE, art. 7",
        "content": {
            "narrative": "Carousel VAT fraud ring operating through shell companies.",
            "subject": {"name": "A. Nonymous"},
            "companies": ["Example Trading SARL", "Beispiel Handel GmbH"],
        },
    },
    "tlp-red-bulletin": {
        "kind": "bulletin",
        "category": "cybercrime",
        "tlp": "red",
        "handling": ["H2"],
        "audience": {"agencies": ["de-bka"], "groups": [], "all": False},
        "purpose": "prevent",
        "legal_basis": "Bilateral cybercrime agreement FR-DE, art. 4",
        "content": {
            "narrative": "Ransomware crew preparing an attack on a regional hospital network.",
            "indicators": ["203.0.113.7", "hxxp://example.invalid/payload"],
        },
    },
}


def alert_examples() -> dict[str, dict[str, Any]]:
    """The schema's examples by name (each a complete, valid ``alert.json``); a fresh copy."""
    return copy.deepcopy(_EXAMPLES)


def _codes(values: frozenset[str], description: str, *, distinct: bool) -> dict[str, Any]:
    array: dict[str, Any] = {
        "type": "array",
        "description": description,
        "items": {"enum": sorted(values)},
        "default": [],
    }
    if distinct:
        array["uniqueItems"] = True
    return array


def _ids(description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "description": description,
        "items": {"type": "string", "minLength": 1},
        "uniqueItems": True,
        "maxItems": MAX_AUDIENCE_IDS,
        "default": [],
    }


def alert_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``alert.json``, built from the protocol's own
    vocabularies and limits. Pure: the same document on every call."""
    coercive = ", ".join(sorted(COERCIVE_PURPOSES))
    lifetime_days = MAX_LIFETIME.days
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Liaison alert file (alert.json)",
        "description": (
            "What you write to share an alert: `liaison alert post alert.json --as <you> "
            "--key <your signing key>`. The fields outside `content` travel in the clear: "
            "the broker and every policy read them to decide who receives the alert. "
            "`content` is what partners receive, each field disclosed or withheld per "
            "partner by policy. Your client adds the rest itself: who you are (`iss`, from "
            "--as), the broker's key (`cnf`) and, unless you set them, the alert id (`jti`), "
            "the issue time (`iat`) and the expiry (`exp`, 90 days later). The allowed "
            "values are case-sensitive. Normative text: docs/protocol.md §4."
        ),
        "type": "object",
        "required": ["kind", "category", "tlp", "audience", "purpose", "legal_basis", "content"],
        "additionalProperties": False,
        "properties": {
            "kind": {
                "description": (
                    "The type of alert, after INTERPOL's notices: `red` (wanted person, "
                    "arrest with a view to extradition), `yellow` (missing person), `blue` "
                    "(more information about a person), `black` (unidentified body), `green` "
                    "(warning about a person's criminal activities), `orange` (imminent "
                    "threat), `purple` (modus operandi), `diffusion` (a request sent "
                    "directly to chosen partners), `bulletin` (information, no request)."
                ),
                "enum": sorted(KINDS),
            },
            "category": {
                "description": "The crime area. Policies rely on it: only these values exist.",
                "enum": sorted(CATEGORIES),
            },
            "tlp": {
                "description": (
                    "Traffic Light Protocol 2.0 label: how far recipients may spread what "
                    "they receive. `clear`: no limit; `green`: their community; `amber`: "
                    "their organisation and its clients, on a need-to-know basis; "
                    "`amber+strict`: their organisation only; `red`: the named recipients "
                    "only, not their organisation."
                ),
                "enum": sorted(TLP_LABELS),
            },
            "handling": _codes(
                HANDLING_CODES,
                "Optional handling codes (default none): H0 to H3, as your agreement with "
                "partners defines them; policies may restrict who receives an alert by them.",
                distinct=False,
            ),
            "audience": {
                "type": "object",
                "description": (
                    "Who may receive the alert: named agencies, groups of agencies, or every "
                    "partner (`all`). Name at least one agency or group, or set `all` to "
                    "true. Policies may still withhold the alert, or some content, from a "
                    "partner in the audience."
                ),
                "additionalProperties": False,
                "properties": {
                    "agencies": _ids(
                        "Registered agency ids, e.g. `de-bka`; each at most once, at most "
                        f"{MAX_AUDIENCE_IDS}."
                    ),
                    "groups": _ids(
                        "Registered group ids, e.g. `eu`; every agency of the group is in the "
                        f"audience. Each at most once, at most {MAX_AUDIENCE_IDS}."
                    ),
                    "all": {
                        "type": "boolean",
                        "description": "true: every registered partner. Default false.",
                        "default": False,
                    },
                },
                "anyOf": [
                    {"required": ["agencies"], "properties": {"agencies": {"minItems": 1}}},
                    {"required": ["groups"], "properties": {"groups": {"minItems": 1}}},
                    {"required": ["all"], "properties": {"all": {"const": True}}},
                ],
            },
            "purpose": {
                "description": (
                    "What you ask partners to do. "
                    f"{coercive} ask them to act against a person: such an alert is always "
                    "held for a reviewer before release, whatever its kind. `protect`: "
                    "locate a missing or endangered person for their own sake; `inform`: "
                    "awareness only; `prevent`: warn of a threat; `investigate`: enquiries or "
                    "evidence; `identify`: find out who a person or body is."
                ),
                "enum": sorted(PURPOSES),
            },
            "legal_basis": {
                "type": "string",
                "description": (
                    "The law, treaty, warrant or agreement under which you share, in words "
                    f"(not blank, at most {MAX_TEXT_LENGTH} characters)."
                ),
                "minLength": 1,
                "maxLength": MAX_TEXT_LENGTH,
                "pattern": r"\S",
            },
            "supersedes": {
                "type": "string",
                "description": (
                    "Optional: the id of an earlier alert of yours that this one replaces. "
                    "When this alert is released the earlier one ends and its recipients are "
                    "told it was withdrawn."
                ),
                "pattern": UUID_PATTERN,
            },
            "character": _codes(
                CHARACTERS,
                "Optional screening marker: say so if the case has a political, military, "
                "religious or racial character (INTERPOL constitution, art. 3). Such an alert "
                "is held for a reviewer. Each value at most once.",
                distinct=True,
            ),
            "subject_status": _codes(
                SUBJECT_STATUSES,
                "Optional screening marker: the subject is a recognised refugee or an asylum "
                "seeker. Such an alert is held for a reviewer. Each value at most once.",
                distinct=True,
            ),
            "jti": {
                "type": "string",
                "description": (
                    "Optional alert id, a lowercase UUID. Leave it out and the client picks "
                    "a fresh one; set it to post the same alert again safely (the broker "
                    "answers with the stored alert)."
                ),
                "pattern": UUID_PATTERN,
            },
            "iat": {
                "type": "integer",
                "description": (
                    "Optional issue time, seconds since 1970-01-01 UTC; not in the future. "
                    "Leave it out: the client uses the current time."
                ),
            },
            "exp": {
                "type": "integer",
                "description": (
                    "Optional expiry, seconds since 1970-01-01 UTC; in the future and at most "
                    f"{lifetime_days} days after `iat`. Leave it out: 90 days after `iat`."
                ),
            },
            "content": {
                "type": "object",
                "description": (
                    "What partners receive: any fields your records hold (`subject`, "
                    "`narrative`, `charges`, `biometrics`, `last_known_location`, "
                    "`attachments`, ...), each any JSON value. Policies disclose or withhold "
                    "each field by its name, per partner, so spell names the way your "
                    "partners' policies do: lowercase letters, digits and `_`, starting with "
                    f"a letter, at most 64 characters. At least one and at most "
                    f"{MAX_CONTENT_CLAIMS} fields; the names of the fields outside "
                    "`content` are reserved."
                ),
                "minProperties": 1,
                "maxProperties": MAX_CONTENT_CLAIMS,
                "propertyNames": {
                    "pattern": CONTENT_NAME_PATTERN,
                    "not": {"enum": sorted(RESERVED_CONTENT_NAMES)},
                },
            },
        },
        "examples": [alert_examples()[name] for name in sorted(_EXAMPLES)],
        "$comment": (
            f"Generated by service.protocol.alert_schema; served at {SCHEMA_PATH}. "
            f"Audience members: {', '.join(sorted(AUDIENCE_FIELDS))}."
        ),
    }


def render() -> str:
    """The schema as committed in docs/schemas/alert.schema.json (stable key order)."""
    return json.dumps(alert_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
