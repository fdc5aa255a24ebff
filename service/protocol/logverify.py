"""Offline verification of the whole audit log from any ``LogSource`` (the client's HTTP source,
the server's database source).

An auditor re-derives everything the broker signed: the checkpoint's signature, every leaf,
the Merkle root of all leaves, and (given a checkpoint trusted from an earlier run) that the
log only grew. Verification returns a :class:`VerificationReport` or raises
:class:`LogVerificationError`; there is no boolean to forget.

When the recomputed root differs from the signed one, the broker's inclusion proofs serve as
an oracle of the subtree hashes it stored when the entries were integrated: descending into
the leftmost subtree whose stored hash disagrees with the leaves locates the first altered
entry in O(log n) proof requests.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from service.protocol.crypto import (
    VerificationError,
    b64encode_std,
)
from service.protocol.merkle import (
    Frontier,
    inclusion_plan,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from service.protocol.note import Checkpoint, NoteVerifier, verify_checkpoint

_PROOF = object()

#: The most entries one ``entries`` call may return (API.md "Audit log").
ENTRIES_PER_CALL = 1000


class LogVerificationError(VerificationError):
    """The audit log does not verify. ``index`` is the first bad entry when it was located.

    Unlike the crypto facade's bare error, this one explains itself: its reader is the
    auditor who asked, not a peer probing the service.
    """

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class LogSource(Protocol):
    """Where a verifier reads the log from; every answer is untrusted until verified."""

    async def checkpoint_note(self) -> str:
        """The latest signed checkpoint note."""
        ...

    async def entries(self, start: int, end: int) -> list[bytes]:
        """Leaf bytes of entries ``start <= i < end`` (at most ENTRIES_PER_CALL), in order."""
        ...

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The RFC 9162 inclusion proof of entry ``index`` in the tree of ``size``."""
        ...

    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """The RFC 9162 consistency proof from ``old_size`` to ``new_size``."""
        ...


@dataclass(frozen=True)
class VerificationReport:
    """What a successful ``verify_log`` established. Only ``verify_log`` makes one."""

    checkpoint: Checkpoint
    #: The signed note of ``checkpoint``, to be kept as the next run's trusted checkpoint.
    checkpoint_note: str
    entries_checked: int
    #: The size of the trusted checkpoint this one was proved to extend, if one was given.
    consistent_from: int | None
    _proof: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._proof is not _PROOF:
            raise TypeError("only verify_log makes a VerificationReport")

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        return self.checkpoint.root_hash


def open_checkpoint(note: str, verifier: NoteVerifier, origin: str) -> Checkpoint:
    """Verify a signed checkpoint note under ``verifier`` and check its origin.

    Raises LogVerificationError if the signature, the format or the origin is wrong.
    """
    try:
        return verify_checkpoint(note, verifier, origin)
    except VerificationError:
        raise LogVerificationError(
            f"the checkpoint is not signed by {verifier.vkey} for origin {origin!r}"
        ) from None


async def verify_extension(source: LogSource, trusted: Checkpoint, current: Checkpoint) -> None:
    """Prove that ``current`` extends ``trusted``: the log only grew, nothing was rewritten.

    Both checkpoints must already be verified. Fetches a consistency proof from ``source``
    unless the sizes make it empty. Raises LogVerificationError if the origins differ, the
    log shrank (truncation), or the proof fails (a rewritten history).
    """
    if trusted.origin != current.origin:
        raise LogVerificationError("the trusted checkpoint is of another log")
    if trusted.size > current.size:
        raise LogVerificationError(
            f"the log was truncated: size {current.size} is below the trusted size {trusted.size}"
        )
    if trusted.size in (0, current.size):
        proof: list[bytes] = []
    else:
        proof = await source.consistency_proof(trusted.size, current.size)
    try:
        verify_consistency(trusted.size, current.size, proof, trusted.root_hash, current.root_hash)
    except VerificationError:
        raise LogVerificationError(
            f"the log was rewritten: the checkpoint of size {current.size} does not extend "
            f"the trusted checkpoint of size {trusted.size}"
        ) from None


def _malformed(leaf: bytes, position: int) -> bool:
    # The leaf must say where it sits: a reordered or spliced log fails even if its hashes
    # were rebuilt to match.
    try:
        document = json.loads(leaf)
    except ValueError:
        return True
    if not isinstance(document, dict):
        return True
    index = document.get("index")
    return isinstance(index, bool) or index != position


