"""The one facade over hazardous cryptographic primitives.

Only modules in this package import ``cryptography.hazmat``. Every verification
failure raises :class:`VerificationError`, whatever went wrong; the reason is for the
server log, never for the peer.
"""

from service.protocol.crypto.encoding import (
    b64decode_std,
    b64encode_std,
    b64url_decode,
    b64url_encode,
)
from service.protocol.crypto.errors import KeyFormatError, VerificationError
from service.protocol.crypto.keys import (
    EncryptionPrivateKey,
    EncryptionPublicKey,
    SigningPrivateKey,
    SigningPublicKey,
    jwk_thumbprint,
)

__all__ = [
    "EncryptionPrivateKey",
    "EncryptionPublicKey",
    "KeyFormatError",
    "SigningPrivateKey",
    "SigningPublicKey",
    "VerificationError",
    "b64decode_std",
    "b64encode_std",
    "b64url_decode",
    "b64url_encode",
    "jwk_thumbprint",
]
