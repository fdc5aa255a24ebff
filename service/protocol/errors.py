"""Domain errors. They carry no HTTP: ``service.api.problems`` maps each type to a response."""

from __future__ import annotations

from typing import TypedDict


class LiaisonError(Exception):
    """Base of every error the domain raises on purpose. ``detail`` is safe to show the caller."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(LiaisonError):
    pass


class Conflict(LiaisonError):
    pass


class InputError(TypedDict):
    """One problem with an input: where (``location``, the path to the value) and what."""

    location: list[str]
    message: str


class InvalidInput(LiaisonError):
    """Well-formed but semantically unacceptable input.

    ``errors`` optionally lists every problem found (``detail`` then summarises them all), so
    that a caller can fix them in one go; it is empty when only ``detail`` is known.
    """

    def __init__(self, detail: str, errors: list[InputError] | None = None) -> None:
        super().__init__(detail)
        self.errors: list[InputError] = list(errors or [])


class InvalidPolicy(InvalidInput):
    """A policy set that does not load; the set in force stays."""


class MalformedInput(LiaisonError):
    """Input that cannot be parsed at all."""


class PayloadTooLarge(LiaisonError):
    pass


class Forbidden(LiaisonError):
    """The caller is authenticated but lacks the role or relationship the action needs."""


class AuthenticationFailed(LiaisonError):
    """Base of request-authentication failures; subclasses say which rule was broken."""


class UnsignedRequest(AuthenticationFailed):
    pass


class InvalidSignature(AuthenticationFailed):
    pass


class UnsupportedAlgorithm(AuthenticationFailed):
    pass


class MissingComponent(AuthenticationFailed):
    pass


class UnknownKey(AuthenticationFailed):
    pass


class KeyNotValid(AuthenticationFailed):
    """Key revoked or outside its validity window."""


class StaleSignature(AuthenticationFailed):
    """``created`` too far from the server clock."""


class ReplayedRequest(AuthenticationFailed):
    pass


class DigestMismatch(AuthenticationFailed):
    pass


class MalformedDigest(AuthenticationFailed):
    """The Content-Digest field is not RFC 9530 with a sha-256 member in standard padded
    base64 (the body itself was not compared)."""


class WrongAuthority(AuthenticationFailed):
    """The request names (and so was signed for) an authority that is not this broker's."""


class NotReady(LiaisonError):
    """The service cannot serve yet (database unreachable, migrations not current)."""
