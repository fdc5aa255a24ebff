"""Liaison's client SDK: an httpx client that signs every request per API.md."""

from service.client.api import LiaisonAPIError, LiaisonClient
from service.client.signing import SignatureAuth, sign_request

__all__ = ["LiaisonAPIError", "LiaisonClient", "SignatureAuth", "sign_request"]
