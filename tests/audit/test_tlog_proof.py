"""Tests for service.protocol.tlog_proof: C2SP tlog-proof receipts."""

from dataclasses import dataclass

import pytest

from service.protocol.crypto import SigningPrivateKey, VerificationError, b64encode_std
from service.protocol.merkle import (
    Frontier,
    NodeAddress,
    assemble,
    inclusion_plan,
    leaf_hash,
    plan_addresses,
)
from service.protocol.note import Checkpoint, NoteSigner, sign_checkpoint
from service.protocol.tlog_proof import (
    UnverifiedTlogProof,
    format_tlog_proof,
    parse_tlog_proof,
    verify_tlog_proof,
)

ORIGIN = "liaison.example/audit"

# c2sp.org/tlog-proof, the example (its signatures are elided in the spec, so it can be
# parsed but not verified).
C2SP_PROOF_EXAMPLE = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\u2014 example.com/fancylog hI2DJw[...]1roloI=
\u2014 witness1.example mJirIklj[...]qY9v2B/5bg==
\u2014 witness2.example TnKKVHLX[...]xwYwrSjgow==
\u2014 witness3.example S4X82uH5[...]3oEcROGLFQ==
"""


@dataclass(frozen=True)
class Receipt:
    signer: NoteSigner
    leaves: list[bytes]
    index: int
    text: str


def make_receipt(size: int = 13, index: int = 6, extra: bytes | None = None) -> Receipt:
    leaves = [b'{"index":%d,"event":"alert.submitted"}' % i for i in range(size)]
    frontier = Frontier()
    nodes: dict[NodeAddress, bytes] = {}
    for data in leaves:
        nodes.update(frontier.append(leaf_hash(data)))
    signer = NoteSigner(ORIGIN, SigningPrivateKey.generate())
    note = sign_checkpoint(Checkpoint(ORIGIN, size, frontier.root()), signer)
    plan = inclusion_plan(index, size)
    hashes = assemble(plan, {address: nodes[address] for address in plan_addresses(plan)})
    return Receipt(signer, leaves, index, format_tlog_proof(index, hashes, note, extra))


def test_format_matches_the_spec_layout() -> None:
    receipt = make_receipt()
    lines = receipt.text.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert lines[1] == "index 6"
    assert lines[6] == ""  # four hashes for a leaf of a 13-leaf tree, then the blank line
    assert lines[7:10] == [ORIGIN, "13", lines[9]]
    assert receipt.text.endswith("\n")


def test_round_trip_verifies() -> None:
    receipt = make_receipt()
    checkpoint = verify_tlog_proof(
        receipt.text, receipt.leaves[receipt.index], receipt.signer.verifier, ORIGIN
    )
    assert (checkpoint.origin, checkpoint.size) == (ORIGIN, 13)
    parsed = parse_tlog_proof(receipt.text)
    assert parsed.index == receipt.index
    assert parsed.extra is None
    assert parsed.text() == receipt.text


def test_round_trip_with_extra_data() -> None:
    receipt = make_receipt(extra=b"opaque context")
    assert receipt.text.split("\n")[1] == "extra " + b64encode_std(b"opaque context")
    assert parse_tlog_proof(receipt.text).extra == b"opaque context"
    verify_tlog_proof(receipt.text, receipt.leaves[6], receipt.signer.verifier, ORIGIN)


@pytest.mark.parametrize(("size", "index"), [(1, 0), (2, 1), (8, 0), (8, 7), (1000, 999)])
def test_round_trip_at_tree_edges(size: int, index: int) -> None:
    receipt = make_receipt(size, index)
    checkpoint = verify_tlog_proof(
        receipt.text, receipt.leaves[index], receipt.signer.verifier, ORIGIN
    )
    assert checkpoint.size == size


def test_spec_example_parses() -> None:
    parsed = parse_tlog_proof(C2SP_PROOF_EXAMPLE)
    assert parsed.index == 73894
    assert len(parsed.hashes) == 5
    assert parsed.extra is not None
    assert parsed.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert parsed.checkpoint_note.startswith("example.com/fancylog\n109482\n")
    assert parsed.text() == C2SP_PROOF_EXAMPLE


def test_wrong_leaf_is_rejected() -> None:
    receipt = make_receipt()
    for leaf in (receipt.leaves[5], receipt.leaves[7], receipt.leaves[6] + b" "):
        with pytest.raises(VerificationError):
            verify_tlog_proof(receipt.text, leaf, receipt.signer.verifier, ORIGIN)


def test_wrong_key_or_origin_is_rejected() -> None:
    receipt = make_receipt()
    leaf = receipt.leaves[6]
    other = NoteSigner(ORIGIN, SigningPrivateKey.generate())
    with pytest.raises(VerificationError):
        verify_tlog_proof(receipt.text, leaf, other.verifier, ORIGIN)
    with pytest.raises(VerificationError):
        verify_tlog_proof(receipt.text, leaf, receipt.signer.verifier, "other.example/log")


def _tampered(text: str) -> list[str]:
    lines = text.split("\n")
    hash_line = lines[2]
    flipped = ("B" if hash_line[0] == "A" else "A") + hash_line[1:]
    return [
        text.replace("index 6\n", "index 5\n", 1),
        text.replace("index 6\n", "index 7\n", 1),
        text.replace(hash_line + "\n", flipped + "\n", 1),
        text.replace(hash_line + "\n", "", 1),  # truncated proof
        text.replace(hash_line + "\n", hash_line + "\n" + hash_line + "\n", 1),  # extended
        text.replace(f"\n{ORIGIN}\n13\n", f"\n{ORIGIN}\n14\n", 1),  # checkpoint size
        text.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
        text.replace("index 6\n", "index 06\n", 1),
        text.replace("index 6\n", "index -6\n", 1),
        text.replace("index 6\n", "", 1),
        text.replace(hash_line, hash_line.rstrip("="), 1),
        text.replace(hash_line, hash_line[:-4] + "AAA=", 1),  # 31 bytes
        text.replace("\n\n", "\n", 1),  # no blank line before the checkpoint
        text[: text.index("\n\n") + 2],  # no checkpoint
        "",
    ]


@pytest.mark.parametrize("case", range(15))
def test_tampered_receipts_are_rejected(case: int) -> None:
    receipt = make_receipt()
    tampered = _tampered(receipt.text)[case]
    assert tampered != receipt.text
    with pytest.raises(VerificationError):
        verify_tlog_proof(tampered, receipt.leaves[6], receipt.signer.verifier, ORIGIN)


@pytest.mark.parametrize(
    "text",
    [
        "c2sp.org/tlog-proof@v1\nindex 0\n",
        "c2sp.org/tlog-proof@v1\n\ncheckpoint\n",
        "c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\ncheckpoint\n",
        "c2sp.org/tlog-proof@v1\nextra \nindex 0\n\ncheckpoint\n",
        "c2sp.org/tlog-proof@v1\nindex 0\nextra AA==\n\ncheckpoint\n",
        "c2sp.org/tlog-proof@v1\nindex x\n\ncheckpoint\n",
        "c2sp.org/tlog-proof@v1\nindex 0\n" + b64encode_std(bytes(64)) + "\n\ncheckpoint\n",
        f"c2sp.org/tlog-proof@v1\nindex {1 << 64}\n\ncheckpoint\n",
        "c2sp.org/tlog-proof@v1\nindex 0\n\ncheckpoint",
        "wrong\nindex 0\n\ncheckpoint\n",
    ],
)
def test_malformed_proofs_do_not_parse(text: str) -> None:
    with pytest.raises(ValueError, match="proof"):
        parse_tlog_proof(text)


def test_format_rejects_invalid_parts() -> None:
    note = "checkpoint\n"
    with pytest.raises(ValueError, match="index"):
        format_tlog_proof(-1, [], note)
    with pytest.raises(ValueError, match="hashes"):
        format_tlog_proof(0, [b"short"], note)
    with pytest.raises(ValueError, match="extra"):
        format_tlog_proof(0, [], note, extra=b"")
    with pytest.raises(ValueError, match="checkpoint"):
        format_tlog_proof(0, [], "no newline")
    assert UnverifiedTlogProof(0, (), note).text() == f"c2sp.org/tlog-proof@v1\nindex 0\n\n{note}"
