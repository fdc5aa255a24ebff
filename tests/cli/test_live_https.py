"""A live ``liaison serve`` over HTTPS with the generated dev CA, driven by the SDK."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.client import LiaisonClient
from service.client.api import load_private_jwk

pytestmark = pytest.mark.slow


async def test_sdk_request_over_https_with_dev_ca(live_server: tuple[str, Path]) -> None:
    base, data = live_server
    key = load_private_jwk(data / "admin.jwk")
    async with LiaisonClient(base, key, verify=data / "tls" / "ca.pem") as client:
        agencies = await client.list_agencies()
        identity = await client.broker()
    assert [a["id"] for a in agencies] == ["admin"]
    assert identity["kb_key"]["crv"] == "Ed25519"


async def test_https_without_the_ca_is_refused(live_server: tuple[str, Path]) -> None:
    base, data = live_server
    key = load_private_jwk(data / "admin.jwk")
    async with LiaisonClient(base, key) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.list_agencies()


def test_client_refuses_to_disable_verification() -> None:
    from service.protocol.crypto import SigningPrivateKey

    with pytest.raises(ValueError, match="cannot be disabled"):
        LiaisonClient("https://localhost:1", SigningPrivateKey.generate(), verify=False)
