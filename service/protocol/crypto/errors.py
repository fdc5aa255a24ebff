"""Errors raised by the crypto facade."""


class VerificationError(Exception):
    """A signature, MAC, digest or proof did not verify. Deliberately carries no detail."""


class KeyFormatError(ValueError):
    """A key (JWK or raw bytes) is malformed or of the wrong type or curve."""
