"""C2SP signed notes (c2sp.org/signed-note) and checkpoints (c2sp.org/tlog-checkpoint).

Only Ed25519 (signature type 0x01) is supported. Every failure to open or verify a note
raises :class:`VerificationError` without detail; malformed input is treated the same
way, so a caller cannot forget a check.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from service.protocol.crypto import (
    KeyFormatError,
    SigningPrivateKey,
    SigningPublicKey,
    VerificationError,
    b64decode_std,
    b64encode_std,
)
from service.protocol.merkle import HASH_SIZE

#: Signature type identifier byte for Ed25519 (signed-note, "Signature types").
ED25519_SIGNATURE_TYPE = b"\x01"
KEY_ID_SIZE = 4
_ED25519_PUBLIC_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
#: The spec requires accepting at least 16 signatures; Go's implementation caps at 100.
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 1 << 20
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x09\x0b-\x1f]")
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")
_MAX_TREE_SIZE = (1 << 64) - 1


def _is_valid_key_name(name: str) -> bool:
    # signed-note: non-empty, no Unicode spaces, no plus; also no control characters,
    # which a note may not contain anywhere.
    return (
        bool(name)
        and "+" not in name
        and not any(char.isspace() for char in name)
        and _is_valid_text(name)
    )


def _is_valid_text(text: str) -> bool:
    # Valid UTF-8 (a str with lone surrogates cannot be encoded) and no control
    # characters other than newline.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not _CONTROL_CHARACTERS.search(text)


def note_key_id(name: str, public_key: bytes) -> bytes:
    """The recommended key ID: ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``."""
    material = name.encode("utf-8") + b"\n" + ED25519_SIGNATURE_TYPE + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted Ed25519 note key: its name, its 4-byte key ID and its public key."""

    name: str
    key_id: bytes
    public_key: SigningPublicKey

    def __post_init__(self) -> None:
        if not _is_valid_key_name(self.name) or len(self.key_id) != KEY_ID_SIZE:
            raise KeyFormatError("invalid note key name or key ID")

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key ``<name>+<hex key ID>+<base64(0x01 || public key)>``.

        Raises KeyFormatError if the string is malformed, the type is not Ed25519, or the
        key ID is not the one the name and key derive.
        """
        # The base64 part may itself contain '+', so split at most twice.
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise KeyFormatError("a verifier key has three '+'-separated parts")
        name, key_id_hex, key_b64 = parts
        if not _is_valid_key_name(name):
            raise KeyFormatError("invalid note key name")
        if not _KEY_ID_HEX.fullmatch(key_id_hex):
            raise KeyFormatError("the key ID must be 8 lowercase hex digits")
        try:
            typed_key = b64decode_std(key_b64)
        except ValueError:
            raise KeyFormatError("the key is not standard base64") from None
        if (
            len(typed_key) != 1 + _ED25519_PUBLIC_KEY_SIZE
            or typed_key[:1] != ED25519_SIGNATURE_TYPE
        ):
            raise KeyFormatError("only Ed25519 (type 0x01) note keys are supported")
        raw = typed_key[1:]
        key_id = bytes.fromhex(key_id_hex)
        if note_key_id(name, raw) != key_id:
            raise KeyFormatError("the key ID does not match the name and key")
        return cls(
            name=name, key_id=key_id, public_key=SigningPublicKey(raw, f"{name}+{key_id_hex}")
        )

    @property
    def vkey(self) -> str:
        """This key as a verifier key string."""
        typed_key = b64encode_std(ED25519_SIGNATURE_TYPE + self.public_key.raw)
        return f"{self.name}+{self.key_id.hex()}+{typed_key}"


class NoteSigner:
    """Signs note texts with an Ed25519 key under a key name (typically the log origin)."""

    def __init__(self, name: str, key: SigningPrivateKey) -> None:
        """Raises ValueError if ``name`` is not a valid note key name."""
        if not _is_valid_key_name(name):
            raise ValueError("a note key name must be non-empty, without spaces or '+'")
        self._name = name
        self._key = key
        raw = key.public.raw
        key_id = note_key_id(name, raw)
        self._verifier = NoteVerifier(name, key_id, SigningPublicKey(raw, f"{name}+{key_id.hex()}"))

    @property
    def name(self) -> str:
        """The key name written in signature lines."""
        return self._name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID prefixed to every signature."""
        return self._verifier.key_id

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier, to publish or to check our own notes."""
        return self._verifier

    @property
    def vkey(self) -> str:
        """The verifier key string ``<name>+<hex key ID>+<base64(0x01 || public key)>``."""
        return self._verifier.vkey

    def sign(self, text: str) -> str:
        """Return the signed note: ``text``, a blank line, and one signature line.

        Raises ValueError unless ``text`` is non-empty, ends in a newline, and contains no
        control characters other than newline.
        """
        if not text.endswith("\n") or not _is_valid_text(text):
            raise ValueError("note text must end in a newline and hold no control characters")
        signature = self._key.sign(text.encode("utf-8"))
        encoded = b64encode_std(self.key_id + signature)
        return f"{text}\n{_SIGNATURE_PREFIX}{self._name} {encoded}\n"


def _signature_lines(block: str) -> list[tuple[str, bytes, bytes]]:
    lines = block.split("\n")
    # The note ends in a newline, so the last item is empty; every other line must be
    # a signature line.
    if lines[-1] != "" or len(lines) < 2 or len(lines) - 1 > MAX_SIGNATURES:
        raise VerificationError
    parsed = []
    for line in lines[:-1]:
        if not line.startswith(_SIGNATURE_PREFIX):
            raise VerificationError
        name, separator, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        if not separator or not _is_valid_key_name(name):
            raise VerificationError
        try:
            signature = b64decode_std(encoded)
        except ValueError:
            raise VerificationError from None
        if len(signature) <= KEY_ID_SIZE:
            raise VerificationError
        parsed.append((name, signature[:KEY_ID_SIZE], signature[KEY_ID_SIZE:]))
    return parsed


def open_note(note: str, verifier: NoteVerifier) -> str:
    """Return the text of ``note`` once a signature by ``verifier`` has verified.

    Signatures by other keys (a different name or key ID) are ignored, as the spec
    requires. Raises VerificationError if the note is malformed, if any signature by
    this key fails, or if there is none.
    """
    if not note.endswith("\n") or not _is_valid_text(note):
        raise VerificationError
    if len(note.encode("utf-8")) > MAX_NOTE_BYTES:
        raise VerificationError
    # The text is separated from the signatures by the last blank line in the note.
    split = note.rfind("\n\n")
    if split < 0:
        raise VerificationError
    text, block = note[: split + 1], note[split + 2 :]
    message = text.encode("utf-8")
    verified = False
    for name, key_id, signature in _signature_lines(block):
        if name != verifier.name or key_id != verifier.key_id:
            continue
        # A known key's signature that fails rejects the whole note (spec: SHOULD).
        if len(signature) != _ED25519_SIGNATURE_SIZE:
            raise VerificationError
        verifier.public_key.verify(signature, message)
        verified = True
    if not verified:
        raise VerificationError
    return text


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head as a C2SP tlog-checkpoint body: origin, size, root hash.

    Construction validates the fields, so any instance has a well-formed ``body()``.
    Raises ValueError on an empty or multi-line origin, a size outside 0..2**64-1, a root
    hash that is not 32 bytes, or an empty or multi-line extension line.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or not _is_valid_line(self.origin):
            raise ValueError("checkpoint origin must be one non-empty line")
        if isinstance(self.size, bool) or not 0 <= self.size <= _MAX_TREE_SIZE:
            raise ValueError("checkpoint size must be an integer in 0..2**64-1")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise ValueError(f"checkpoint root hash must be {HASH_SIZE} bytes")
        if not all(line and _is_valid_line(line) for line in self.extensions):
            raise ValueError("checkpoint extension lines must be non-empty single lines")

    def body(self) -> str:
        """The note text: origin, size, base64 root, any extension lines, each with ``\\n``."""
        lines = [self.origin, str(self.size), b64encode_std(self.root_hash), *self.extensions]
        return "".join(f"{line}\n" for line in lines)


def _is_valid_line(line: str) -> bool:
    return "\n" not in line and _is_valid_text(line)


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse a checkpoint note text (unverified); ``Checkpoint.body()`` gives it back.

    Raises ValueError if it is not at least three non-empty lines ending in a newline with
    a canonical decimal size and a canonical base64 32-byte root hash.
    """
    if not text.endswith("\n"):
        raise ValueError("a checkpoint ends in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise ValueError("a checkpoint has at least three non-empty lines")
    origin, size_text, root_text, *extensions = lines
    if not _TREE_SIZE.fullmatch(size_text):
        raise ValueError("the tree size must be decimal without leading zeroes")
    try:
        root_hash = b64decode_std(root_text)
    except ValueError:
        raise ValueError("the root hash is not standard base64") from None
    # Re-encoding rejects non-canonical base64, so one checkpoint has one text.
    if b64encode_std(root_hash) != root_text:
        raise ValueError("the root hash is not canonical base64")
    return Checkpoint(origin, int(size_text), root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """Return ``checkpoint`` as a signed note (the log's key name should be its origin)."""
    return signer.sign(checkpoint.body())


def verify_checkpoint(note: str, verifier: NoteVerifier, origin: str | None = None) -> Checkpoint:
    """Open a signed checkpoint note and parse it.

    Raises VerificationError if the note does not verify under ``verifier``, if its text
    is not a well-formed checkpoint, or if ``origin`` is given and differs.
    """
    text = open_note(note, verifier)
    try:
        checkpoint = parse_checkpoint_body(text)
    except ValueError:
        raise VerificationError from None
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError
    return checkpoint
