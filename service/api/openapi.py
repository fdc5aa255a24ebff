"""The OpenAPI document as the contract: problems, security and raw bodies added by rule.

FastAPI documents what an endpoint's signature says: its parameters, its JSON body, its
success model. It cannot see what the service's plumbing adds around every endpoint: the
RFC 9421 signature check (401), authorisation (403), the problem+json bodies that replace
its own validation error (422), the body limit (413), start-up (503). ``customise_openapi``
adds those to every operation by one rule, read from the route itself (its dependency tree,
its parameters, its method), so no endpoint is decorated by hand and none is forgotten.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, cast, get_args

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.params import Depends

from service.api.dependencies import PrincipalDep, SignedRequestDep, StandalonePrincipalDep
from service.api.problems import MEDIA_TYPE, Problem, problem_types

SECURITY_SCHEME = "rfc9421"
PROBLEM_REF = "#/components/schemas/Problem"
SD_JWT_MEDIA_TYPE = "application/sd-jwt"
# FastAPI's own 422 body, which the service never sends (service.api.problems answers).
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")

SIGNATURE_DESCRIPTION = """\
RFC 9421 HTTP Message Signatures (docs/protocol.md §3 "Request signing"). OpenAPI has no \
scheme for them: this entry names the `Signature` header, but a request carries three:

- `Signature-Input: sig1=("@method" "@authority" "@path" "@query" "content-digest");\
created=…;keyid="<kid>";alg="ed25519";nonce="<base64url, ≥16 random bytes>";tag="liaison"`
- `Signature: sig1=:<base64 Ed25519 signature over the signature base>:`
- `Content-Digest: sha-256=:<base64 SHA-256 of the exact body>:` (RFC 9530), signed, whenever \
the request has a body.

`keyid` is a registered signing key of the caller; `created` within the allowed clock skew; \
the `(keyid, nonce)` pair is single-use, so every request (retries included) is signed \
afresh. A failure answers 401 `application/problem+json` with one of the \
`urn:liaison:problem:` types listed on each operation's 401 response."""

