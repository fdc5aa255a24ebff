"""The partner side of the alert exchange: build and post alerts, poll and verify the feed.

A partner trusts nothing the broker says about content: every delivered alert is decrypted
with the partner's own key and verified against the originator's registered signing key,
the broker's key-binding key, the partner's id (``aud``) and the item's cursor (``nonce``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from service.client.api import LiaisonClient
from service.protocol.crypto import (
    EncryptionPrivateKey,
    SigningPrivateKey,
    SigningPublicKey,
    VerificationError,
    b64url_decode,
)
from service.protocol.envelope import open_envelope, verify_notice
from service.protocol.sdjwt import build_alert, parse_sd_jwt, verify_presentation

SD_JWT_MEDIA_TYPE = "application/sd-jwt"


class DeliveryRejected(VerificationError):
    """A feed item failed the partner's own verification (wrong originator key, tampering…)."""


@dataclass(frozen=True)
class DeliveredItem:
    """One verified feed item."""

    cursor: str
    type: str
    alert_id: str
    originator: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)  # clear claims (alerts)
    content: dict[str, Any] = field(default_factory=dict)  # disclosed content claims (alerts)
    undisclosed: int = 0  # content claims redacted for this partner
    notice: dict[str, Any] = field(default_factory=dict)  # withdrawal / expiry notice claims


def alert_token(
    key: SigningPrivateKey,
    originator: str,
    kb_key: dict[str, str],
    clear: dict[str, Any],
    content: dict[str, Any],
    *,
    now: datetime | None = None,
    lifetime: timedelta = timedelta(days=90),
) -> str:
    """Sign an alert as the originator: ``clear`` may omit ``iss``/``jti``/``iat``/``exp``/``cnf``,
    which are filled in (a fresh UUID, now, now + ``lifetime``, the broker's kb_key)."""
    moment = now or datetime.now(UTC)
    claims = {
        "iss": originator,
        "jti": str(uuid.uuid4()),
        "iat": int(moment.timestamp()),
        "exp": int((moment + lifetime).timestamp()),
        "handling": [],
        **clear,
        "cnf": {"jwk": {k: kb_key[k] for k in ("kty", "crv", "x", "kid") if k in kb_key}},
    }
    return build_alert(claims, content, key)


class AlertsClient:
    """Alert exchange calls on top of a signed :class:`LiaisonClient`."""

    def __init__(
        self,
        client: LiaisonClient,
        principal_id: str,
        encryption_key: EncryptionPrivateKey | Sequence[EncryptionPrivateKey] | None = None,
    ) -> None:
        """``encryption_key`` may be several keys (after a rotation): each envelope is
        opened with the key its ``kid`` header names."""
        self.client = client
        self.principal_id = principal_id
        if isinstance(encryption_key, EncryptionPrivateKey):
            encryption_key = [encryption_key]
        self.encryption_keys: list[EncryptionPrivateKey] = list(encryption_key or [])
        self.encryption_key = self.encryption_keys[0] if self.encryption_keys else None
        self._broker: dict[str, Any] | None = None
        self._signing_keys: dict[str, dict[str, SigningPublicKey]] = {}

    async def broker(self) -> dict[str, Any]:
        if self._broker is None:
            self._broker = await self.client.broker()
        return self._broker

    async def post(self, token: str) -> dict[str, Any]:
        response = await self.client.request(
            "POST",
            "/v1/alerts",
            content=token.encode("ascii"),
            headers={"content-type": SD_JWT_MEDIA_TYPE},
        )
        return dict(response.json())

    async def compose_and_post(
        self, key: SigningPrivateKey, clear: dict[str, Any], content: dict[str, Any], **options: Any
    ) -> dict[str, Any]:
        broker = await self.broker()
        return await self.post(
            alert_token(key, self.principal_id, broker["kb_key"], clear, content, **options)
        )

    async def feed(
        self, after: str | None = None, limit: int = 100, wait: float = 0
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "wait": wait}
        if after is not None:
            params["after"] = after
        return dict((await self.client.request("GET", "/v1/feed", params=params)).json())

    async def show(self, alert_id: str) -> dict[str, Any]:
        return dict((await self.client.request("GET", f"/v1/alerts/{alert_id}")).json())

    async def withdraw(self, alert_id: str, reason: str) -> dict[str, Any]:
        path = f"/v1/alerts/{alert_id}/withdraw"
        return dict((await self.client.request("POST", path, json={"reason": reason})).json())

    async def dispose(self, alert_id: str, status: str, reason: str) -> dict[str, Any]:
        path = f"/v1/alerts/{alert_id}/dispositions"
        body = {"status": status, "reason": reason}
        return dict((await self.client.request("POST", path, json=body)).json())

    def key_for(self, envelope: str) -> EncryptionPrivateKey:
        """The encryption key named by the envelope's ``kid`` header, else the first key
        (``open_envelope`` then refuses it with InvalidEnvelope)."""
        try:
            header = json.loads(b64url_decode(envelope.split(".", 1)[0]))
        except ValueError:
            header = None
        kid = header.get("kid") if isinstance(header, dict) else None
        for key in self.encryption_keys:
            if key.kid == kid:
                return key
        return self.encryption_keys[0]

    async def _issuer_key(self, originator: str, kid: str) -> SigningPublicKey:
        keys = self._signing_keys.get(originator)
        if keys is None or kid not in keys:
            agency = await self.client.get_agency(originator)
            keys = {jwk["kid"]: SigningPublicKey.from_jwk(jwk) for jwk in agency["signing_keys"]}
            self._signing_keys[originator] = keys
        if kid not in keys:
            raise DeliveryRejected
        return keys[kid]

    async def open_item(
        self, item: dict[str, Any], *, now: datetime | None = None
    ) -> DeliveredItem:
        """Decrypt and verify one feed item; raises DeliveryRejected (or VerificationError)."""
        if not self.encryption_keys:
            raise ValueError("an encryption key is needed to open feed items")
        broker = await self.broker()
        kb_key = SigningPublicKey.from_jwk(broker["kb_key"])
        plaintext = open_envelope(self.key_for(item["envelope"]), item["envelope"]).decode("ascii")
        if item["type"] != "alert":
            notice = verify_notice(plaintext, kb_key, self.principal_id)
            if notice.get("alert_id") != item["alert_id"] or notice.get("type") != item["type"]:
                raise DeliveryRejected
            return DeliveredItem(item["cursor"], item["type"], item["alert_id"], notice=notice)
        unverified = parse_sd_jwt(plaintext)
        originator = unverified.unverified_claims.get("iss")
        kid = unverified.header.get("kid")
        if not isinstance(originator, str) or not isinstance(kid, str):
            raise DeliveryRejected
        presentation = verify_presentation(
            unverified,
            await self._issuer_key(originator, kid),
            kb_key,
            audience=self.principal_id,
            nonce=item["cursor"],
            now=int((now or datetime.now(UTC)).timestamp()),
        )
        if presentation.claims.get("jti") != item["alert_id"]:
            raise DeliveryRejected
        return DeliveredItem(
            cursor=item["cursor"],
            type="alert",
            alert_id=item["alert_id"],
            originator=originator,
            claims=presentation.claims,
            content=presentation.disclosed,
            undisclosed=presentation.undisclosed_count,
        )
