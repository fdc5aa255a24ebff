"""RFC 9162 Merkle tree hashing over stored hashes of complete subtrees.

Storage model: the audit log keeps the hash of every *complete, aligned* subtree
(a :class:`NodeAddress`) once that subtree exists. Those hashes never change, so
any root, inclusion proof or consistency proof is a fold of O(log n) stored hashes.
Nothing here ever rebuilds a tree from its leaves.

A proof is produced in two steps so that the caller reads storage exactly once:

1. a *plan* (``inclusion_plan``, ``consistency_plan``, ``root_plan``) names, for every
   proof hash, the stored nodes whose fold is that hash;
2. ``assemble`` folds the hashes fetched for ``plan_addresses(plan)``.

The plans reproduce RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1 (PROOF/SUBPROOF) exactly; the
verifiers implement §2.1.3.2 and §2.1.4.2 and raise :class:`VerificationError` on any
mismatch.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from service.protocol.crypto import VerificationError

HASH_SIZE = 32
#: MTH({}) = SHA-256() — the root of the empty tree (RFC 9162 §2.1.1).
EMPTY_ROOT_HASH = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


@dataclass(frozen=True, slots=True, order=True)
class NodeAddress:
    """The complete, aligned subtree covering leaves ``[index * 2**level, (index + 1) * 2**level)``.

    Level 0 addresses are leaf hashes. Hashable, so it keys the mapping of fetched
    hashes; stored as two integer columns. Raises ValueError on a negative field.
    """

    level: int
    index: int

    def __post_init__(self) -> None:
        if self.level < 0 or self.index < 0:
            raise ValueError("node addresses are non-negative")

    @property
    def start(self) -> int:
        """The first leaf index this subtree covers."""
        return self.index << self.level

    @property
    def end(self) -> int:
        """One past the last leaf index this subtree covers."""
        return (self.index + 1) << self.level


#: The stored nodes whose right-to-left fold is one proof hash. One address when the
#: proof hash is a complete subtree; several when it is the incomplete right edge.
ProofElement = tuple[NodeAddress, ...]
#: One element per proof hash, in proof order.
ProofPlan = tuple[ProofElement, ...]


class MissingNodeError(KeyError):
    """A plan needs a stored node hash that the caller did not supply."""


def complete_subtrees(start: int, end: int) -> list[NodeAddress]:
    """Decompose ``[start, end)`` into maximal aligned complete subtrees, left to right.

    For ``start == 0`` this is one subtree per set bit of ``end``, largest first (the
    compact range of a tree of size ``end``). Raises ValueError unless
    ``0 <= start <= end``.
    """
    if not 0 <= start <= end:
        raise ValueError("complete_subtrees needs 0 <= start <= end")
    addresses: list[NodeAddress] = []
    while start < end:
        # The block must be aligned at start (no larger than start's lowest set bit;
        # any size when start is 0) and must fit in what remains of the range.
        fits = (end - start).bit_length() - 1
        aligned = (start & -start).bit_length() - 1 if start else fits
        level = min(fits, aligned)
        addresses.append(NodeAddress(level, start >> level))
        start += 1 << level
    return addresses


def _largest_power_of_two_below(n: int) -> int:
    """The ``k`` of RFC 9162 §2.1.1: the largest power of two strictly smaller than n >= 2."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_element(start: int, end: int) -> ProofElement:
    # MTH(D[start:end]) for an aligned start is the right-to-left fold of this
    # decomposition, because RFC 9162 splits every range at its largest power of two.
    return tuple(complete_subtrees(start, end))


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """Plan the inclusion proof PATH(index, D[size]) of RFC 9162 §2.1.3.1.

    Each element folds to one proof hash; the first is the leaf's sibling, the last the
    root's child. Needs at most ``2 * ceil(log2(size))`` stored nodes. Raises ValueError
    unless ``0 <= index < size``.
    """
    if not 0 <= index < size:
        raise ValueError("inclusion proof needs 0 <= index < size")
    elements: list[ProofElement] = []
    start, end = 0, size
    # Walk down from the root; PATH appends the sibling after the deeper path, so the
    # siblings are collected top-down and reversed at the end.
    while end - start > 1:
        split = start + _largest_power_of_two_below(end - start)
        if index < split:
            elements.append(_range_element(split, end))
            end = split
        else:
            elements.append(_range_element(start, split))
            start = split
    elements.reverse()
    return tuple(elements)