# The alert of docs/vectors/alert.json, as an originator POSTs it (test keys only).
SD_JWT_EXAMPLE = (
    "eyJhbGciOiJFZDI1NTE5IiwidHlwIjoibGlhaXNvbi1hbGVydCtzZC1qd3QiLCJraWQiOiJ2ZWN0b3Itb3Jp"
    "Z2luYXRvci1zaWduLTEifQ.eyJpc3MiOiJmci1wb2xpY2UiLCJqdGkiOiIwYjZmM2E1Mi04ZjZlLTRjMWUtO"
    "WE1Ny0zYzJkMWUwZjRhNmIiLCJpYXQiOjE3NjcyMjU2MDAsImV4cCI6MTc2OTgxNzYwMCwia2luZCI6ImRpZ"
    "mZ1c2lvbiIsImNhdGVnb3J5IjoiZnJhdWQiLCJ0bHAiOiJhbWJlciIsImhhbmRsaW5nIjpbIkgxIl0sImF1Z"
    "GllbmNlIjp7ImFnZW5jaWVzIjpbImRlLWJrYSJdLCJncm91cHMiOltdLCJhbGwiOmZhbHNlfSwicHVycG9zZ"
    "SI6ImludmVzdGlnYXRlIiwibGVnYWxfYmFzaXMiOiJtdXR1YWwtbGVnYWwtYXNzaXN0YW5jZS10cmVhdHkiL"
    "CJjbmYiOnsiandrIjp7Imt0eSI6Ik9LUCIsImNydiI6IkVkMjU1MTkiLCJ4IjoiUmFxekJvX2kwUDZXWU15a"
    "FI3bFhJTlNCcDhSRWgxbjRzc1NUOTFPU1FJbyIsImtpZCI6InZlY3Rvci1icm9rZXIta2ItMSJ9fSwiX3NkI"
    "jpbIkRDRndRRmhTNENCREp5dU9EeGVsLW9rbWJLbmEwYy01U0lObjNMZFh0R2ciLCJEbFlkcFRGR1Eyc3ktc"
    "0JJWXpoalBvNTZsdFhXZXdtQ1BQZUZET2hQYlkwIiwiXzBWMW1QYTU5NmJ6QXB3TnliRVFwRlY3aGhzWHdXS"
    "WhERU5MZkk2VGVjMCJdLCJfc2RfYWxnIjoic2hhLTI1NiJ9.ET3GV0zbX4iwcvWAMrdd4B6w_88_UVdY7_Vr"
    "aSpRR1NPmgTB55pNUKHz7M4y1osU4IsZrSBK_I33RZShMqq9Dg~WyItcTdsRjRHWEVVXzJpY2lFRW1CbHV3I"
    "iwibmFycmF0aXZlIiwiQ2Fyb3VzZWwgVkFUIGZyYXVkIHJpbmcgb3BlcmF0aW5nIHRocm91Z2ggc2hlbGwgY"
    "29tcGFuaWVzIl0~WyJ5QVJ6YTZPNVgwWFcxSDhNdk9YRFp3IiwiY2hhcmdlcyIsWyJmcmF1ZCIsIm1vbmV5L"
    "WxhdW5kZXJpbmciXV0~WyJleDRRMXk5eDR3MEpjU05SdDNsMFN3Iiwic3ViamVjdCIseyJuYW1lIjoiQS4gT"
    "m9ueW1vdXMiLCJib3JuIjoiMTk4MC0wMi0yOSJ9XQ~"
)
SD_JWT_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+~([A-Za-z0-9_-]+~)*$"
SD_JWT_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": (
        "An alert: an SD-JWT (RFC 9901) in compact serialization without key-binding JWT, "
        "`<issuer-signed JWS>~<disclosure>~…~<disclosure>~` (note the final `~`), as ASCII "
        "text (docs/protocol.md §4)."
    ),
    "content": {
        SD_JWT_MEDIA_TYPE: {
            "schema": {
                "type": "string",
                "pattern": SD_JWT_PATTERN,
                "description": "`<JWS>~<disclosure>~...~`",
            },
            "example": SD_JWT_EXAMPLE,
        }
    },
}
# Operations whose endpoint reads its body itself, so FastAPI cannot see it: method, path.
RAW_REQUEST_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/alerts"): SD_JWT_REQUEST_BODY,
}

# The dependencies that authenticate a request (the RFC 9421 signature).
SIGNED_DEPENDENCIES: frozenset[Callable[..., Any]] = frozenset(
    metadata.dependency
    for annotated in (PrincipalDep, StandalonePrincipalDep, SignedRequestDep)
    for metadata in get_args(annotated)[1:]
    if isinstance(metadata, Depends) and metadata.dependency is not None
)


class Operation(Protocol):
    """What the rules read of a route: an ``APIRoute``, or FastAPI's view of one included
    through a router (``fastapi.routing.RouteContext``, FastAPI ≥ 0.160)."""

    path_format: str
    methods: set[str]
    dependant: Dependant
    include_in_schema: bool


def api_routes(routes: Iterable[Any]) -> Iterator[Operation]:
    """Every ``APIRoute`` of ``routes``, included routers walked as FastAPI's own OpenAPI
    generator walks them."""
    contexts = getattr(routing, "iter_route_contexts", None)
    for route in contexts(routes) if contexts is not None else routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, routing.APIRoute):
            yield cast(Operation, route)


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _dependants(child)


def is_signed(route: Operation) -> bool:
    """Whether the route authenticates its request: some dependency in its tree is one of
    ``PrincipalDep``, ``StandalonePrincipalDep`` or ``SignedRequestDep``."""
    return any(d.call in SIGNED_DEPENDENCIES for d in _dependants(route.dependant))