async def _fetch_leaf_hashes(source: LogSource, size: int) -> tuple[list[bytes], int | None]:
    """All leaf hashes of the first ``size`` entries, and the first malformed position."""
    hashes: list[bytes] = []
    first_malformed: int | None = None
    for start in range(0, size, ENTRIES_PER_CALL):
        end = min(start + ENTRIES_PER_CALL, size)
        page = await source.entries(start, end)
        for offset, leaf in enumerate(page[: end - start]):
            if first_malformed is None and _malformed(leaf, start + offset):
                first_malformed = start + offset
            hashes.append(leaf_hash(leaf))
        if len(page) != end - start:
            # A short page is a missing entry; anything malformed before it came first.
            missing = start + min(len(page), end - start)
            bad = missing if first_malformed is None else first_malformed
            raise LogVerificationError(
                f"the log returned {len(page)} entries for [{start}, {end}) "
                f"(first bad index {bad})",
                index=bad,
            )
    return hashes, first_malformed


def _range_hash(hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) of RFC 9162 §2.1.1 from the leaf hashes."""
    count = end - start
    if count == 1:
        return hashes[start]
    split = start + (1 << ((count - 1).bit_length() - 1))
    return node_hash(_range_hash(hashes, start, split), _range_hash(hashes, split, end))


async def _locate_first_bad(
    source: LogSource, hashes: Sequence[bytes], checkpoint: Checkpoint
) -> int | None:
    """The first entry that disagrees with the subtree hashes behind the signed root.

    Invariant: every leaf before ``a`` is covered by proof hashes that matched our leaves.
    Each round either condemns leaf ``a`` (its own proof fails) or moves ``a`` to the start
    of the leftmost disagreeing subtree on its right. None if the proofs contradict
    themselves so that no progress is possible.
    """
    size, root = checkpoint.size, checkpoint.root_hash
    a = 0
    while True:
        proof = await source.inclusion_proof(a, size)
        try:
            verify_inclusion(hashes[a], a, size, proof, root)
        except VerificationError:
            return a
        disagreeing = []
        for element, stored in zip(inclusion_plan(a, size), proof, strict=True):
            start = min(address.start for address in element)
            end = max(address.end for address in element)
            if not hmac.compare_digest(_range_hash(hashes, start, end), stored):
                disagreeing.append(start)
        # With an honest oracle the subtrees left of ``a`` all agree; only rightward moves
        # are taken, so a contradictory oracle cannot make this loop forever.
        onward = [start for start in disagreeing if start > a]
        if not onward:
            return None
        a = min(onward)


async def verify_log(
    source: LogSource,
    verifier: NoteVerifier,
    origin: str,
    trusted: Checkpoint | None = None,
) -> VerificationReport:
    """Verify the whole log that ``source`` serves against its latest signed checkpoint.

    1. The checkpoint must be signed by ``verifier`` and name ``origin``.
    2. If ``trusted`` (an already verified earlier checkpoint) is given, the new checkpoint
       must extend it: not smaller, and consistent by proof. Checked before downloading the
       entries, so a truncated or forked log fails fast.
    3. Every entry 0..size-1 must be a JSON object whose ``index`` is its position.
    4. The Merkle root of all leaves must equal the checkpoint's root.

    Returns the report on success. Raises LogVerificationError on any failure; its ``index``
    and message name the first bad entry whenever it can be located. Errors of the source
    itself (network, permissions) propagate unchanged.
    """
    # 1. The signed checkpoint.
    note = await source.checkpoint_note()
    checkpoint = open_checkpoint(note, verifier, origin)
    # 2. Append-only since the trusted checkpoint.
    if trusted is not None:
        await verify_extension(source, trusted, checkpoint)
    # 3. Every entry, in order.
    hashes, first_malformed = await _fetch_leaf_hashes(source, checkpoint.size)
    # 4. The root over all leaves.
    frontier = Frontier()
    frontier.extend(hashes)
    if not hmac.compare_digest(frontier.root(), checkpoint.root_hash):
        located = await _locate_first_bad(source, hashes, checkpoint)
        candidates = [i for i in (located, first_malformed) if i is not None]
        bad = min(candidates) if candidates else None
        where = f" (first bad index {bad})" if bad is not None else ""
        raise LogVerificationError(
            f"the entries do not hash to the signed root {b64encode_std(checkpoint.root_hash)} "
            f"of size {checkpoint.size}{where}",
            index=bad,
        )
    if first_malformed is not None:
        raise LogVerificationError(
            f"entry {first_malformed} is not a JSON object carrying its own index "
            f"(first bad index {first_malformed})",
            index=first_malformed,
        )
    return VerificationReport(
        checkpoint=checkpoint,
        checkpoint_note=note,
        entries_checked=len(hashes),
        consistent_from=trusted.size if trusted is not None else None,
        _proof=_PROOF,
    )
