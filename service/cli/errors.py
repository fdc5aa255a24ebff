"""One clear line for every user mistake: the CLI's top-level error handler.

``describe`` turns an exception escaping a command into the sentence printed as
``Error: …``; ``--debug`` on the main group shows the traceback instead.
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import click


def describe_problem(status: int, problem: dict[str, Any]) -> str:
    """An RFC 9457 problem as text: type, title, detail, then one line per ``errors`` entry."""
    head = f"{status} {problem.get('type', 'error')}: {problem.get('title', '')}".rstrip(": ")
    detail = problem.get("detail")
    lines = [f"{head} ({detail})" if detail else head]
    for entry in problem.get("errors") or []:
        if isinstance(entry, dict):
            where = ".".join(str(part) for part in entry.get("location", []))
            lines.append(f"  {where or '-'}: {entry.get('message', '')}")
        else:
            lines.append(f"  {entry}")
    return "\n".join(lines)


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _network(error: BaseException, url: str | None) -> str | None:
    import httpx

    where = f" {url}" if url else ""
    chain = _chain(error)
    messages = list(dict.fromkeys(str(e) for e in chain if str(e)))
    text = " ".join(messages)
    if isinstance(error, httpx.ConnectError):
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return (
                f"the server{where} presented a certificate that is not trusted: "
                "pass its CA bundle with --ca (or LIAISON_CA)"
            )
        if any(isinstance(e, ssl.SSLError) for e in chain) or "SSL" in text:
            return f"TLS handshake with{where} failed: does the server speak https? ({text})"
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            return f"cannot connect to{where}: connection refused (is the server running?)"
        reason = messages[-1] if messages else "connection failed"
        return f"cannot connect to{where}: {reason} (is the server running?)"
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError):
        return (
            f"the server{where} closed the connection without an answer: "
            "if it serves HTTPS, use an https:// URL"
        )
    if isinstance(error, httpx.TimeoutException):
        return f"no answer from{where} in time"
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"bad URL{where}: {error}"
    if isinstance(error, httpx.HTTPError):
        return f"request to{where} failed: {error}"
    return None


def describe(error: BaseException, url: str | None = None) -> str | None:
    """The one-line message for a user mistake, or None for a genuine bug."""
    import sys

    if "httpx" in sys.modules:
        message = _network(error, url)
        if message:
            return message
    if "service.client.api" in sys.modules:
        from service.client.api import LiaisonAPIError

        if isinstance(error, LiaisonAPIError):
            return describe_problem(error.status, error.problem)
    if isinstance(error, ssl.SSLError):
        return f"cannot load the CA bundle (is it a PEM file?): {error.reason or error}"
    if isinstance(error, json.JSONDecodeError):
        return f"malformed JSON: {error}"
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    if isinstance(error, ConnectionError | OSError):
        return f"{type(error).__name__}: {error}"
    from service.protocol.crypto import KeyFormatError, VerificationError
    from service.protocol.errors import LiaisonError

    if isinstance(error, KeyFormatError):
        return f"not a usable key: {error}"
    if isinstance(error, VerificationError):
        return f"verification or decryption failed (wrong key?): {error}"
    if isinstance(error, LiaisonError):
        return error.detail
    return None


def to_click(error: BaseException, url: str | None = None) -> click.ClickException | None:
    message = describe(error, url)
    return None if message is None else click.ClickException(message)
