"""Tests for service.protocol.merkle: published vectors, the RFC reference, the storage model."""

import itertools
import math
from dataclasses import dataclass
from functools import cache

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from service.protocol.crypto import VerificationError
from service.protocol.merkle import (
    EMPTY_ROOT_HASH,
    Frontier,
    MissingNodeError,
    NodeAddress,
    assemble,
    complete_subtrees,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    node_hash,
    plan_addresses,
    root_plan,
    verify_consistency,
    verify_inclusion,
)
from tests.audit import rfc9162_reference as ref

# --- Published vectors ------------------------------------------------------------------
# transparency-dev/merkle, testonly/constants.go (LeafInputs, NodeHashes, RootHashes) and
# proof/verify_test.go (inclusionProofs, consistencyProofs), the successor of the
# certificate-transparency-go merkletree test data. Their inclusion vectors number leaves
# from 1; the indices below are zero-based.

VECTOR_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

VECTOR_NODE_HASHES = {
    NodeAddress(level, index): bytes.fromhex(value)
    for level, row in enumerate(
        [
            [
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
            ],
            [
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            ],
            [
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
            ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
        ]
    )
    for index, value in enumerate(row)
}

VECTOR_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]

# (index, size, proof)
VECTOR_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# (old_size, new_size, proof)
VECTOR_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


@dataclass(frozen=True)
class StoredLog:
    """A log as the database would hold it: leaf inputs, every complete subtree, roots."""

    leaves: list[bytes]
    nodes: dict[NodeAddress, bytes]
    roots: list[bytes]


def build_log(leaves: list[bytes]) -> StoredLog:
    frontier = Frontier()
    nodes: dict[NodeAddress, bytes] = {}
    roots = [frontier.root()]
    for data in leaves:
        for address, value in frontier.append(leaf_hash(data)):
            assert address not in nodes, "a complete subtree is created exactly once"
            nodes[address] = value
        roots.append(frontier.root())
    return StoredLog(leaves, nodes, roots)


MAX_LEAVES = 2100


@cache
def big_log() -> StoredLog:
    return build_log([b"entry %d" % i for i in range(MAX_LEAVES)])


def stored_proof(plan: tuple[tuple[NodeAddress, ...], ...], size: int) -> list[bytes]:
    """Assemble from only the nodes the plan names, which must all exist at ``size``."""
    log = big_log()
    addresses = plan_addresses(plan)
    assert all(address.end <= size for address in addresses), "plan needs a future node"
    return assemble(plan, {address: log.nodes[address] for address in addresses})


# --- Hashing and published vectors -------------------------------------------------------


def test_leaf_and_node_hash_match_vectors() -> None:
    assert leaf_hash(b"") == VECTOR_NODE_HASHES[NodeAddress(0, 0)]
    assert (
        node_hash(VECTOR_NODE_HASHES[NodeAddress(0, 0)], VECTOR_NODE_HASHES[NodeAddress(0, 1)])
        == VECTOR_NODE_HASHES[NodeAddress(1, 0)]
    )


def test_frontier_roots_and_reference_match_published_roots() -> None:
    frontier = Frontier()
    assert frontier.root() == EMPTY_ROOT_HASH == VECTOR_ROOTS[0]
    for size, data in enumerate(VECTOR_LEAVES, start=1):
        frontier.append(leaf_hash(data))
        assert frontier.size == size
        assert frontier.root() == VECTOR_ROOTS[size]
        assert ref.mth(VECTOR_LEAVES[:size]) == VECTOR_ROOTS[size]


def test_appending_stores_exactly_the_published_node_hashes() -> None:
    assert build_log(VECTOR_LEAVES).nodes == VECTOR_NODE_HASHES


def test_root_plan_assembles_published_roots() -> None:
    for size in range(len(VECTOR_ROOTS)):
        assert assemble(root_plan(size), VECTOR_NODE_HASHES) == [VECTOR_ROOTS[size]]


@pytest.mark.parametrize(("index", "size", "expected"), VECTOR_INCLUSION)
def test_inclusion_vectors(index: int, size: int, expected: list[str]) -> None:
    proof = assemble(inclusion_plan(index, size), VECTOR_NODE_HASHES)
    assert [h.hex() for h in proof] == expected
    assert [h.hex() for h in ref.path(index, VECTOR_LEAVES[:size])] == expected
    leaf = leaf_hash(VECTOR_LEAVES[index])
    verify_inclusion(leaf, index, size, proof, VECTOR_ROOTS[size])
    assert ref.verify_inclusion(leaf, index, size, proof, VECTOR_ROOTS[size])


