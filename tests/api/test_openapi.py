"""The OpenAPI document types every successful answer: no endpoint returns an untyped body."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.app import create_app
from service.settings import Settings

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/components/schemas/...``) to the schema it names."""
    seen: set[str] = set()
    while "$ref" in schema and schema["$ref"] not in seen:
        reference = schema["$ref"]
        seen.add(reference)
        node: Any = document
        for part in reference.removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _untyped(schema: dict[str, Any] | None, document: dict[str, Any]) -> bool:
    """Whether ``schema`` says nothing about the body: missing, ``{}``, or an object with
    neither properties nor a schema for its additional properties."""
    if not schema:
        return True
    schema = _resolve(schema, document)
    meaningful = {k: v for k, v in schema.items() if k not in {"title", "description", "examples"}}
    if not meaningful:
        return True
    if meaningful.get("type") == "object" and not meaningful.get("properties"):
        additional = meaningful.get("additionalProperties")
        return not isinstance(additional, dict) or _untyped(additional, document)
    return False


def _offenders(document: dict[str, Any]) -> list[str]:
    offenders = []
    for path, item in sorted(document["paths"].items()):
        for method, operation in sorted(item.items()):
            if method not in METHODS:
                continue
            successes = {
                code: answer
                for code, answer in operation.get("responses", {}).items()
                if str(code).startswith("2")
            }
            typed = [
                f"{code} {media}"
                for code, answer in successes.items()
                for media, content in answer.get("content", {}).items()
                if not _untyped(content.get("schema"), document)
            ]
            if not successes:
                offenders.append(f"{method.upper()} {path}: no 2xx response")
            elif not typed:
                offenders.append(f"{method.upper()} {path}: 2xx body has no typed schema")
    return offenders


def test_every_operation_documents_a_typed_success_body(tmp_path: Path) -> None:
    app = create_app(Settings(env="test", data_dir=tmp_path / "data"))
    document = app.openapi()
    assert document["paths"], "the OpenAPI document lists no operations"
    offenders = _offenders(document)
    assert not offenders, "operations without a typed 2xx schema:\n" + "\n".join(offenders)


def test_the_check_catches_untyped_bodies() -> None:
    """The checker itself: each untyped shape FastAPI emits is caught, typed ones pass."""
    components = {
        "components": {
            "schemas": {
                "Empty": {"type": "object", "title": "Empty"},
                "Typed": {"type": "object", "properties": {"a": {"type": "string"}}},
            }
        }
    }
    untyped: list[dict[str, Any] | None] = [
        None,
        {},
        {"type": "object"},
        {"type": "object", "additionalProperties": True, "title": "Response X"},
        {"$ref": "#/components/schemas/Empty"},
    ]
    typed: list[dict[str, Any]] = [
        {"type": "string"},
        {"$ref": "#/components/schemas/Typed"},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "array", "items": {"$ref": "#/components/schemas/Typed"}},
    ]
    assert all(_untyped(schema, components) for schema in untyped)
    assert not any(_untyped(schema, components) for schema in typed)