def _has_parameters(route: Operation) -> bool:
    return any(
        d.path_params or d.query_params or d.header_params or d.cookie_params
        for d in _dependants(route.dependant)
    )


def _has_path_parameters(route: Operation) -> bool:
    return any(d.path_params for d in _dependants(route.dependant))


def problem_statuses(route: Operation, method: str, has_body: bool) -> list[int]:
    """The problem statuses an operation may answer, by rule:

    - 400 `malformed-body` and 413 `payload-too-large`: it takes a request body;
    - 401 and 403: it is signed (authentication, then authorisation);
    - 404: it names a resource in its path;
    - 409: it changes state (any method but GET);
    - 422: it takes input (parameters or a body) or changes state (rules, policy reload);
    - 503: it needs anything start-up builds (any dependency at all).
    """
    signed = is_signed(route)
    mutating = method != "get"
    rules = {
        400: has_body,
        401: signed,
        403: signed,
        404: _has_path_parameters(route),
        409: mutating,
        413: has_body,
        422: has_body or _has_parameters(route) or mutating,
        503: bool(route.dependant.dependencies),
    }
    return [status for status, applies in rules.items() if applies]


def problem_response(status: int) -> dict[str, Any]:
    """The OpenAPI response of a problem status: the ``Problem`` body, and a description
    listing every ``urn:liaison:problem:`` type it may carry (from ``problems.PROBLEMS``)."""
    listed = "\n".join(f"- `{uri}`: {title}" for uri, title in problem_types(status))
    response: dict[str, Any] = {
        "description": f"Problem (RFC 9457), one of these types:\n\n{listed}",
        "content": {MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {
                "description": 'Always `Signature realm="liaison"`',
                "schema": {"type": "string"},
            }
        }
    return response


def _add_problem_schemas(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas["Problem"] = schema


def _drop_unreferenced(document: dict[str, Any], names: tuple[str, ...]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for name in names:
        schemas.pop(name, None)
    # FastAPI's ValidationError may be referenced only by HTTPValidationError, now gone.
    text = repr(document)
    for name in names:
        if f"#/components/schemas/{name}'" in text:
            raise LookupError(f"the OpenAPI document still refers to {name}")


def amend(document: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """Add the problem responses, the signature security and the raw request bodies to the
    OpenAPI ``document`` built from ``routes``; returns it. Raises LookupError if a raw body
    is declared for an operation the document does not have (a renamed path)."""
    _add_problem_schemas(document)
    schemes = document["components"].setdefault("securitySchemes", {})
    schemes[SECURITY_SCHEME] = {
        "type": "apiKey",
        "in": "header",
        "name": "Signature",
        "description": SIGNATURE_DESCRIPTION,
    }
    paths = document.get("paths", {})
    for (method, path), body in RAW_REQUEST_BODIES.items():
        if method not in paths.get(path, {}):
            raise LookupError(f"no operation {method.upper()} {path} for its raw request body")
        paths[path][method]["requestBody"] = copy.deepcopy(body)
    for route in api_routes(routes):
        if not route.include_in_schema:
            continue
        for method in sorted(m.lower() for m in route.methods):
            operation = paths.get(route.path_format, {}).get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in problem_statuses(route, method, "requestBody" in operation):
                responses[str(status)] = problem_response(status)
            if is_signed(route):
                operation["security"] = [{SECURITY_SCHEME: []}]
    _drop_unreferenced(document, FASTAPI_VALIDATION_SCHEMAS)
    return document


def customise_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and so ``/openapi.json`` and the docs pages) return the
    amended document. Safe to call more than once: the document is rebuilt from the routes
    and amended exactly once per build."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = FastAPI.openapi(app)  # builds and caches in app.openapi_schema
            app.openapi_schema = amend(document, app.routes)
        return app.openapi_schema

    app.openapi_schema = None
    app.openapi = openapi  # type: ignore[method-assign]
