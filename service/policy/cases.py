"""Table-driven policy tests: ``policies/tests/*.json`` run against a loaded policy set.

A case file is a JSON object::

    {"description": "…",
     "defaults": {"originator_country": "XR", "alert": {…}, "partner": {…}, "claims": […]},
     "cases": [{"name": "…", "alert": {…}, "partner": {…}, "expect": {…}}, …]}

A case's ``action`` (default ``"receive"``) says what it tests:

- ``"receive"``, the fan-out: what ``partner`` gets of the alert (``PolicyCase``);
- ``"publish"``, screening: whether the alert is published at once or held for review
  (``ScreeningCase``).

Each case holds ``alert`` (the clear claims of API.md "Submitting an alert": ``iss``,
optional ``jti``, ``kind``, ``category``, ``tlp``, ``handling``, ``audience``
``{"agencies", "groups", "all"}``, ``purpose``, ``legal_basis``, optional screening markers
``character`` and ``subject_status``; ``iat``, ``exp``, ``cnf``, ``supersedes``, ``_sd`` and
``_sd_alg`` are ignored), ``originator_country`` (from the registry), ``claims`` (content
claim names; optional for ``publish``) and ``expect``. A ``receive`` case adds ``partner``
(``id``, ``country``, ``groups``, ``roles``, ``clearances``, optional ``heightened_review``)
and expects ``receive``, ``redacted`` (required when ``receive`` is true; when false it
defaults to every claim) and optionally ``policies``, the exact sorted ids of
``Decision.policies``. A ``publish`` case adds ``originator``, the registry facts of the
alert's ``iss`` (the keys of ``partner``; ``id`` defaults to ``iss`` and must equal it,
``country`` to ``originator_country``, the rest to empty and false), and expects ``publish``
and optionally ``policies``, the exact sorted ids of ``ScreeningDecision.policies``.
``alert``, ``partner`` and ``originator`` are merged key by key over ``defaults``; the other
keys replace them. A case may not carry the other action's ``partner`` or ``originator``
(defaults may: one file can hold both kinds).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.policy.engine import PolicyEngine
from service.policy.facts import AlertFacts, Decision, PartnerFacts, ScreeningDecision
from service.protocol.errors import LiaisonError

CASES_DIRECTORY = "tests"
_IGNORED_ALERT_KEYS = frozenset({"iat", "exp", "cnf", "supersedes", "_sd", "_sd_alg"})
_ALERT_KEYS = frozenset(
    {"iss", "jti", "kind", "category", "tlp", "handling", "audience", "purpose", "legal_basis"}
    | {"character", "subject_status"}
)
_PARTNER_KEYS = frozenset({"id", "country", "groups", "roles", "clearances", "heightened_review"})
_CASE_KEYS = frozenset(
    {"name", "action", "alert", "originator_country", "claims", "partner", "originator"}
    | {"expect"}
)
RECEIVE, PUBLISH = "receive", "publish"
# Per action: the facts a case of the other action carries, and what it may expect.
_OTHER_ACTIONS_FACTS = {RECEIVE: "originator", PUBLISH: "partner"}
_EXPECT_KEYS = {RECEIVE: {"receive", "redacted", "policies"}, PUBLISH: {"publish", "policies"}}


class PolicyCaseError(LiaisonError):
    """A case file that cannot be read or does not follow the format; names file and case."""


@dataclass(frozen=True)
class PolicyCase:
    """One expectation: what ``partner`` gets of ``alert``."""

    file: str
    name: str
    alert: AlertFacts
    partner: PartnerFacts
    receive: bool
    redacted: tuple[str, ...]
    policies: tuple[str, ...] | None


@dataclass(frozen=True)
class ScreeningCase:
    """One expectation: whether ``alert`` of ``originator`` is published or held for review."""

    file: str
    name: str
    alert: AlertFacts
    originator: PartnerFacts
    publish: bool
    policies: tuple[str, ...] | None


Case = PolicyCase | ScreeningCase


@dataclass(frozen=True)
class CaseResult:
    """A case, the engine's decision for it, and how the two differ (empty when it passed).

    ``decision`` is a ``Decision`` for a ``PolicyCase``, a ``ScreeningDecision`` for a
    ``ScreeningCase``.
    """

    case: Case
    decision: Decision | ScreeningDecision
    differences: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.differences


@dataclass(frozen=True)
class CaseReport:
    """All results, and which policies determined an outcome (publish, receive or claim) in
    some case."""

    results: tuple[CaseResult, ...]
    exercised: frozenset[str]
    unexercised: tuple[str, ...]

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def passed(self) -> bool:
        return not self.failures


def load_cases(directory: Path | str) -> list[Case]:
    """Every case of ``directory/tests/*.json``, files sorted by name, cases in file order.

    Raises ``PolicyCaseError`` naming the file (and case) for unreadable JSON, a missing or
    mistyped field, an unknown key or action, a key of the other action, an originator that
    is not the alert's ``iss``, a duplicate case name in a file, or no case at all.
    """
    folder = Path(directory) / CASES_DIRECTORY
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    cases = [case for path in files for case in _load_file(path)]
    if not cases:
        raise PolicyCaseError(f"{folder}: no policy test cases (*.json)")
    return cases


def run_cases(engine: PolicyEngine, cases: Sequence[Case]) -> CaseReport:
    """Decide every case with ``engine`` and compare with its expectation.

    Raises ``PolicyEvaluationError`` if Cedar rejects a case's facts.
    """
    results: list[CaseResult] = []
    exercised: set[str] = set()
    for case in cases:
        if isinstance(case, ScreeningCase):
            screening = engine.screen(case.alert, case.originator)
            exercised.update(screening.policies)
            results.append(CaseResult(case, screening, _screening_differences(case, screening)))
            continue
        (explanation,) = engine.explain(case.alert, [case.partner])
        exercised.update(explanation.receive_policies)
        exercised.update(p for outcome in explanation.claims for p in outcome.policies)
        results.append(
            CaseResult(case, explanation.decision, _differences(case, explanation.decision))
        )
    every = [info.id for info in engine.policy_set.policies]
    return CaseReport(
        tuple(results), frozenset(exercised), tuple(i for i in every if i not in exercised)
    )


def format_result(result: CaseResult) -> str:
    """A readable account of a case: ``PASS``/``FAIL``, then one line per difference."""
    status = "PASS" if result.passed else "FAIL"
    lines = [f"{status} {result.case.file} :: {result.case.name}"]
    lines += [f"    {difference}" for difference in result.differences]
    return "\n".join(lines)


def _screening_differences(case: ScreeningCase, decision: ScreeningDecision) -> tuple[str, ...]:
    differences = []
    if decision.publish != case.publish:
        differences.append(
            f"publish:  expected {_screened(case.publish)}, got {_screened(decision.publish)}"
            f"  (policies {_list(decision.policies)})"
        )
    if case.policies is not None and tuple(sorted(set(case.policies))) != decision.policies:
        differences.append(
            f"policies: expected {_list(sorted(set(case.policies)))}, "
            f"got {_list(decision.policies)}"
        )
    return tuple(differences)


def _screened(publish: bool) -> str:
    return "published" if publish else "held"


def _differences(case: PolicyCase, decision: Decision) -> tuple[str, ...]:
    differences = []
    if decision.receive != case.receive:
        differences.append(
            f"receive:  expected {_bool(case.receive)}, got {_bool(decision.receive)}"
            f"  (policies {_list(decision.policies)})"
        )
    if sorted(decision.redacted) != sorted(case.redacted):
        missing = sorted(set(case.redacted) - set(decision.redacted))
        extra = sorted(set(decision.redacted) - set(case.redacted))
        detail = ", ".join(
            part
            for part in (
                f"not redacted {_list(missing)}" if missing else "",
                f"unexpectedly redacted {_list(extra)}" if extra else "",
            )
            if part
        )
        differences.append(
            f"redacted: expected {_list(sorted(case.redacted))}, "
            f"got {_list(sorted(decision.redacted))}  ({detail})"
        )
    if case.policies is not None and tuple(sorted(set(case.policies))) != decision.policies:
        differences.append(
            f"policies: expected {_list(sorted(set(case.policies)))}, "
            f"got {_list(decision.policies)}"
        )
    return tuple(differences)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _list(values: Sequence[str]) -> str:
    return "[" + ", ".join(values) + "]"


def _load_file(path: Path) -> list[Case]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PolicyCaseError(f"{path}: cannot read: {exc}") from None
    reader = _Reader(str(path))
    top = reader.object(document, "file")
    reader.only(top, {"description", "defaults", "cases"}, "file")
    defaults = reader.object(top.get("defaults", {}), "defaults")
    reader.only(defaults, _CASE_KEYS - {"name", "expect"}, "defaults")
    raw_cases = top.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise PolicyCaseError(f"{path}: 'cases' must be a non-empty list")
    cases: list[Case] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_cases):
        case = reader.case(index, reader.object(raw, f"case {index + 1}"), defaults)
        if case.name in names:
            raise PolicyCaseError(f"{path}: duplicate case name {case.name!r}")
        names.add(case.name)
        cases.append(case)
    return cases


class _Reader:
    """Typed access to one case file's JSON, with errors that name the file and case."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.where = "file"

    def error(self, message: str) -> PolicyCaseError:
        return PolicyCaseError(f"{self.file}: {self.where}: {message}")

    def object(self, value: Any, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(f"{what} must be an object")
        return value

    def only(self, value: Mapping[str, Any], allowed: frozenset[str] | set[str], what: str) -> None:
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise self.error(f"unknown key(s) in {what}: {', '.join(unknown)}")

    def text(self, value: Mapping[str, Any], key: str, default: str | None = None) -> str:
        item = value.get(key, default)
        if not isinstance(item, str):
            raise self.error(f"{key!r} must be a string")
        return item

    def texts(self, value: Mapping[str, Any], key: str, required: bool = False) -> list[str]:
        if required and key not in value:
            raise self.error(f"{key!r} is required")
        item = value.get(key, [])
        if not isinstance(item, list) or not all(isinstance(i, str) for i in item):
            raise self.error(f"{key!r} must be a list of strings")
        return item

    def flag(self, value: Mapping[str, Any], key: str, default: bool | None = None) -> bool:
        item = value.get(key, default)
        if not isinstance(item, bool):
            raise self.error(f"{key!r} must be true or false")
        return item

    def case(self, index: int, raw: dict[str, Any], defaults: Mapping[str, Any]) -> Case:
        self.where = f"case {index + 1}"
        self.only(raw, _CASE_KEYS, "case")
        name = self.text(raw, "name")
        self.where = f"case {name!r}"
        merged: dict[str, Any] = {**defaults, **raw}
        for key in ("alert", "partner", "originator"):
            merged[key] = {
                **self.object(defaults.get(key, {}), f"defaults.{key}"),
                **self.object(raw.get(key, {}), key),
            }
        action = self.text(merged, "action", RECEIVE)
        if action not in _EXPECT_KEYS:
            raise self.error(f"'action' must be {RECEIVE!r} or {PUBLISH!r}, not {action!r}")
        if _OTHER_ACTIONS_FACTS[action] in raw:
            raise self.error(f"{_OTHER_ACTIONS_FACTS[action]!r} is not a fact of {action!r}")
        originator_country = self.text(merged, "originator_country")
        claims = self.texts(merged, "claims", required=action == RECEIVE)
        alert = self.alert(merged["alert"], originator_country, claims, index)
        expect = self.object(merged.get("expect"), "expect")
        self.only(expect, _EXPECT_KEYS[action], "expect")
        policies = tuple(self.texts(expect, "policies")) if "policies" in expect else None
        if action == PUBLISH:
            facts = {"id": alert.originator, "country": originator_country} | merged["originator"]
            originator = self.partner(facts, "originator")
            if originator.id != alert.originator:
                raise self.error("originator.id must be the alert's iss")
            publish = self.flag(expect, "publish")
            return ScreeningCase(self.file, name, alert, originator, publish, policies)
        partner = self.partner(merged["partner"], "partner")
        receive = self.flag(expect, "receive")
        if receive and "redacted" not in expect:
            raise self.error("expect.redacted is required when expect.receive is true")
        redacted = self.texts(expect, "redacted") if "redacted" in expect else list(alert.claims)
        return PolicyCase(self.file, name, alert, partner, receive, tuple(redacted), policies)

    def alert(
        self, raw: Mapping[str, Any], originator_country: str, claims: list[str], index: int
    ) -> AlertFacts:
        self.only(raw, _ALERT_KEYS | _IGNORED_ALERT_KEYS, "alert")
        audience = self.object(raw.get("audience", {}), "alert.audience")
        self.only(audience, {"agencies", "groups", "all"}, "alert.audience")
        return AlertFacts(
            alert_id=self.text(raw, "jti", f"case-{index + 1}"),
            originator=self.text(raw, "iss"),
            originator_country=originator_country,
            kind=self.text(raw, "kind"),
            category=self.text(raw, "category"),
            tlp=self.text(raw, "tlp"),
            handling=frozenset(self.texts(raw, "handling")),
            audience_agencies=frozenset(self.texts(audience, "agencies")),
            audience_groups=frozenset(self.texts(audience, "groups")),
            audience_all=self.flag(audience, "all", False),
            purpose=self.text(raw, "purpose"),
            legal_basis=self.text(raw, "legal_basis"),
            claims=tuple(claims),
            character=frozenset(self.texts(raw, "character")),
            subject_status=frozenset(self.texts(raw, "subject_status")),
        )

    def partner(self, raw: Mapping[str, Any], what: str) -> PartnerFacts:
        self.only(raw, _PARTNER_KEYS, what)
        return PartnerFacts(
            id=self.text(raw, "id"),
            country=self.text(raw, "country"),
            groups=frozenset(self.texts(raw, "groups")),
            roles=frozenset(self.texts(raw, "roles")),
            clearances=frozenset(self.texts(raw, "clearances")),
            heightened_review=self.flag(raw, "heightened_review", False),
        )
