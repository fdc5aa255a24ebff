"""Tests for service.protocol.note: C2SP signed notes and checkpoints."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.protocol.crypto import (
    KeyFormatError,
    SigningPrivateKey,
    VerificationError,
    b64decode_std,
    b64encode_std,
)
from service.protocol.note import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    note_key_id,
    open_note,
    parse_checkpoint_body,
    sign_checkpoint,
    verify_checkpoint,
)

# c2sp.org/signed-note, "Verifier keys", example: the key, its ID and a note it signed.
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n"
    "\n"
    "\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

# golang.org/x/mod/sumdb/note, example_test.go (ExampleSign / ExampleOpen): the private
# key is 0x01 || Ed25519 seed, so signing must reproduce the published note exactly.
GO_SKEY_DATA = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

# c2sp.org/tlog-checkpoint, the example note text.
C2SP_CHECKPOINT_BODY = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)

ORIGIN = "liaison.example/audit"


def go_signer() -> NoteSigner:
    seed = b64decode_std(GO_SKEY_DATA)[1:]
    return NoteSigner("PeterNeumann", SigningPrivateKey(seed=seed, kid="go-example"))


def new_signer(name: str = ORIGIN) -> NoteSigner:
    return NoteSigner(name, SigningPrivateKey.generate())


def signature_line(note: str) -> str:
    return note[note.rindex("\n\n") + 2 :]


# --- Published vectors -------------------------------------------------------------------


def test_c2sp_example_key_and_note_verify() -> None:
    verifier = NoteVerifier.from_vkey(C2SP_VKEY)
    assert verifier.name == "example.com/foo"
    assert verifier.key_id.hex() == "530d903a"
    assert note_key_id(verifier.name, verifier.public_key.raw).hex() == "530d903a"
    assert verifier.vkey == C2SP_VKEY
    assert open_note(C2SP_NOTE, verifier) == "This is an example message.\n"


def test_c2sp_example_fails_when_tampered() -> None:
    verifier = NoteVerifier.from_vkey(C2SP_VKEY)
    with pytest.raises(VerificationError):
        open_note(C2SP_NOTE.replace("example message", "example massage"), verifier)


def test_go_example_signing_is_reproduced_byte_for_byte() -> None:
    signer = go_signer()
    assert signer.vkey == GO_VKEY
    assert signer.key_id.hex() == "c74f20a3"
    assert signer.sign(GO_TEXT) == GO_NOTE
    assert open_note(GO_NOTE, NoteVerifier.from_vkey(GO_VKEY)) == GO_TEXT


# --- Round trips and verification rules -------------------------------------------------

note_texts = st.lists(
    st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40), min_size=1, max_size=6
).map(lambda lines: "".join(f"{line}\n" for line in lines))


@settings(max_examples=50, deadline=None)
@given(note_texts)
def test_any_valid_text_round_trips(text: str) -> None:
    signer = go_signer()
    note = signer.sign(text)
    assert note.startswith(text + "\n\u2014 PeterNeumann ")
    assert open_note(note, signer.verifier) == text


def test_signer_and_parsed_vkey_agree() -> None:
    signer = new_signer()
    parsed = NoteVerifier.from_vkey(signer.vkey)
    assert parsed == signer.verifier
    assert parsed.key_id == note_key_id(ORIGIN, signer.verifier.public_key.raw)
    assert signer.vkey.startswith(f"{ORIGIN}+{signer.key_id.hex()}+")


def test_text_may_contain_blank_lines() -> None:
    signer = new_signer()
    text = "first\n\nthird\n\n"
    assert open_note(signer.sign(text), signer.verifier) == text


def test_tampered_body_is_rejected() -> None:
    signer = new_signer()
    note = signer.sign("a\nb\n")
    with pytest.raises(VerificationError):
        open_note(note.replace("b\n", "c\n", 1), signer.verifier)


def test_tampered_signature_is_rejected() -> None:
    signer = new_signer()
    note = signer.sign("body\n")
    name_part, encoded = note.rsplit(" ", 1)
    raw = bytearray(b64decode_std(encoded.strip()))
    raw[-1] ^= 1
    with pytest.raises(VerificationError):
        open_note(f"{name_part} {b64encode_std(bytes(raw))}\n", signer.verifier)


def test_note_signed_by_another_key_is_rejected() -> None:
    # Same name, different key: the key IDs differ, so the signature is unknown.
    note = new_signer().sign("body\n")
    with pytest.raises(VerificationError):
        open_note(note, new_signer().verifier)
    with pytest.raises(VerificationError):
        open_note(note, new_signer("other.example/log").verifier)


def test_signatures_from_unknown_keys_are_ignored() -> None:
    signer, witness = new_signer(), new_signer("witness.example")
    text = "body\n"
    note = signer.sign(text) + signature_line(witness.sign(text))
    assert open_note(note, signer.verifier) == text
    assert open_note(note, witness.verifier) == text
    # Unknown keys before ours, sharing our name or our key ID but not both.
    same_name = signature_line(new_signer().sign(text))
    same_id = f"\u2014 other.example {b64encode_std(signer.key_id + bytes(64))}\n"
    reordered = text + "\n" + same_name + same_id + signature_line(signer.sign(text))
    assert open_note(reordered, signer.verifier) == text


def test_failing_signature_by_the_known_key_rejects_the_note() -> None:
    signer = new_signer()
    text = "body\n"
    forged = f"\u2014 {ORIGIN} {b64encode_std(signer.key_id + bytes(64))}\n"
    with pytest.raises(VerificationError):
        open_note(signer.sign(text) + forged, signer.verifier)
    with pytest.raises(VerificationError):
        open_note(text + "\n" + forged + signature_line(signer.sign(text)), signer.verifier)


def test_sixteen_foreign_signatures_are_accepted() -> None:
    signer = new_signer()
    text = "body\n"
    witnesses = "".join(signature_line(new_signer(f"w{i}.example").sign(text)) for i in range(16))
    assert open_note(signer.sign(text) + witnesses, signer.verifier) == text


def test_too_many_signatures_are_rejected() -> None:
    signer = new_signer()
    text = "body\n"
    foreign = signature_line(new_signer("w.example").sign(text))
    with pytest.raises(VerificationError):
        open_note(signer.sign(text) + foreign * 100, signer.verifier)


def _malformed_notes() -> list[str]:
    signer = go_signer()
    good = signer.sign("body\n")
    line = signature_line(good)
    encoded = line.rsplit(" ", 1)[1].strip()
    return [
        "",
        "body\n",
        good[:-1],  # no final newline
        "body\n" + line,  # no blank line
        "body\n\n",  # no signature line
        good + "\n",  # blank line after the signatures
        good.replace("\u2014 ", "-- "),
        good.replace("\u2014 ", "\u2014"),
        good.replace(" " + encoded, ""),  # no signature
        good.replace(encoded, encoded[:-4]),  # bad base64 length
        good.replace(encoded, "!" + encoded[1:]),  # not base64
        good.replace(encoded, b64encode_std(signer.key_id)),  # key ID only
        good.replace("PeterNeumann", "Peter+Neumann"),
        good.replace("PeterNeumann", "Peter\u00a0Neumann"),
        good.replace("\u2014 PeterNeumann", "\u2014 "),  # empty name
        good.replace("body", "bo\rdy"),
        good.replace("body", "bo\tdy"),
        good.replace("body", "bo\x00dy"),
        good.replace("body", "bo\ud800dy"),  # not encodable as UTF-8
        good + "body\n",
    ]


@pytest.mark.parametrize("note", _malformed_notes())
def test_malformed_notes_are_rejected(note: str) -> None:
    with pytest.raises(VerificationError):
        open_note(note, go_signer().verifier)


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "example.com/foo",
        "example.com/foo+530d903a",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d90+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/ foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # type 0x02
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2kAA==",
    ],
)
def test_malformed_verifier_keys_are_rejected(vkey: str) -> None:
    with pytest.raises(KeyFormatError):
        NoteVerifier.from_vkey(vkey)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\nb", "a\u2003b"])
def test_signer_rejects_invalid_names(name: str) -> None:
    with pytest.raises(ValueError, match="key name"):
        NoteSigner(name, SigningPrivateKey.generate())


@pytest.mark.parametrize("text", ["", "no newline", "tab\there\n", "cr\r\n"])
def test_signer_rejects_invalid_text(text: str) -> None:
    with pytest.raises(ValueError, match="newline"):
        go_signer().sign(text)


# --- Checkpoints -------------------------------------------------------------------------


def test_checkpoint_body_format() -> None:
    checkpoint = Checkpoint(ORIGIN, 5, bytes(range(32)))
    assert checkpoint.body() == f"{ORIGIN}\n5\n{b64encode_std(bytes(range(32)))}\n"
    extended = Checkpoint(ORIGIN, 0, bytes(32), ("ext one", "ext two"))
    assert extended.body().endswith("\next one\next two\n")
    assert parse_checkpoint_body(extended.body()) == extended


def test_c2sp_example_checkpoint_body_parses() -> None:
    checkpoint = parse_checkpoint_body(C2SP_CHECKPOINT_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == b64decode_std("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == C2SP_CHECKPOINT_BODY


@pytest.mark.parametrize(
    "body",
    [
        "",
        "origin\n5\n",
        f"origin\n5\n{b64encode_std(bytes(32))}",  # no final newline
        f"\n5\n{b64encode_std(bytes(32))}\n",
        f"origin\n05\n{b64encode_std(bytes(32))}\n",
        f"origin\n+5\n{b64encode_std(bytes(32))}\n",
        f"origin\n 5\n{b64encode_std(bytes(32))}\n",
        f"origin\n\u0665\n{b64encode_std(bytes(32))}\n",  # a non-ASCII digit
        f"origin\n-1\n{b64encode_std(bytes(32))}\n",
        f"origin\n{1 << 64}\n{b64encode_std(bytes(32))}\n",
        f"origin\n5\n{b64encode_std(bytes(31))}\n",
        "origin\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",  # non-canonical
        f"origin\n5\n{b64encode_std(bytes(32)).rstrip('=')}\n",
        f"origin\n5\n{b64encode_std(bytes(32))}\n\n",  # empty extension line
        f"origin\n5\n{b64encode_std(bytes(32))}\next\n\nmore\n",
    ],
)
def test_malformed_checkpoint_bodies_are_rejected(body: str) -> None:
    with pytest.raises(ValueError, match=r"checkpoint|size|root"):
        parse_checkpoint_body(body)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, bytes(32), ()),
        ("two\nlines", 1, bytes(32), ()),
        (ORIGIN, -1, bytes(32), ()),
        (ORIGIN, 1 << 64, bytes(32), ()),
        (ORIGIN, True, bytes(32), ()),
        (ORIGIN, 1, bytes(31), ()),
        (ORIGIN, 1, bytes(32), ("",)),
        (ORIGIN, 1, bytes(32), ("a\nb",)),
    ],
)
def test_checkpoint_rejects_invalid_fields(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="checkpoint"):
        Checkpoint(origin, size, root, extensions)


def test_signed_checkpoint_round_trip() -> None:
    signer = new_signer()
    checkpoint = Checkpoint(ORIGIN, 1234, bytes(range(32)))
    note = sign_checkpoint(checkpoint, signer)
    assert note.startswith(checkpoint.body() + "\n\u2014 " + ORIGIN + " ")
    assert verify_checkpoint(note, signer.verifier) == checkpoint
    assert verify_checkpoint(note, signer.verifier, origin=ORIGIN) == checkpoint


def test_checkpoint_verification_failures() -> None:
    signer = new_signer()
    checkpoint = Checkpoint(ORIGIN, 1234, bytes(range(32)))
    note = sign_checkpoint(checkpoint, signer)
    with pytest.raises(VerificationError):
        verify_checkpoint(note, signer.verifier, origin="other.example/log")
    with pytest.raises(VerificationError):
        verify_checkpoint(note.replace("\n1234\n", "\n1235\n"), signer.verifier)
    with pytest.raises(VerificationError):
        verify_checkpoint(note, new_signer().verifier)
    # A correctly signed note whose text is not a checkpoint.
    with pytest.raises(VerificationError):
        verify_checkpoint(signer.sign(f"{ORIGIN}\n01\nroot\n"), signer.verifier)
