"""Structured logs: one access line per request, and application events, each carrying the
request id and the authenticated principal.

JSON lines when stderr is not a terminal (what a log shipper reads), readable lines when it
is. ``configure_logging`` installs the formatter on the root logger (and uvicorn's, whose own
access log it replaces); ``RequestContextMiddleware`` gives every request an id (a
well-formed incoming ``X-Request-ID``, else a fresh one), returns it in the response header
and writes the access line; ``set_principal`` is called by the authentication dependency.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# Printable, no spaces or separators a log parser could trip on, and bounded.
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# The attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "liaison_request_id", default=None
)
principal: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "liaison_principal", default=None
)
access_logger = logging.getLogger("liaison.access")
_SCOPE_KEY = "liaison_principal"


def set_principal(scope: MutableMapping[str, Any] | None, principal_id: str) -> None:
    """Name the request's authenticated principal in every log line that follows, and in
    its access line (through the ASGI ``scope``'s state, which outlives the context copy a
    dependency may run in)."""
    principal.set(principal_id)
    if scope is not None:
        scope.setdefault("state", {})[_SCOPE_KEY] = principal_id


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "message": record.getMessage(),
    }
    if (rid := request_id.get()) is not None:
        fields["request_id"] = rid
    if (who := principal.get()) is not None:
        fields["principal"] = who
    for name, value in vars(record).items():
        if name not in _RECORD_FIELDS and not name.startswith("_") and name != "color_message":
            fields[name] = value
    return fields


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, principal, and
    whatever the call passed as ``extra``; a traceback as ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return json.dumps(fields, default=str, ensure_ascii=False)


class ReadableFormatter(logging.Formatter):
    """``time level logger message key=value…`` for a human at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        head = " ".join(str(fields.pop(k)) for k in ("time", "level", "logger", "message"))
        rest = " ".join(f"{k}={v}" for k, v in fields.items())
        line = f"{head} {rest}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def formatter_for(stream: TextIO) -> logging.Formatter:
    """JSON lines unless ``stream`` is a terminal."""
    return ReadableFormatter() if stream.isatty() else JSONFormatter()


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log record to ``stream`` (stderr) through one structured formatter.

    Uvicorn's loggers propagate to the root logger, and its own access log is silenced:
    ``RequestContextMiddleware`` writes a richer one. Idempotent.
    """
    target = stream or sys.stderr
    handler = logging.StreamHandler(target)
    handler.setFormatter(formatter_for(target))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``uvicorn.run(log_config=…)`` with the same
    effect as ``configure_logging`` (each worker process applies it at start)."""
    formatter = "readable" if sys.stderr.isatty() else "json"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": JSONFormatter},
            "readable": {"()": ReadableFormatter},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


def well_formed_request_id(value: str | None) -> str | None:
    """``value`` if it is a usable request id, else None."""
    if value is not None and _WELL_FORMED_ID.fullmatch(value):
        return value
    return None


class RequestContextMiddleware:
    """Gives each HTTP request an id and writes its access line: method, route template,
    status, duration, principal (once authenticated)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == REQUEST_ID_HEADER.encode()),
            None,
        )
        rid = well_formed_request_id(offered) or uuid.uuid4().hex
        rid_token = request_id.set(rid)
        principal_token = principal.set(None)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            who = _principal_box(scope) or principal.get()
            if who is not None:
                principal.set(who)
            access_logger.info(
                "%s %s %s",
                scope.get("method", ""),
                route,
                status,
                extra={
                    "event": "http.request",
                    "method": scope.get("method", ""),
                    "route": route,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                },
            )
            principal.reset(principal_token)
            request_id.reset(rid_token)


def _principal_box(scope: Scope) -> str | None:
    value = scope.get("state", {}).get(_SCOPE_KEY)
    return value if isinstance(value, str) else None
