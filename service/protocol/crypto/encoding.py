"""Base64 variants used by the contract: base64url without padding, and standard base64."""

import base64
import binascii
import re

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(data: bytes) -> str:
    """Encode as base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url without padding; raises ValueError on any other alphabet or padding."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode_std(data: bytes) -> str:
    """Encode as standard base64 with padding (as C2SP notes and the audit API use)."""
    return base64.b64encode(data).decode("ascii")


def b64decode_std(text: str) -> bytes:
    """Decode strict standard base64 with padding; raises ValueError otherwise."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not standard base64") from exc
