"""A validated Cedar policy set loaded from a directory, with a version and stable ids.

A policy directory holds ``schema.cedarschema`` and any number of ``*.cedar`` files, in
subdirectories too (``partners/`` holds bilateral rules). Loading either yields a set that
parsed, validated against the schema and carries an ``@id`` and a ``@description`` on every
policy, or raises ``PolicyLoadError`` naming the file and line. It is parsed once; to reload,
load again and swap: a failed load leaves the caller's current set in force.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import cedarpy

from service.policy.source import (
    SCHEMA_FILE,
    SourceError,
    SourceFile,
    Span,
    locate_parse_error,
    policy_set_version,
    read_sources,
    refine_line,
    statement_spans,
)
from service.protocol.errors import InvalidPolicy

POLICY_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{0,127}$")
REQUIRED_ANNOTATIONS = ("id", "description")


class PolicyLoadError(InvalidPolicy):
    """The policy directory cannot be loaded; ``detail`` names the file and line of each error.

    ``file`` (the path shown, under the directory) and ``line`` (1-based, or ``None``) are
    those of the first error.
    """

    def __init__(self, detail: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(detail)
        self.file = file
        self.line = line


class PolicyInfo(NamedTuple):
    """One policy: its ``@id``, all its annotations, and its file relative to the directory."""

    id: str
    annotations: dict[str, str]
    file: str


@dataclass(frozen=True)
class _Policy:
    cedar_id: str
    id: str
    effect: str
    annotations: Mapping[str, str]
    file: str
    span: Span


class PolicySet:
    """A loaded, validated policy set. Build it with ``PolicySet.load``.

    ``cedar_policies`` and ``cedar_schema`` are cedarpy's parsed handles, for the engine.
    """

    def __init__(
        self,
        *,
        version: str,
        policies: Sequence[_Policy],
        cedar_policies: Any,
        cedar_schema: Any,
    ) -> None:
        self._version = version
        self._policies = tuple(policies)
        self._by_cedar_id = {p.cedar_id: p for p in self._policies}
        self._by_id = {p.id: p for p in self._policies}
        self.cedar_policies: Any = cedar_policies
        self.cedar_schema: Any = cedar_schema

    @classmethod
    def load(cls, directory: Path | str) -> PolicySet:
        """Load, parse and validate every policy file in ``directory`` against its schema.

        Raises ``PolicyLoadError`` (with file and line where there is one) when the directory
        or schema is missing; a file is unreadable or not UTF-8; the schema or a policy file
        does not parse; a policy does not validate against the schema; a policy lacks
        ``@id`` or ``@description``, has an id that is not lowercase ``[a-z0-9.-]``, or
        repeats another's id; a file holds a template; or there is no policy at all (an empty
        set would deny everything silently: it is refused).
        """
        return _Loader(Path(directory)).load()

    @property
    def version(self) -> str:
        """Lowercase hex SHA-256 over the sorted files (see ``source.policy_set_version``)."""
        return self._version

    @property
    def policies(self) -> list[PolicyInfo]:
        """Every policy in load order (files sorted by path, then order within the file)."""
        return [PolicyInfo(p.id, dict(p.annotations), p.file) for p in self._policies]

    def location(self, policy_id: str) -> tuple[str, int]:
        """The file (relative) and first line of the policy ``policy_id``; ``KeyError`` if none."""
        policy = self._by_id[policy_id]
        return policy.file, policy.span.first

    def effect(self, policy_id: str) -> str:
        """``"permit"`` or ``"forbid"`` for the policy ``policy_id``; ``KeyError`` if none."""
        return self._by_id[policy_id].effect

    def policy_id(self, cedar_id: str) -> str:
        """The ``@id`` of Cedar's policy ``cedar_id`` (e.g. ``policy7``); ``KeyError`` if none."""
        return self._by_cedar_id[cedar_id].id

    def __len__(self) -> int:
        return len(self._policies)