@pytest.mark.parametrize(("old_size", "new_size", "expected"), VECTOR_CONSISTENCY)
def test_consistency_vectors(old_size: int, new_size: int, expected: list[str]) -> None:
    proof = assemble(consistency_plan(old_size, new_size), VECTOR_NODE_HASHES)
    assert [h.hex() for h in proof] == expected
    assert [h.hex() for h in ref.proof(old_size, VECTOR_LEAVES[:new_size])] == expected
    verify_consistency(old_size, new_size, proof, VECTOR_ROOTS[old_size], VECTOR_ROOTS[new_size])


def _corrupted_inclusion(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[bytes, int, int, list[bytes], bytes]]:
    # The probes of transparency-dev/merkle proof/verify_test.go, corruptInclusionProof.
    probes = [
        (leaf, index - 1, size, proof, root),
        (leaf, index + 1, size, proof, root),
        (leaf, index ^ 2, size, proof, root),
        (leaf, index, size * 2, proof, root),
        (leaf, index, size // 2, proof, root),
        (b"WrongLeaf", index, size, proof, root),
        (leaf, index, size, proof, EMPTY_ROOT_HASH),
        (leaf, index, size, proof, SOME_HASH),
        (leaf, index, size, [*proof, b""], root),
        (leaf, index, size, [*proof, root], root),
        (leaf, index, size, [b"", *proof], root),
        (leaf, index, size, [root, *proof], root),
    ]
    for position in range(len(proof)):
        flipped = list(proof)
        flipped[position] = bytes([flipped[position][0] ^ 8]) + flipped[position][1:]
        probes.append((leaf, index, size, flipped, root))
    if proof:
        probes.append((leaf, index, size, proof[:-1], root))
    if len(proof) > 1:
        probes.append((leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root))
    return probes


@pytest.mark.parametrize(("index", "size", "expected"), VECTOR_INCLUSION[1:])
def test_corrupted_inclusion_vectors_fail(index: int, size: int, expected: list[str]) -> None:
    proof = [bytes.fromhex(h) for h in expected]
    leaf = leaf_hash(VECTOR_LEAVES[index])
    for probe in _corrupted_inclusion(index, size, proof, VECTOR_ROOTS[size], leaf):
        with pytest.raises(VerificationError):
            verify_inclusion(*probe)


@pytest.mark.parametrize(("old_size", "new_size", "expected"), VECTOR_CONSISTENCY[1:])
def test_corrupted_consistency_vectors_fail(
    old_size: int, new_size: int, expected: list[str]
) -> None:
    proof = [bytes.fromhex(h) for h in expected]
    old_root, new_root = VECTOR_ROOTS[old_size], VECTOR_ROOTS[new_size]
    # The probes of transparency-dev/merkle proof/verify_test.go, corruptConsistencyProof.
    probes = [
        (old_size - 1, new_size, proof, old_root, new_root),
        (old_size + 1, new_size, proof, old_root, new_root),
        (old_size ^ 2, new_size, proof, old_root, new_root),
        (old_size, new_size * 2, proof, old_root, new_root),
        (old_size, new_size // 2, proof, old_root, new_root),
        (old_size, new_size, proof, b"WrongRoot", new_root),
        (old_size, new_size, proof, old_root, b"WrongRoot"),
        (old_size, new_size, proof, SOME_HASH, new_root),
        (old_size, new_size, proof, old_root, SOME_HASH),
        (old_size, new_size, proof, new_root, old_root),
        (old_size, new_size, [], old_root, new_root),
        (old_size, new_size, [*proof, b""], old_root, new_root),
        (old_size, new_size, [*proof, old_root], old_root, new_root),
        (old_size, new_size, [*proof, new_root], old_root, new_root),
        (old_size, new_size, [b"", *proof], old_root, new_root),
        (old_size, new_size, [old_root, *proof], old_root, new_root),
        (old_size, new_size, [new_root, *proof], old_root, new_root),
        (old_size, new_size, [proof[0], *proof], old_root, new_root),
        (old_size, new_size, proof[:-1], old_root, new_root),
    ]
    for position in range(len(proof)):
        flipped = list(proof)
        flipped[position] = bytes([flipped[position][0] ^ 16]) + flipped[position][1:]
        probes.append((old_size, new_size, flipped, old_root, new_root))
    for probe in probes:
        with pytest.raises(VerificationError):
            verify_consistency(*probe)


@pytest.mark.parametrize(
    ("old_size", "new_size", "old_root", "new_root", "proof", "accepted"),
    [
        # Nothing to prove: the empty tree and a tree consistent with itself.
        (0, 0, EMPTY_ROOT_HASH, EMPTY_ROOT_HASH, [], True),
        (0, 5, EMPTY_ROOT_HASH, VECTOR_ROOTS[5], [], True),
        (1, 1, VECTOR_ROOTS[1], VECTOR_ROOTS[1], [], True),
        (8, 8, VECTOR_ROOTS[8], VECTOR_ROOTS[8], [], True),
        # The old root of an empty tree must be the empty-tree hash.
        (0, 5, SOME_HASH, VECTOR_ROOTS[5], [], False),
        # Equal sizes need equal roots and an empty proof.
        (1, 1, VECTOR_ROOTS[1], VECTOR_ROOTS[2], [], False),
        (0, 0, EMPTY_ROOT_HASH, EMPTY_ROOT_HASH, [EMPTY_ROOT_HASH], False),
        (0, 1, EMPTY_ROOT_HASH, VECTOR_ROOTS[1], [EMPTY_ROOT_HASH], False),
        (1, 1, VECTOR_ROOTS[1], VECTOR_ROOTS[1], [VECTOR_ROOTS[1]], False),
        # Time travel, negative sizes and empty proofs for real growth.
        (1, 0, VECTOR_ROOTS[1], EMPTY_ROOT_HASH, [], False),
        (2, 1, VECTOR_ROOTS[2], VECTOR_ROOTS[1], [], False),
        (-1, 1, VECTOR_ROOTS[1], VECTOR_ROOTS[1], [], False),
        (1, 2, VECTOR_ROOTS[1], VECTOR_ROOTS[2], [], False),
    ],
)
def test_consistency_edge_cases(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: list[bytes],
    accepted: bool,
) -> None:
    if accepted:
        verify_consistency(old_size, new_size, proof, old_root, new_root)  # must not raise
    else:
        with pytest.raises(VerificationError):
            verify_consistency(old_size, new_size, proof, old_root, new_root)


def test_inclusion_rejects_out_of_range_and_malformed_hashes() -> None:
    leaf = leaf_hash(b"data")
    verify_inclusion(leaf, 0, 1, [], leaf)
    for index, size in [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 1)]:
        with pytest.raises(VerificationError):
            verify_inclusion(leaf, index, size, [], leaf)
    with pytest.raises(VerificationError):
        verify_inclusion(leaf, 0, 1, [], b"")
    with pytest.raises(VerificationError):
        verify_inclusion(b"", 0, 1, [], leaf)
    with pytest.raises(VerificationError):
        verify_inclusion(leaf + b"\x00", 0, 1, [], leaf + b"\x00")


# --- Ranges and plans --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 0, []),
        (0, 1, [(0, 0)]),
        (0, 7, [(2, 0), (1, 2), (0, 6)]),
        (0, 8, [(3, 0)]),
        (3, 13, [(0, 3), (2, 1), (2, 2), (0, 12)]),
        (5, 6, [(0, 5)]),
        (6, 6, []),
    ],
)
def test_complete_subtrees_examples(start: int, end: int, expected: list[tuple[int, int]]) -> None:
    assert complete_subtrees(start, end) == [NodeAddress(*pair) for pair in expected]