def consistency_plan(old_size: int, new_size: int) -> ProofPlan:
    """Plan the consistency proof PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1.

    Empty when ``old_size == new_size``; when ``old_size`` is a power of two the old root
    is omitted, as SUBPROOF(m, D[m], true) = {} prescribes. Raises ValueError unless
    ``0 < old_size <= new_size``.
    """
    if not 0 < old_size <= new_size:
        raise ValueError("consistency proof needs 0 < old_size <= new_size")
    elements: list[ProofElement] = []
    start, end = 0, new_size
    # The SUBPROOF flag b: true while [start, end) still begins at leaf 0, i.e. while
    # the verifier already knows MTH(D[start:old_size]) as the old root itself.
    old_root_known = True
    while old_size != end:
        split = start + _largest_power_of_two_below(end - start)
        if old_size <= split:
            elements.append(_range_element(split, end))
            end = split
        else:
            elements.append(_range_element(start, split))
            start = split
            old_root_known = False
    if not old_root_known:
        elements.append(_range_element(start, end))
    elements.reverse()
    return tuple(elements)


def root_plan(size: int) -> ProofPlan:
    """Plan the root MTH(D[size]) as a single element; size 0 folds to EMPTY_ROOT_HASH.

    Raises ValueError if ``size`` is negative.
    """
    return (_range_element(0, size),)


def plan_addresses(plan: ProofPlan) -> set[NodeAddress]:
    """Every stored node the plan needs, to be fetched in one query."""
    return {address for element in plan for address in element}


def _stored(hashes: Mapping[NodeAddress, bytes], address: NodeAddress) -> bytes:
    try:
        value = hashes[address]
    except KeyError:
        raise MissingNodeError(address) from None
    if len(value) != HASH_SIZE:
        raise ValueError(f"stored hash for {address} is not {HASH_SIZE} bytes")
    return value


def _fold(element_hashes: Sequence[bytes]) -> bytes:
    if not element_hashes:
        return EMPTY_ROOT_HASH
    folded = element_hashes[-1]
    for left in reversed(element_hashes[:-1]):
        folded = node_hash(left, folded)
    return folded


def assemble(plan: ProofPlan, hashes: Mapping[NodeAddress, bytes]) -> list[bytes]:
    """Fold each plan element's stored hashes (right to left) into one proof hash.

    Raises MissingNodeError if ``hashes`` lacks an address of the plan, and ValueError if
    a stored hash is not 32 bytes.
    """
    return [_fold([_stored(hashes, address) for address in element]) for element in plan]


