"""Strict request parameters: what a query or path value may look like before any domain sees it.

Pydantic's lax parsing accepts more than the API promises (``"1_0"``, ``" 5"``, ``"5.0"``,
integers past 64 bits that the database then refuses, naive or unconvertible datetimes). These
annotated types accept exactly the documented syntax and raise ``ValueError``, which FastAPI
turns into a 422 ``validation-failed`` problem, never a 500:

- ``StrictInt``: an optionally signed decimal of ASCII digits inside the signed 64-bit range;
- ``FeedCursor``: a feed cursor, the ASCII decimal of a non-negative 64-bit position (or
  empty: the beginning);
- ``AwareDatetime``: an RFC 3339 date-time with a UTC offset, whose UTC value lies in years
  1..9999; it is returned converted to UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# ``[0-9]`` is ASCII only (``\d`` would also match Arabic-Indic and fullwidth digits);
# ``\Z`` refuses a final newline.
_INTEGER = re.compile(r"-?[0-9]{1,19}\Z")
_CURSOR = re.compile(r"[0-9]{0,19}\Z")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
)


def strict_int(value: object) -> int:
    """The integer ``value`` denotes: an ``int`` (not a ``bool``) or a string of ASCII digits
    with an optional ``-``, inside the signed 64-bit range. Raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    if isinstance(value, str):
        if not _INTEGER.match(value):
            raise ValueError("must be a decimal integer of ASCII digits")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError("must be an integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("must fit in a signed 64-bit integer")
    return value


def feed_cursor(value: str) -> str:
    """``value`` unchanged if it is a cursor's syntax: ASCII digits, at most 2**63 - 1, or
    empty (the beginning, as the feed has always read it). Raises ValueError otherwise."""
    if not _CURSOR.match(value) or int(value or "0") > INT64_MAX:
        raise ValueError("must be a cursor returned by the feed")
    return value


def aware_datetime(value: object) -> datetime:
    """The UTC instant of an RFC 3339 date-time with an offset (or an aware ``datetime``),
    within years 1..9999 once converted to UTC. Raises ValueError otherwise."""
    if isinstance(value, str):
        if not _RFC3339.match(value):
            raise ValueError("must be an RFC 3339 date-time with a UTC offset")
        try:
            value = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be a valid RFC 3339 date-time") from None
    if not isinstance(value, datetime):
        raise ValueError("must be an RFC 3339 date-time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a UTC offset")
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("must lie within years 1..9999 in UTC") from None


# The validators run before pydantic's own parsing, so the documented schema (an integer, a
# string, a date-time, plus the route's own bounds) stays what FastAPI derives.
StrictInt = Annotated[int, BeforeValidator(strict_int)]
FeedCursor = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{0,19}$"), AfterValidator(feed_cursor)
]
AwareDatetime = Annotated[datetime, BeforeValidator(aware_datetime)]
