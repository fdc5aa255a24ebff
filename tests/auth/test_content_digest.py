"""Content-Digest is RFC 9530 with a sha-256 member in standard padded base64 (docs/protocol.md
§3.4); any other encoding is refused as such, not blamed on the body."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.protocol.clock import ManualClock
from service.protocol.crypto import b64url_encode
from service.protocol.errors import MalformedDigest
from service.protocol.signatures import check_content_digest
from tests.auth.test_authentication import Send, assert_rejected, send

__all__ = ["send"]  # the fixture, shared with test_authentication
from tests.conftest import Template

BODY = json.dumps({"id": "nl-police", "name": "NL", "country": "NL", "roles": ["agency"]})
COMPONENTS = ("@method", "@authority", "@path", "@query", "content-digest")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


SHA256 = hashlib.sha256(BODY.encode()).digest()
SHA512 = hashlib.sha512(BODY.encode()).digest()


def _request(template: Template, clock: ManualClock, digest: str) -> httpx.Request:
    request = httpx.Request(
        "POST",
        "http://testserver/v1/agencies",
        content=BODY.encode(),
        headers={"content-type": "application/json", "content-digest": digest},
    )
    # Signed by hand (RFC 9421 §2.5): the library refuses to sign a digest it finds malformed,
    # and these requests must be correctly signed with a malformed digest.
    key = template.admin_key
    created = int(clock.now().timestamp())
    nonce = b64url_encode(os.urandom(16))
    params = (
        '("@method" "@authority" "@path" "@query" "content-digest")'
        f';created={created};keyid="{key.kid}";alg="ed25519";nonce="{nonce}";tag="liaison"'
    )
    base = "\n".join(
        [
            '"@method": POST',
            '"@authority": testserver',
            '"@path": /v1/agencies',
            '"@query": ?',
            f'"content-digest": {digest}',
            f'"@signature-params": {params}',
        ]
    )
    signature = key.unsafe_cryptography_key().sign(base.encode())
    request.headers["signature-input"] = f"sig1={params}"
    request.headers["signature"] = f"sig1=:{base64.b64encode(signature).decode()}:"
    return request


@pytest.mark.parametrize(
    "digest",
    [
        f"sha-512=:{_b64(SHA512)}:",  # sha-512 only
        f"sha-256=:{_b64(SHA256).rstrip('=')}:",  # unpadded
        f"sha-256=:{base64.urlsafe_b64encode(SHA256).decode()}:"  # the URL alphabet
        if b"-" in base64.urlsafe_b64encode(SHA256) or b"_" in base64.urlsafe_b64encode(SHA256)
        else f"sha-256=:{_b64(SHA256)[:-2]}=:",  # (or a truncated value)
        f"sha-256={_b64(SHA256)}",  # not a byte sequence
    ],
)
async def test_a_digest_in_another_encoding_is_refused_as_malformed(
    engine: AsyncEngine, template: Template, clock: ManualClock, send: Send, digest: str
) -> None:
    await assert_rejected(engine, send, _request(template, clock, digest), 401, "malformed-digest")


async def test_sha_256_beside_sha_512_is_accepted(
    template: Template, clock: ManualClock, send: Send
) -> None:
    digest = f"sha-512=:{_b64(SHA512)}:, sha-256=:{_b64(SHA256)}:"
    response = await send(_request(template, clock, digest))
    # Authentication passed (the body then fails the registry's schema: no keys given).
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "urn:liaison:problem:validation-failed"


async def test_a_well_formed_digest_of_another_body_is_still_a_mismatch(
    engine: AsyncEngine, template: Template, clock: ManualClock, send: Send
) -> None:
    other = hashlib.sha256(b"another body").digest()
    request = _request(template, clock, f"sha-256=:{_b64(other)}:")
    await assert_rejected(engine, send, request, 401, "digest-mismatch")


def test_the_check_itself() -> None:
    check_content_digest(f"sha-256=:{_b64(SHA256)}:")
    for bad in (None, "", f"sha-512=:{_b64(SHA512)}:", f"xsha-256=:{_b64(SHA256)}:"):
        with pytest.raises(MalformedDigest):
            check_content_digest(bad)