def _check_hash_argument(value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValueError(f"expected a {HASH_SIZE}-byte hash")


class Frontier:
    """The compact range of a growing tree: one hash per set bit of its size.

    Appending a leaf costs amortised O(1) hashes and reports every complete subtree it
    finishes, which the caller stores; the frontier itself is O(log n) memory.
    """

    __slots__ = ("_nodes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """Build from the hashes of ``complete_subtrees(0, size)``, in that order.

        Raises ValueError on a negative size, a wrong number of hashes, or a hash that
        is not 32 bytes.
        """
        addresses = complete_subtrees(0, size)
        if len(hashes) != len(addresses):
            raise ValueError(f"a tree of size {size} needs {len(addresses)} frontier hashes")
        for value in hashes:
            _check_hash_argument(value)
        self._size = size
        self._nodes: list[tuple[NodeAddress, bytes]] = list(zip(addresses, hashes, strict=True))

    @classmethod
    def from_stored(cls, size: int, hashes: Mapping[NodeAddress, bytes]) -> Frontier:
        """Build from stored node hashes keyed by address (as fetched for ``addresses``).

        Raises MissingNodeError if a frontier node is absent, ValueError as ``__init__``.
        """
        return cls(size, [_stored(hashes, address) for address in complete_subtrees(0, size)])

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    def copy(self) -> Frontier:
        """An independent frontier of the same tree (appending to one leaves the other)."""
        return Frontier(self._size, [value for _, value in self._nodes])

    def addresses(self) -> list[NodeAddress]:
        """The addresses of the frontier nodes, left to right (``complete_subtrees(0, size)``)."""
        return [address for address, _ in self._nodes]

    def root(self) -> bytes:
        """MTH of the current tree; SHA-256 of the empty string when empty."""
        return _fold([value for _, value in self._nodes])

    def append(self, leaf_hash: bytes) -> list[tuple[NodeAddress, bytes]]:
        """Append one leaf hash; return the new complete subtrees, leaf first, to be stored.

        Raises ValueError (leaving the frontier unchanged) if ``leaf_hash`` is not 32 bytes.
        """
        _check_hash_argument(leaf_hash)
        address = NodeAddress(0, self._size)
        current = leaf_hash
        created = [(address, current)]
        # A frontier node at the same level as the new node is its left sibling: merge
        # them, exactly as a binary counter carries.
        while self._nodes and self._nodes[-1][0].level == address.level:
            _, left = self._nodes.pop()
            current = node_hash(left, current)
            address = NodeAddress(address.level + 1, address.index >> 1)
            created.append((address, current))
        self._nodes.append((address, current))
        self._size += 1
        return created

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[tuple[NodeAddress, bytes]]:
        """Append leaf hashes in order; return every new complete subtree to be stored.

        Raises ValueError on the first hash that is not 32 bytes; the leaves before it
        stay appended.
        """
        created: list[tuple[NodeAddress, bytes]] = []
        for value in leaf_hashes:
            created.extend(self.append(value))
        return created


def _require_hashes(*values: bytes) -> None:
    for value in values:
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise VerificationError


def _equal(left: bytes, right: bytes) -> bool:
    return hmac.compare_digest(left, right)


def _lsb(value: int) -> bool:
    return bool(value & 1)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    RFC 9162 §2.1.3.2. Returns None on success; raises VerificationError on any
    mismatch, including a proof of the wrong length or a hash that is not 32 bytes.
    """
    _require_hashes(leaf_hash, root, *proof)
    # 1. If leaf_index is greater than or equal to tree_size, fail.
    if not 0 <= index < size:
        raise VerificationError
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn, sn = index, size - 1
    # 3. Set r to hash.
    r = leaf_hash
    # 4. For each value p in the inclusion_path array:
    for p in proof:
        # a. If sn is 0, stop the iteration and fail the proof verification.
        if sn == 0:
            raise VerificationError
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if _lsb(fn) or fn == sn:
            # i. Set r to HASH(0x01 || p || r).
            r = node_hash(p, r)
            # ii. If LSB(fn) is not set, right-shift fn and sn equally until either
            #     LSB(fn) is set or fn is 0.
            while not _lsb(fn) and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            # Otherwise: i. Set r to HASH(0x01 || r || p).
            r = node_hash(r, p)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. Succeed only if sn is 0 and r equals the root hash.
    if sn != 0 or not _equal(r, root):
        raise VerificationError


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree of ``old_size`` with ``old_root`` is a prefix of the newer one.

    RFC 9162 §2.1.4.2 for ``0 < old_size < new_size``. Outside that range there is
    nothing to prove, so only an empty proof is accepted: for equal sizes the roots must
    be equal, and an old size of 0 needs the empty-tree root. Returns None on success;
    raises VerificationError on any mismatch.
    """
    _require_hashes(old_root, new_root, *proof)
    if old_size < 0 or new_size < old_size:
        raise VerificationError
    if old_size == 0 or old_size == new_size:
        expected_old_root = EMPTY_ROOT_HASH if old_size == 0 else new_root
        if proof or not _equal(old_root, expected_old_root):
            raise VerificationError
        return
    # 1. If consistency_path is an empty array, fail.
    if not proof:
        raise VerificationError
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash to consistency_path.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. If LSB(fn) is set, right-shift fn and sn equally until LSB(fn) is not set.
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        # a. If sn is 0, stop the iteration and fail the proof verification.
        if sn == 0:
            raise VerificationError
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if _lsb(fn) or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr).  ii. Set sr to HASH(0x01 || c || sr).
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # iii. If LSB(fn) is not set, right-shift fn and sn equally until either
            #      LSB(fn) is set or fn is 0.
            while not _lsb(fn) and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            # Otherwise: i. Set sr to HASH(0x01 || sr || c).
            sr = node_hash(sr, c)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. Succeed only if fr equals first_hash, sr equals second_hash and sn is 0.
    if sn != 0 or not _equal(fr, old_root) or not _equal(sr, new_root):
        raise VerificationError
