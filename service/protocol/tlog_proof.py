"""C2SP transparency log proofs (c2sp.org/tlog-proof@v1): offline-verifiable receipts.

A proof is the header line ``c2sp.org/tlog-proof@v1``, an optional ``extra <base64>``
line, ``index <n>``, one base64 inclusion-proof hash per line (leaf sibling first), a
blank line, and then the log's signed checkpoint note verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.protocol.crypto import VerificationError, b64decode_std, b64encode_std
from service.protocol.merkle import HASH_SIZE, leaf_hash, verify_inclusion
from service.protocol.note import Checkpoint, NoteVerifier, verify_checkpoint

HEADER = "c2sp.org/tlog-proof@v1"
_EXTRA_PREFIX = "extra "
_INDEX_LINE = re.compile(r"index (0|[1-9][0-9]*)")
_MAX_INDEX = (1 << 64) - 1


def _decode_canonical(text: str) -> bytes:
    # Strict standard base64, and only its canonical spelling, so one proof has one text.
    value = b64decode_std(text)
    if b64encode_std(value) != text:
        raise ValueError("not canonical base64")
    return value


@dataclass(frozen=True)
class UnverifiedTlogProof:
    """The parts of a tlog-proof, as parsed: nothing here is verified yet.

    ``extra`` is opaque and never authenticated, even after verification.
    Raises ValueError on a negative index, a hash that is not 32 bytes, an empty
    ``extra`` (use None), or a checkpoint note that does not end in a newline.
    """

    index: int
    hashes: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not 0 <= self.index <= _MAX_INDEX:
            raise ValueError("proof index must be an integer in 0..2**64-1")
        if not all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in self.hashes):
            raise ValueError(f"proof hashes must be {HASH_SIZE} bytes")
        if self.extra is not None and not self.extra:
            raise ValueError("proof extra data must be non-empty or None")
        if not self.checkpoint_note.endswith("\n"):
            raise ValueError("proof checkpoint must be a signed note ending in a newline")

    def text(self) -> str:
        """The proof in its textual format."""
        lines = [HEADER]
        if self.extra is not None:
            lines.append(_EXTRA_PREFIX + b64encode_std(self.extra))
        lines.append(f"index {self.index}")
        lines.extend(b64encode_std(h) for h in self.hashes)
        return "".join(f"{line}\n" for line in lines) + "\n" + self.checkpoint_note


def format_tlog_proof(
    index: int,
    hashes: Sequence[bytes],
    checkpoint_note: str,
    extra: bytes | None = None,
) -> str:
    """Format a receipt for entry ``index`` from its inclusion proof and a signed checkpoint.

    ``hashes`` is the inclusion proof against the checkpoint's tree size. Raises ValueError
    as :class:`UnverifiedTlogProof` does.
    """
    return UnverifiedTlogProof(index, tuple(hashes), checkpoint_note, extra).text()


def parse_tlog_proof(text: str) -> UnverifiedTlogProof:
    """Split a tlog-proof into its parts without verifying anything.

    Raises ValueError if the header, extra, index or hash lines are malformed, or the
    blank line and checkpoint are missing.
    """
    # The proof lines are all non-empty, so the first blank line ends them.
    separator = text.find("\n\n")
    if separator < 0:
        raise ValueError("a tlog-proof needs a blank line before its checkpoint")
    lines = text[:separator].split("\n")
    checkpoint_note = text[separator + 2 :]
    if lines[0] != HEADER:
        raise ValueError(f"a tlog-proof starts with {HEADER}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith(_EXTRA_PREFIX):
        try:
            extra = _decode_canonical(lines[position][len(_EXTRA_PREFIX) :])
        except ValueError:
            raise ValueError("tlog-proof extra data is not base64") from None
        position += 1
    match = _INDEX_LINE.fullmatch(lines[position]) if position < len(lines) else None
    if match is None:
        raise ValueError("a tlog-proof needs an index line without leading zeroes")
    try:
        hashes = tuple(_decode_canonical(line) for line in lines[position + 1 :])
    except ValueError:
        raise ValueError("tlog-proof hashes must be base64") from None
    return UnverifiedTlogProof(int(match.group(1)), hashes, checkpoint_note, extra)


def verify_tlog_proof(
    text: str, leaf_bytes: bytes, verifier: NoteVerifier, origin: str
) -> Checkpoint:
    """Verify that ``leaf_bytes`` is in the log, as this receipt claims.

    Checks the checkpoint's signature by ``verifier`` and its ``origin``, then the
    inclusion proof of ``SHA-256(0x00 || leaf_bytes)`` at the proof's index against the
    checkpoint's size and root. Witness cosignatures are ignored. Returns the verified
    checkpoint; raises VerificationError if the proof is malformed or anything fails.
    """
    try:
        proof = parse_tlog_proof(text)
    except ValueError:
        raise VerificationError from None
    checkpoint = verify_checkpoint(proof.checkpoint_note, verifier, origin)
    verify_inclusion(
        leaf_hash(leaf_bytes), proof.index, checkpoint.size, proof.hashes, checkpoint.root_hash
    )
    return checkpoint