@given(st.integers(0, 1 << 40), st.integers(0, 1 << 40))
def test_complete_subtrees_tile_the_range_with_maximal_aligned_blocks(
    start: int, span: int
) -> None:
    end = start + span
    addresses = complete_subtrees(start, end)
    position = start
    for address in addresses:
        assert address.start == position
        position = address.end
    assert position == end
    # Maximal: no two neighbours at the same level could merge into their aligned parent.
    for left, right in itertools.pairwise(addresses):
        assert not (left.level == right.level and left.index % 2 == 0)
    assert len(addresses) <= 2 * max(1, span.bit_length())


@pytest.mark.parametrize(("start", "end"), [(-1, 3), (4, 3)])
def test_complete_subtrees_rejects_bad_ranges(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="start"):
        complete_subtrees(start, end)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (5, 5), (6, 5), (-1, 3)])
def test_inclusion_plan_rejects_bad_arguments(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="index"):
        inclusion_plan(index, size)


@pytest.mark.parametrize(("old_size", "new_size"), [(0, 0), (0, 5), (6, 5), (-1, 1)])
def test_consistency_plan_rejects_bad_arguments(old_size: int, new_size: int) -> None:
    with pytest.raises(ValueError, match="old_size"):
        consistency_plan(old_size, new_size)