class _Loader:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def shown(self, relative: str) -> str:
        return (self.directory / relative).as_posix()

    def fail(self, relative: str, line: int | None, message: str) -> PolicyLoadError:
        where = self.shown(relative) + (f":{line}" if line is not None else "")
        return PolicyLoadError(f"{where}: {message}", self.shown(relative), line)

    def load(self) -> PolicySet:
        if not self.directory.is_dir():
            raise PolicyLoadError(f"{self.directory}: no such policy directory")
        try:
            schema_file, policy_files = read_sources(self.directory)
        except SourceError as exc:
            raise self.fail(exc.file, None, exc.message) from None
        schema = self.parse_schema(schema_file)
        policies = [p for source in policy_files for p in self.parse_file(source)]
        if not policies:
            raise PolicyLoadError(
                f"{self.directory}: no policies (*.cedar): an empty policy set is refused"
            )
        # Cedar numbers policies policy0, policy1, ... in the order of the text it parses, so
        # in the concatenation of the files (in load order) the numbers are global indexes.
        full_text = "\n".join(source.text for source in policy_files)
        policies = [
            _Policy(f"policy{i}", p.id, p.effect, p.annotations, p.file, p.span)
            for i, p in enumerate(policies)
        ]
        cedar_policies = cedarpy.PolicySet.from_str(full_text)
        # Decisions name policies by these numbers: check the mapping against Cedar's own.
        numbered = json.loads(cedarpy.policies_to_json_str(full_text)).get("staticPolicies", {})
        if len(cedar_policies) != len(policies) or any(
            (numbered.get(p.cedar_id, {}).get("annotations") or {}).get("id") != p.id
            for p in policies
        ):  # pragma: no cover - Cedar numbering invariant
            raise PolicyLoadError(f"{self.directory}: policy numbering changed on concatenation")
        self.check_ids(policies)
        self.validate(full_text, schema, policies, {s.path: s for s in policy_files})
        return PolicySet(
            version=policy_set_version([schema_file, *policy_files]),
            policies=policies,
            cedar_policies=cedar_policies,
            cedar_schema=schema,
        )

    def parse_schema(self, source: SourceFile) -> Any:
        try:
            return cedarpy.Schema.from_str(source.text)
        except ValueError as exc:
            message = str(exc)
            line = locate_parse_error(source.text, message, cedarpy.Schema.from_str)
            raise self.fail(source.path, line, f"schema: {message}") from None

    def parse_file(self, source: SourceFile) -> list[_Policy]:
        try:
            est = json.loads(cedarpy.policies_to_json_str(source.text))
        except ValueError as exc:
            message = str(exc)
            line = locate_parse_error(source.text, message, cedarpy.policies_to_json_str, ";")
            raise self.fail(source.path, line, message) from None
        spans = statement_spans(source.text)
        templates: dict[str, Any] = est.get("templates") or {}
        static: dict[str, Any] = est.get("staticPolicies") or {}
        ordered = sorted(static.items(), key=lambda item: int(item[0].removeprefix("policy")))
        if len(spans) != len(static) + len(templates):  # pragma: no cover - lexer invariant
            spans = [Span(1, 1)] * (len(static) + len(templates))
        if templates:
            first = min(int(key.removeprefix("policy")) for key in templates)
            raise self.fail(source.path, spans[first].first, "templates are not supported")
        policies = []
        for index, (_, body) in enumerate(ordered):
            annotations = {
                k: "" if v is None else str(v) for k, v in (body.get("annotations") or {}).items()
            }
            span = spans[index]
            for name in REQUIRED_ANNOTATIONS:
                if not annotations.get(name, "").strip():
                    raise self.fail(source.path, span.first, f'policy without @{name}("…")')
            policy_id = annotations["id"]
            if not POLICY_ID.match(policy_id):
                raise self.fail(
                    source.path,
                    span.first,
                    f"policy id {policy_id!r} is not lowercase letters, digits, '.' and '-'",
                )
            effect = str(body["effect"])
            policies.append(_Policy("", policy_id, effect, annotations, source.path, span))
        return policies

    def check_ids(self, policies: Sequence[_Policy]) -> None:
        seen: dict[str, _Policy] = {}
        for policy in policies:
            if policy.id in seen:
                first = seen[policy.id]
                raise self.fail(
                    policy.file,
                    policy.span.first,
                    f"duplicate policy id {policy.id!r} "
                    f"(first at {self.shown(first.file)}:{first.span.first})",
                )
            seen[policy.id] = policy

    def validate(
        self,
        full_text: str,
        schema: Any,
        policies: Sequence[_Policy],
        sources: Mapping[str, SourceFile],
    ) -> None:
        result = cedarpy.validate_policies(full_text, schema)
        if result.validation_passed:
            return
        by_cedar_id = {p.cedar_id: p for p in policies}
        located: list[tuple[str, int | None, str]] = []
        for error in result.errors:
            message = str(error.error)
            policy = by_cedar_id.get(str(error.policy_id))
            if policy is None:
                located.append((SCHEMA_FILE, None, message))
                continue
            lines = sources[policy.file].text.splitlines()
            line = refine_line(
                lines, policy.span.first, policy.span.last, message, policy.span.first
            )
            message = message.replace(f"`{policy.cedar_id}`", f'"{policy.id}"')
            located.append((policy.file, line, message))
        if not located:
            located.append((SCHEMA_FILE, None, "policies do not validate against the schema"))
        errors = [self.fail(file, line, message) for file, line, message in located]
        detail = "\n".join(error.detail for error in errors)
        raise PolicyLoadError(detail, errors[0].file, errors[0].line)
