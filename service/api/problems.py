"""The one table from domain errors to RFC 9457 problem responses.

Every error response of the service is ``application/problem+json`` with a stable ``type``.
A 500 never echoes the exception; its detail goes to the server log only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from service.api.metrics import authentication_failures
from service.protocol import errors

PROBLEM_BASE = "urn:liaison:problem:"
MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("liaison.problems")

# Order matters only for subclasses listed before their bases; lookup walks the MRO.
PROBLEMS: dict[type[errors.LiaisonError], tuple[int, str, str]] = {
    errors.UnsignedRequest: (401, "unsigned-request", "Request is not signed"),
    errors.InvalidSignature: (401, "invalid-signature", "Request signature is invalid"),
    errors.UnsupportedAlgorithm: (401, "unsupported-algorithm", "Signature algorithm not accepted"),
    errors.MissingComponent: (
        401,
        "missing-component",
        "Signature does not cover a required component",
    ),
    errors.UnknownKey: (401, "unknown-key", "Signing key is not registered"),
    errors.KeyNotValid: (401, "key-not-valid", "Signing key is revoked or outside its validity"),
    errors.StaleSignature: (401, "stale-signature", "Signature created too far from server time"),
    errors.ReplayedRequest: (401, "replayed-request", "Request nonce was already used"),
    errors.DigestMismatch: (401, "digest-mismatch", "Body does not match Content-Digest"),
    errors.MalformedDigest: (
        401,
        "malformed-digest",
        "Content-Digest must carry sha-256 in standard padded base64",
    ),
    errors.WrongAuthority: (401, "wrong-authority", "Request is addressed to another authority"),
    errors.AuthenticationFailed: (401, "authentication-failed", "Authentication failed"),
    errors.Forbidden: (403, "forbidden", "Not allowed"),
    errors.NotFound: (404, "not-found", "Not found"),
    errors.Conflict: (409, "conflict", "Conflict with the current state"),
    errors.PayloadTooLarge: (413, "payload-too-large", "Request body too large"),
    errors.MalformedInput: (400, "malformed-body", "Request body cannot be parsed"),
    errors.InvalidPolicy: (422, "policy-invalid", "Policy files do not load; the old set stays"),
    errors.InvalidInput: (422, "invalid-input", "Request is not acceptable"),
    errors.NotReady: (503, "not-ready", "Service not ready"),
}


# The types the handlers below answer with, that no domain error maps to (status, slug, title).
HANDLER_PROBLEMS: tuple[tuple[int, str, str], ...] = (
    (400, "malformed-body", "Request body cannot be parsed"),
    (404, "not-found", "Not found"),
    (405, "method-not-allowed", "Method not allowed"),
    (422, "validation-failed", "Request failed validation"),
    (500, "internal-error", "Internal error"),
)


def problem_types(status: int) -> list[tuple[str, str]]:
    """Every ``(type URI, title)`` the service may answer with ``status``, without repeats:
    the table's first, then the handlers'. The OpenAPI descriptions are generated from it."""
    found: dict[str, str] = {}
    for code, slug, title in [*PROBLEMS.values(), *HANDLER_PROBLEMS]:
        if code == status:
            found.setdefault(problem_type(slug), title)
    return list(found.items())


class FieldError(BaseModel):
    """One failing input of a ``validation-failed`` (or ``invalid-input``) problem."""

    location: list[str]
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem as the service sends it (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    # Every failing input at once: `validation-failed`, and `invalid-input` when listed.
    errors: list[FieldError] | None = None


def problem_content() -> dict[str, Any]:
    """The OpenAPI ``content`` of a problem response, for an endpoint's ``responses``."""
    return {MEDIA_TYPE: {"schema": Problem.model_json_schema()}}


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


def problem_response(
    status: int, slug: str, title: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": problem_type(slug), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": 'Signature realm="liaison"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def response_for(error: errors.LiaisonError) -> JSONResponse:
    for cls in type(error).__mro__:
        if cls in PROBLEMS:
            status, slug, title = PROBLEMS[cls]
            if status == 401:
                authentication_failures.labels(problem_type(slug)).inc()
            if isinstance(error, errors.InvalidInput) and error.errors:
                # Same shape as `validation-failed`'s `errors`: every problem at once.
                listed = [
                    {"location": list(item["location"]), "message": item["message"]}
                    for item in error.errors
                ]
                return problem_response(status, slug, title, error.detail, errors=listed)
            return problem_response(status, slug, title, error.detail)
    return problem_response(500, "internal-error", "Internal error")


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, errors.LiaisonError):
        return await _unexpected(request, exc)
    return response_for(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        return await _unexpected(request, exc)
    problems = list(exc.errors())
    if any(p.get("type") == "json_invalid" for p in problems):
        return problem_response(
            400, "malformed-body", "Request body cannot be parsed", "invalid JSON"
        )
    fields = [
        {"location": [str(part) for part in p.get("loc", ())], "message": str(p.get("msg", ""))}
        for p in problems
    ]
    return problem_response(
        422, "validation-failed", "Request failed validation", "see errors", errors=fields
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        return await _unexpected(request, exc)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    return problem_response(exc.status_code, slug, str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal-error", "Internal error")


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""
    app.add_exception_handler(errors.LiaisonError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
