"""Test vectors for the wire contract, written to ``docs/vectors/`` by
``python -m service.protocol.vectors [--out DIR]``.

Every vector is built by the protocol functions themselves from fixed inputs: the keys below
(TEST KEYS, published on purpose: never use them for anything but checking an
implementation), fixed salts, nonces and times. Ed25519 signatures are deterministic, so
every output is too, except one: the feed envelope. joserfc draws the ephemeral X25519 key
and the AES-GCM IV itself and offers no parameter to fix them, so the envelope's token is
kept from the previous run when it still opens to the expected plaintext (re-running the
script changes nothing), and its expected output is the plaintext, not the ciphertext.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.protocol.crypto import (
    EncryptionPrivateKey,
    SigningPrivateKey,
    VerificationError,
    b64decode_std,
    b64encode_std,
    b64url_decode,
    b64url_encode,
)
from service.protocol.envelope import decode_jws, open_envelope, seal_for, sign_notice
from service.protocol.merkle import (
    Frontier,
    NodeAddress,
    assemble,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
)
from service.protocol.note import Checkpoint, NoteSigner, sign_checkpoint
from service.protocol.sdjwt import build_alert, parse_sd_jwt, present, sd_hash
from service.protocol.signatures import sign_request
from service.protocol.tlog_proof import format_tlog_proof

# The vectors' test keys, public halves. Their private halves are test keys published in
# tests/vectors/keys.json (read by ``load_test_keys``); nothing may trust them.
ORIGINATOR_SIGNING_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "o6GRh3eTroO09YrzyXPfsLQYNn_2k9Zqt9AI__-Pdj0",
    "kid": "vector-originator-sign-1",
}
PARTNER_SIGNING_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "ZvsGSQzxfU9iuwxK1By7qOziZOyxGEsZE-6i9eL4BI0",
    "kid": "vector-partner-sign-1",
}
PARTNER_ENCRYPTION_JWK = {
    "kty": "OKP",
    "crv": "X25519",
    "x": "qc6mx6wQ05pQfuuBgA9kN-JSGvJsmpNu-hMMTKLirX4",
    "kid": "vector-partner-enc-1",
}
BROKER_KB_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "RaqzBo_i0P6WYMyhR7lXINSBp8REh1n4ssST91OSQIo",
    "kid": "vector-broker-kb-1",
}
BROKER_CHECKPOINT_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "lSKVaUX-UZuA_ahLcFWhAfhREioIFmCFapE7DIoc7Ng",
    "kid": "vector-broker-checkpoint-1",
}

ORIGINATOR = "fr-police"
PARTNER = "de-bka"
ALERT_ID = "0b6f3a52-8f6e-4c1e-9a57-3c2d1e0f4a6b"
LOG_ORIGIN = "liaison.example/log"
BASE_URL = "https://liaison.example"
#: 2026-01-01T00:00:00Z, the one clock every vector reads.
NOW = 1767225600
FEED_CURSOR = "42"
TEST_KEY_WARNING = "TEST KEYS: published in the repository, never to be trusted for anything"
#: Where the private test keys are, as the vectors name them (``<file>#<name>``).
KEYS_FILE = "tests/vectors/keys.json"
DEFAULT_KEYS_PATH = Path(__file__).resolve().parents[2] / KEYS_FILE
PUBLIC_KEYS = {
    "originator_signing": ORIGINATOR_SIGNING_JWK,
    "partner_signing": PARTNER_SIGNING_JWK,
    "partner_encryption": PARTNER_ENCRYPTION_JWK,
    "broker_kb": BROKER_KB_JWK,
    "broker_checkpoint": BROKER_CHECKPOINT_JWK,
}
TestKeys = dict[str, dict[str, str]]


def load_test_keys(path: Path = DEFAULT_KEYS_PATH) -> TestKeys:
    """The private test keys of the vectors, by name (a checkout's tests/vectors/keys.json).

    Raises FileNotFoundError outside a checkout, ValueError if a key is missing or is not the
    private half of the public key this module names."""
    keys: TestKeys = json.loads(path.read_text(encoding="utf-8"))["keys"]
    for name, public in PUBLIC_KEYS.items():
        private = keys.get(name, {})
        if {k: v for k, v in private.items() if k != "d"} != public or "d" not in private:
            raise ValueError(f"{path}: {name} is not the private half of its public key")
    return keys


def key_ref(name: str) -> str:
    """How a vector names a private test key: ``tests/vectors/keys.json#<name>``."""
    return f"{KEYS_FILE}#{name}"


def _fixed_random(label: str) -> Callable[[int], bytes]:
    """A deterministic stand-in for os.urandom: SHA-256(label || counter), truncated."""
    counter = iter(range(1 << 30))

    def draw(size: int) -> bytes:
        return hashlib.sha256(f"{label}:{next(counter)}".encode()).digest()[:size]

    return draw


@dataclass
class _Request:
    """The minimum of an HTTP request that ``sign_request`` signs (headers in place)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


def _signature_base(request: _Request) -> str:
    """RFC 9421 §2.5 signature base of the signed request, to show implementers the bytes
    that the signature covers (checked against the signature below, so it cannot be wrong)."""
    path_and_query = request.url.removeprefix(BASE_URL)
    path, _, query = path_and_query.partition("?")
    values = {
        '"@method"': request.method,
        '"@authority"': BASE_URL.removeprefix("https://"),
        '"@path"': path,
        '"@query"': f"?{query}",
    }
    params = request.headers["Signature-Input"].removeprefix("sig1=")
    lines = []
    for component in params[1 : params.index(")")].split(" "):
        value = values.get(component) or request.headers[component.strip('"').title()]
        lines.append(f"{component}: {value}")
    return "\n".join([*lines, f'"@signature-params": {params}'])


def _signed_request(
    keys: TestKeys, method: str, path: str, body: bytes, nonce: str
) -> dict[str, Any]:
    key = SigningPrivateKey.from_jwk(keys["partner_signing"])
    request = _Request(method, BASE_URL + path)
    if body:
        request.headers["Content-Type"] = "application/json"
    created = datetime.fromtimestamp(NOW, tz=UTC)
    sign_request(request, body, key, created=created, nonce=nonce)
    base = _signature_base(request)
    signature = request.headers["Signature"].removeprefix("sig1=:").removesuffix(":")
    key.public.verify(b64decode_std(signature), base.encode())
    return {
        "inputs": {
            "method": method,
            "url": request.url,
            "body": body.decode(),
            "keyid": key.kid,
            "created": NOW,
            "nonce": nonce,
        },
        "expected": {
            "headers": {
                name: value
                for name, value in request.headers.items()
                if name in ("Content-Digest", "Signature-Input", "Signature")
            },
            "signature_base": base,
        },
    }


def request_vector(keys: TestKeys) -> dict[str, Any]:
    """Two signed requests: a POST with a body (Content-Digest covered) and a GET without."""
    post_nonce = "bGlhaXNvbi12ZWN0b3Itbm9uY2UtMDAx"
    get_nonce = "bGlhaXNvbi12ZWN0b3Itbm9uY2UtMDAy"
    body = json.dumps({"status": "received", "reason": "read"}, separators=(",", ":"))
    return {
        "description": "RFC 9421 request signatures (API 'Request authentication')",
        "signer": {"agency": PARTNER, "public_jwk": PARTNER_SIGNING_JWK},
        "private_key": key_ref("partner_signing"),
        "requests": {
            "post_with_body": _signed_request(
                keys, "POST", f"/v1/alerts/{ALERT_ID}/dispositions", body.encode(), post_nonce
            ),
            "get_without_body": _signed_request(
                keys, "GET", "/v1/feed?after=41&limit=10", b"", get_nonce
            ),
        },
    }


def _clear_claims() -> dict[str, Any]:
    return {
        "iss": ORIGINATOR,
        "jti": ALERT_ID,
        "iat": NOW,
        "exp": NOW + 30 * 86400,
        "kind": "diffusion",
        "category": "fraud",
        "tlp": "amber",
        "handling": ["H1"],
        "audience": {"agencies": [PARTNER], "groups": [], "all": False},
        "purpose": "investigate",
        "legal_basis": "mutual-legal-assistance-treaty",
        "cnf": {"jwk": BROKER_KB_JWK},
    }


CONTENT = {
    "narrative": "Carousel VAT fraud ring operating through shell companies",
    "subject": {"name": "A. Nonymous", "born": "1980-02-29"},
    "charges": ["fraud", "money-laundering"],
}
DISCLOSED_TO_PARTNER = ("narrative", "charges")


def alert_vector(keys: TestKeys) -> dict[str, Any]:
    """An alert as submitted: the SD-JWT, its issuer JWS and each disclosure."""
    key = SigningPrivateKey.from_jwk(keys["originator_signing"])
    random = _fixed_random("alert-salts")
    token = build_alert(_clear_claims(), CONTENT, key, random=random)
    parsed = parse_sd_jwt(token)
    disclosures = []
    for encoded in parsed.disclosures:
        salt, name, value = json.loads(b64url_decode(encoded))
        disclosures.append(
            {
                "salt": salt,
                "name": name,
                "value": value,
                "encoded": encoded,
                "digest": _b64url_sha(encoded),
            }
        )
    return {
        "description": "An alert: SD-JWT (RFC 9901) as POSTed to /v1/alerts",
        "inputs": {
            "originator_private_key": key_ref("originator_signing"),
            "originator_public_jwk": ORIGINATOR_SIGNING_JWK,
            "clear_claims": _clear_claims(),
            "content": CONTENT,
            "salts_in_content_order": _salts(CONTENT, disclosures),
        },
        "expected": {
            "sd_jwt": token,
            "issuer_jws": parsed.issuer_jws,
            "issuer_header": parsed.header,
            "issuer_payload": parsed.unverified_claims,
            # In the order they follow the JWS: sorted by digest, as is _sd.
            "disclosures": disclosures,
        },
    }


def _b64url_sha(text: str) -> str:
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


def _salts(content: dict[str, Any], disclosures: Sequence[dict[str, Any]]) -> list[str]:
    by_name = {d["name"]: d["salt"] for d in disclosures}
    return [by_name[name] for name in content]


def presentation_vector(keys: TestKeys, alert_token: str) -> dict[str, Any]:
    """The broker's presentation of the alert to one partner: selected disclosures + KB-JWT."""
    kb_key = SigningPrivateKey.from_jwk(keys["broker_kb"])
    parsed = parse_sd_jwt(alert_token)
    token = present(parsed, DISCLOSED_TO_PARTNER, kb_key, PARTNER, FEED_CURSOR, NOW)
    presented = parse_sd_jwt(token)
    kb_jwt = token.rsplit("~", 1)[1]
    kb_header, kb_claims = decode_jws(kb_jwt)
    return {
        "description": "An alert as a partner's feed item carries it: SD-JWT+KB (RFC 9901 §4.3)",
        "inputs": {
            "sd_jwt": alert_token,
            "broker_kb_private_key": key_ref("broker_kb"),
            "disclose": list(DISCLOSED_TO_PARTNER),
            "aud": PARTNER,
            "nonce": FEED_CURSOR,
            "iat": NOW,
        },
        "expected": {
            "presentation": token,
            "sd_hash_input": token[: -len(kb_jwt)],
            "sd_hash": sd_hash(presented.issuer_jws, presented.disclosures),
            "kb_jwt_header": kb_header,
            "kb_jwt_claims": kb_claims,
            "disclosed": {name: CONTENT[name] for name in DISCLOSED_TO_PARTNER},
            "verify_with": {
                "issuer_public_jwk": ORIGINATOR_SIGNING_JWK,
                "kb_public_jwk": BROKER_KB_JWK,
            },
        },
    }


def envelope_vector(
    keys: TestKeys, plaintext: str, previous_jwe: str | None = None
) -> dict[str, Any]:
    """A feed envelope (JWE compact, ECDH-ES + A256GCM) holding the presentation.

    The token is ``previous_jwe`` if that still opens to ``plaintext`` with the partner's
    key; otherwise a fresh one (joserfc picks the ephemeral key and IV).
    """
    key = EncryptionPrivateKey.from_jwk(keys["partner_encryption"])
    token = None
    if previous_jwe is not None:
        try:
            if open_envelope(key, previous_jwe) == plaintext.encode():
                token = previous_jwe
        except VerificationError:
            token = None
    if token is None:
        token = seal_for(key.public, plaintext.encode())
    header = json.loads(b64url_decode(token.split(".")[0]))
    return {
        "description": (
            "A feed envelope (RFC 7516 compact JWE). The ephemeral key and IV are random, so a "
            "re-implementation cannot reproduce 'jwe': it must open it to 'plaintext'."
        ),
        "inputs": {
            "recipient_private_key": key_ref("partner_encryption"),
            "recipient_public_jwk": PARTNER_ENCRYPTION_JWK,
            "jwe": token,
        },
        "expected": {
            "protected_header_without_epk": {n: v for n, v in header.items() if n != "epk"},
            "epk_kty_crv": {"kty": header["epk"]["kty"], "crv": header["epk"]["crv"]},
            "plaintext": plaintext,
        },
    }


def notice_vector(keys: TestKeys) -> dict[str, Any]:
    """A withdrawal notice, the plaintext of a feed item of type ``withdrawal``."""
    claims = {
        "type": "withdrawal",
        "alert_id": ALERT_ID,
        "reason": "subject located",
        "at": "2026-01-01T00:00:00Z",
        "aud": PARTNER,
    }
    token = sign_notice(SigningPrivateKey.from_jwk(keys["broker_kb"]), claims)
    header, _ = decode_jws(token)
    return {
        "description": "A withdrawal notice: JWS compact by the broker's kb_key",
        "inputs": {"broker_kb_private_key": key_ref("broker_kb"), "claims": claims},
        "expected": {
            "jws": token,
            "header": header,
            "verify_with": BROKER_KB_JWK,
        },
    }


def _leaves(disclosed_plaintext: str) -> list[bytes]:
    """Seven audit entries as the log stores them: compact JSON, sorted members, UTF-8."""
    digest = hashlib.sha256(disclosed_plaintext.encode()).hexdigest()
    time = "2026-01-01T00:00:00Z"
    base = {"time": time, "actor": "admin"}
    documents: list[dict[str, Any]] = [
        {**base, "event": "principal.registered", "principal": ORIGINATOR},
        {**base, "event": "principal.registered", "principal": PARTNER},
        {**base, "event": "policy.loaded", "policy_version": "v" * 8},
        {**base, "actor": ORIGINATOR, "event": "alert.submitted", "alert_id": ALERT_ID},
        {
            **base,
            "actor": "broker",
            "event": "alert.decision",
            "alert_id": ALERT_ID,
            "partner": PARTNER,
            "decision": "received",
            "policies": ["share-within-audience"],
        },
        {
            **base,
            "actor": "broker",
            "event": "alert.disclosed",
            "alert_id": ALERT_ID,
            "partner": PARTNER,
            "digest": digest,
        },
        {**base, "actor": PARTNER, "event": "alert.disposition", "alert_id": ALERT_ID},
    ]
    return [
        json.dumps(
            {**document, "index": index}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        for index, document in enumerate(documents)
    ]


@dataclass(frozen=True)
class _Tree:
    leaves: list[bytes]
    nodes: dict[NodeAddress, bytes]

    @classmethod
    def of(cls, leaves: list[bytes]) -> _Tree:
        frontier = Frontier()
        return cls(leaves, dict(frontier.extend(leaf_hash(leaf) for leaf in leaves)))

    def root(self, size: int) -> bytes:
        return Frontier.from_stored(size, self.nodes).root()

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return assemble(inclusion_plan(index, size), self.nodes)

    def consistency(self, old: int, new: int) -> list[bytes]:
        return assemble(consistency_plan(old, new), self.nodes)


def _std(hashes: Sequence[bytes]) -> list[str]:
    return [b64encode_std(h) for h in hashes]


def log_vectors(keys: TestKeys, disclosed_plaintext: str) -> dict[str, dict[str, Any]]:
    """The checkpoint, inclusion and consistency proofs and a receipt over one small log."""
    tree = _Tree.of(_leaves(disclosed_plaintext))
    size = len(tree.leaves)
    signer = NoteSigner(LOG_ORIGIN, SigningPrivateKey.from_jwk(keys["broker_checkpoint"]))
    checkpoint = Checkpoint(LOG_ORIGIN, size, tree.root(size))
    note = sign_checkpoint(checkpoint, signer)
    roots = {str(n): b64encode_std(tree.root(n)) for n in range(1, size + 1)}
    disclosed_index = 5
    inclusion = [
        {"index": i, "size": n, "leaf_hash": b64encode_std(leaf_hash(tree.leaves[i]))}
        | {"hashes": _std(tree.inclusion(i, n)), "root": roots[str(n)]}
        for i, n in ((disclosed_index, size), (0, size), (size - 1, size), (2, 4), (0, 1))
    ]
    consistency = [
        {"from": m, "to": n, "hashes": _std(tree.consistency(m, n))}
        | {"old_root": roots[str(m)], "new_root": roots[str(n)]}
        for m, n in ((3, size), (4, size), (1, size), (size, size))
    ]
    return {
        "checkpoint": {
            "description": "A C2SP tlog-checkpoint signed note over seven audit entries",
            "inputs": {
                "origin": LOG_ORIGIN,
                "checkpoint_private_key": key_ref("broker_checkpoint"),
                "checkpoint_public_jwk": BROKER_CHECKPOINT_JWK,
                "leaves_utf8": [leaf.decode() for leaf in tree.leaves],
            },
            "expected": {
                "leaf_hashes": _std([leaf_hash(leaf) for leaf in tree.leaves]),
                "roots_by_size": roots,
                "body": checkpoint.body(),
                "vkey": signer.vkey,
                "note": note,
            },
        },
        "proofs": {
            "description": "RFC 9162 inclusion and consistency proofs over the same log",
            "inputs": {"leaves_utf8": [leaf.decode() for leaf in tree.leaves]},
            "expected": {"inclusion": inclusion, "consistency": consistency},
        },
        "receipt": {
            "description": "A C2SP tlog-proof for the alert.disclosed entry",
            "inputs": {
                "index": disclosed_index,
                "leaf_utf8": tree.leaves[disclosed_index].decode(),
                "vkey": signer.vkey,
                "origin": LOG_ORIGIN,
            },
            "expected": {
                "tlog_proof": format_tlog_proof(
                    disclosed_index, tree.inclusion(disclosed_index, size), note
                ),
            },
        },
    }


def generate(
    previous_jwe: str | None = None, keys: TestKeys | None = None
) -> dict[str, dict[str, Any]]:
    """Every vector by file stem. Deterministic for a given ``previous_jwe`` (see module);
    ``keys`` defaults to ``load_test_keys()``."""
    keys = keys if keys is not None else load_test_keys()
    alert = alert_vector(keys)
    presentation = presentation_vector(keys, alert["expected"]["sd_jwt"])
    plaintext = presentation["expected"]["presentation"]
    vectors = {
        "request-signature": request_vector(keys),
        "alert": alert,
        "presentation": presentation,
        "envelope": envelope_vector(keys, plaintext, previous_jwe),
        "notice": notice_vector(keys),
        **log_vectors(keys, plaintext),
    }
    return {name: {"warning": TEST_KEY_WARNING, **vector} for name, vector in vectors.items()}


def render(vector: dict[str, Any]) -> str:
    """A vector file's exact text: two-space indented JSON, UTF-8, one final newline."""
    return json.dumps(vector, indent=2, ensure_ascii=False) + "\n"


def previous_envelope(directory: Path) -> str | None:
    """The envelope token committed in ``directory``, if there is one."""
    path = directory / "envelope.json"
    if not path.exists():
        return None
    token = json.loads(path.read_text(encoding="utf-8"))["inputs"]["jwe"]
    return token if isinstance(token, str) else None


def main(argv: Sequence[str] | None = None) -> int:
    """Write every vector as ``<stem>.json`` into ``--out`` (default docs/vectors)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("docs/vectors"))
    parser.add_argument("--keys", type=Path, default=DEFAULT_KEYS_PATH, help="the test keys")
    args = parser.parse_args(argv)
    directory: Path = args.out
    directory.mkdir(parents=True, exist_ok=True)
    keys = load_test_keys(args.keys)
    for name, vector in generate(previous_envelope(directory), keys).items():
        (directory / f"{name}.json").write_text(render(vector), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
