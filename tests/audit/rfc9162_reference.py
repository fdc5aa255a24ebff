"""An independent, deliberately naive reference of RFC 9162 §2.1, for tests only.

Written straight from the RFC text over a list of leaf inputs D[n], recursing exactly as
the definitions do. It shares no code with ``service.protocol.merkle`` so the two can check
each other. The verifiers return a bool, as the RFC's prose does.
"""

import hashlib
from collections.abc import Sequence


def hash_(data: bytes) -> bytes:
    """HASH, SHA-256 in this profile."""
    return hashlib.sha256(data).digest()


def largest_power_of_two_smaller_than(n: int) -> int:
    """k such that k < n <= 2k, for n > 1 (RFC 9162 §2.1.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1."""
    n = len(d)
    if n == 0:
        # MTH({}) = HASH().
        return hash_(b"")
    if n == 1:
        # MTH({d(0)}) = HASH(0x00 || d(0)).
        return hash_(b"\x00" + d[0])
    # MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
    k = largest_power_of_two_smaller_than(n)
    return hash_(b"\x01" + mth(d[0:k]) + mth(d[k:n]))


def path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, for 0 <= m < n."""
    n = len(d)
    if not 0 <= m < n:
        raise ValueError("PATH needs 0 <= m < n")
    if n == 1:
        # PATH(0, {d(0)}) = {}.
        return []
    k = largest_power_of_two_smaller_than(n)
    if m < k:
        # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]).
        return [*path(m, d[0:k]), mth(d[k:n])]
    # PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k]).
    return [*path(m - k, d[k:n]), mth(d[0:k])]


def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1."""
    n = len(d)
    if m == n:
        # SUBPROOF(m, D[m], true) = {};  SUBPROOF(m, D[m], false) = {MTH(D[m])}.
        return [] if b else [mth(d)]
    k = largest_power_of_two_smaller_than(n)
    if m <= k:
        # SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n]).
        return [*subproof(m, d[0:k], b), mth(d[k:n])]
    # SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]).
    return [*subproof(m - k, d[k:n], False), mth(d[0:k])]


def proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of RFC 9162 §2.1.4.1, for 0 < m <= n."""
    if not 0 < m <= len(d):
        raise ValueError("PROOF needs 0 < m <= n")
    return subproof(m, d, True)


def verify_inclusion(
    hash_value: bytes,
    leaf_index: int,
    tree_size: int,
    inclusion_path: Sequence[bytes],
    root_hash: bytes,
) -> bool:
    """The algorithm of RFC 9162 §2.1.3.2, step by step."""
    # 1.
    if leaf_index >= tree_size:
        return False
    # 2.
    fn = leaf_index
    sn = tree_size - 1
    # 3.
    r = hash_value
    # 4.
    for p in inclusion_path:
        # a.
        if sn == 0:
            return False
        # b.
        if fn % 2 == 1 or fn == sn:
            r = hash_(b"\x01" + p + r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
        else:
            r = hash_(b"\x01" + r + p)
        # c.
        fn //= 2
        sn //= 2
    # 5.
    return sn == 0 and r == root_hash


def verify_consistency(
    first: int,
    second: int,
    first_hash: bytes,
    second_hash: bytes,
    consistency_path: Sequence[bytes],
) -> bool:
    """The algorithm of RFC 9162 §2.1.4.2, step by step, for 0 < first < second."""
    if not 0 < first < second:
        return False
    # 1.
    if len(consistency_path) == 0:
        return False
    path_ = list(consistency_path)
    # 2.
    if first & (first - 1) == 0:
        path_ = [first_hash, *path_]
    # 3.
    fn = first - 1
    sn = second - 1
    # 4.
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    # 5.
    fr = path_[0]
    sr = path_[0]
    # 6.
    for c in path_[1:]:
        # a.
        if sn == 0:
            return False
        # b.
        if fn % 2 == 1 or fn == sn:
            fr = hash_(b"\x01" + c + fr)
            sr = hash_(b"\x01" + c + sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
        else:
            sr = hash_(b"\x01" + sr + c)
        # c.
        fn //= 2
        sn //= 2
    # 7.
    return fr == first_hash and sr == second_hash and sn == 0
