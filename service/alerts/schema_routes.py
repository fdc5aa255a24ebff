"""``GET /v1/schemas/alert.json``: the JSON Schema of ``alert.json`` (docs/protocol.md §4),
unauthenticated, so that an originator's editor or tooling can check a file before it is
signed and posted."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from service.protocol.alert_schema import SCHEMA_MEDIA_TYPE, SCHEMA_PATH, render

router = APIRouter(tags=["schemas"])

# Rendered once: the schema is a pure function of the protocol's vocabularies.
_ALERT_SCHEMA = render().encode("utf-8")

# What OpenAPI says of the body: a JSON Schema document (draft 2020-12) for an object.
_JSON_SCHEMA_DOCUMENT = {
    "type": "object",
    "description": "A JSON Schema (draft 2020-12) document.",
    "properties": {
        "$schema": {"type": "string", "const": "https://json-schema.org/draft/2020-12/schema"},
        "$id": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "type": {"type": "string", "const": "object"},
        "required": {"type": "array", "items": {"type": "string"}},
        "properties": {"type": "object", "additionalProperties": {"type": "object"}},
        "examples": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["$schema", "$id", "type", "properties"],
}


@router.get(
    SCHEMA_PATH,
    response_class=Response,
    summary="JSON Schema of alert.json",
    responses={
        200: {
            "description": "The JSON Schema of what a client submits as alert.json",
            "content": {SCHEMA_MEDIA_TYPE: {"schema": _JSON_SCHEMA_DOCUMENT}},
        }
    },
)
async def alert_file_schema() -> Response:
    """The JSON Schema (draft 2020-12) of ``alert.json``: the clear claims plus ``content``."""
    return Response(_ALERT_SCHEMA, media_type=SCHEMA_MEDIA_TYPE)