def test_root_plan_rejects_negative_size() -> None:
    with pytest.raises(ValueError, match="start"):
        root_plan(-1)


def test_consistency_plan_special_cases() -> None:
    # m == n: SUBPROOF(m, D[m], true) is empty.
    assert consistency_plan(7, 7) == ()
    # m a power of two: the old root itself is not part of the proof.
    assert consistency_plan(4, 8) == (((NodeAddress(2, 1),),))
    # The incomplete right edge of a tree is one element of several nodes.
    assert consistency_plan(4, 7) == (((NodeAddress(1, 2), NodeAddress(0, 6)),))


def test_assemble_names_the_missing_node() -> None:
    plan = inclusion_plan(0, 8)
    partial = dict(VECTOR_NODE_HASHES)
    del partial[NodeAddress(2, 1)]
    with pytest.raises(MissingNodeError) as raised:
        assemble(plan, partial)
    assert raised.value.args == (NodeAddress(2, 1),)


def _log_bound(n: int) -> int:
    return 2 * math.ceil(math.log2(n)) + 2


@pytest.mark.parametrize("exponent", range(21))
def test_plans_need_logarithmically_many_nodes(exponent: int) -> None:
    for n in {max(1, (1 << exponent) + delta) for delta in (-1, 0, 1, 1 << max(0, exponent - 1))}:
        bound = _log_bound(n) if n > 1 else 2
        for index in {i for i in (0, 1, n // 3, n // 2, n - 2, n - 1) if 0 <= i < n}:
            plan = inclusion_plan(index, n)
            assert len(plan_addresses(plan)) <= bound
            assert all(address.end <= n for address in plan_addresses(plan))
        for m in {m for m in (1, 2, n // 3, n // 2, n - 1, n) if 0 < m <= n}:
            plan = consistency_plan(m, n)
            assert len(plan_addresses(plan)) <= bound
            assert all(address.end <= n for address in plan_addresses(plan))
        assert len(plan_addresses(root_plan(n))) <= n.bit_length()


# --- Against the independent RFC reference -----------------------------------------------

SMALL = 33


@pytest.mark.parametrize("size", range(1, SMALL))
def test_every_small_proof_equals_the_reference(size: int) -> None:
    log = big_log()
    leaves = log.leaves[:size]
    root = log.roots[size]
    assert ref.mth(leaves) == root
    for index in range(size):
        proof = stored_proof(inclusion_plan(index, size), size)
        assert proof == ref.path(index, leaves)
        verify_inclusion(leaf_hash(leaves[index]), index, size, proof, root)
    for old_size in range(1, size + 1):
        proof = stored_proof(consistency_plan(old_size, size), size)
        assert proof == ref.proof(old_size, leaves)
        verify_consistency(old_size, size, proof, log.roots[old_size], root)


def inclusion_cases() -> st.SearchStrategy[tuple[int, int]]:
    return st.integers(1, MAX_LEAVES).flatmap(
        lambda size: st.tuples(st.integers(0, size - 1), st.just(size))
    )


def consistency_cases() -> st.SearchStrategy[tuple[int, int]]:
    return st.integers(1, MAX_LEAVES).flatmap(
        lambda size: st.tuples(st.integers(1, size), st.just(size))
    )


@settings(max_examples=300, deadline=None)
@given(inclusion_cases())
@example((0, 1))
@example((1023, 1024))
@example((1024, 1025))
@example((MAX_LEAVES - 1, MAX_LEAVES))
def test_inclusion_proofs_equal_reference_and_verify(case: tuple[int, int]) -> None:
    index, size = case
    log = big_log()
    leaves, root, leaf = log.leaves[:size], log.roots[size], leaf_hash(log.leaves[index])
    assert ref.mth(leaves) == root
    proof = stored_proof(inclusion_plan(index, size), size)
    assert proof == ref.path(index, leaves)
    verify_inclusion(leaf, index, size, proof, root)
    assert ref.verify_inclusion(leaf, index, size, proof, root)

    # Every proof hash feeds the result, so any single bit flip must fail.
    for position in range(len(proof)):
        flipped = list(proof)
        flipped[position] = bytes([proof[position][0] ^ 1]) + proof[position][1:]
        with pytest.raises(VerificationError):
            verify_inclusion(leaf, index, size, flipped, root)
    with pytest.raises(VerificationError):
        verify_inclusion(leaf, index, size, [*proof, root], root)
    if proof:
        with pytest.raises(VerificationError):
            verify_inclusion(leaf, index, size, proof[:-1], root)
    # A wrong index or size may only verify where the RFC algorithm itself accepts it
    # (the RFC's indices are unsigned, so negative ones are left to the edge-case test).
    wrong = [(index + 1, size), (index - 1, size), (index, size + 1), (index, size - 1)]
    for wrong_index, wrong_size in [(i, n) for i, n in wrong if i >= 0]:
        expected = ref.verify_inclusion(leaf, wrong_index, wrong_size, proof, root)
        assert expected == _accepts_inclusion(leaf, wrong_index, wrong_size, proof, root)


def _accepts_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except VerificationError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(consistency_cases())
@example((1, 1))
@example((1024, 1024))
@example((1024, 2048))
@example((512, MAX_LEAVES))
@example((1023, 1025))
def test_consistency_proofs_equal_reference_and_verify(case: tuple[int, int]) -> None:
    old_size, new_size = case
    log = big_log()
    old_root, new_root = log.roots[old_size], log.roots[new_size]
    proof = stored_proof(consistency_plan(old_size, new_size), new_size)
    assert proof == ref.proof(old_size, log.leaves[:new_size])
    verify_consistency(old_size, new_size, proof, old_root, new_root)
    if old_size < new_size:
        assert ref.verify_consistency(old_size, new_size, old_root, new_root, proof)
    else:
        assert proof == []

    for position in range(len(proof)):
        flipped = list(proof)
        flipped[position] = bytes([proof[position][0] ^ 1]) + proof[position][1:]
        with pytest.raises(VerificationError):
            verify_consistency(old_size, new_size, flipped, old_root, new_root)
    with pytest.raises(VerificationError):
        verify_consistency(old_size, new_size, [*proof, new_root], old_root, new_root)
    if proof:
        with pytest.raises(VerificationError):
            verify_consistency(old_size, new_size, proof[:-1], old_root, new_root)
    # Each root must be bound by the proof, whichever one is wrong.
    for wrong_old, wrong_new in [(SOME_HASH, new_root), (old_root, SOME_HASH)]:
        with pytest.raises(VerificationError):
            verify_consistency(old_size, new_size, proof, wrong_old, wrong_new)
    if old_root != new_root:
        with pytest.raises(VerificationError):
            verify_consistency(old_size, new_size, proof, new_root, old_root)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, MAX_LEAVES), st.integers(0, 64))
def test_frontier_resumes_from_stored_nodes(size: int, more: int) -> None:
    log = big_log()
    more = min(more, MAX_LEAVES - size)
    frontier = Frontier.from_stored(size, log.nodes)
    assert frontier.addresses() == complete_subtrees(0, size)
    assert frontier.root() == log.roots[size] == assemble(root_plan(size), log.nodes)[0]
    created = frontier.extend(leaf_hash(data) for data in log.leaves[size : size + more])
    assert dict(created) == {
        address: value for address, value in log.nodes.items() if size < address.end <= size + more
    }
    assert frontier.root() == log.roots[size + more]


# --- Frontier --------------------------------------------------------------------------


def test_appending_a_batch_to_a_huge_tree_touches_only_new_nodes() -> None:
    size = (1 << 40) + 12345
    frontier = Frontier(size, [SOME_HASH] * size.bit_count())
    batch = 1000
    created = frontier.extend(leaf_hash(b"%d" % i) for i in range(batch))
    # Exactly the complete subtrees whose last leaf is in the batch: no O(n) work.
    expected = sum(((size + batch) >> level) - (size >> level) for level in range(42))
    assert len(created) == expected <= 2 * batch + size.bit_length()
    assert frontier.size == size + batch
    assert frontier.addresses() == complete_subtrees(0, size + batch)


def test_frontier_rejects_bad_input_and_stays_unchanged() -> None:
    with pytest.raises(ValueError, match="frontier hashes"):
        Frontier(3, [SOME_HASH])
    with pytest.raises(ValueError, match="32-byte"):
        Frontier(1, [b"short"])
    with pytest.raises(ValueError, match="start"):
        Frontier(-1)
    frontier = Frontier(1, [SOME_HASH])
    with pytest.raises(ValueError, match="32-byte"):
        frontier.append(b"not a hash")
    assert frontier.size == 1
    assert frontier.root() == SOME_HASH
    with pytest.raises(MissingNodeError):
        Frontier.from_stored(2, {})
