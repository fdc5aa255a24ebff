"""The typed client for Liaison's HTTP API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from service.client.signing import SignatureAuth
from service.protocol.crypto import SigningPrivateKey, b64decode_std

if TYPE_CHECKING:
    from service.client.log_monitor import LogMonitor
    from service.protocol.note import Checkpoint


class LiaisonAPIError(Exception):
    """A non-2xx answer; ``problem`` is the RFC 9457 body when the server sent one."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(
            f"{status} {problem.get('type', '')}: "
            f"{problem.get('detail') or problem.get('title', '')}"
        )

    @property
    def type(self) -> str:
        return str(self.problem.get("type", ""))


def load_private_jwk(path: Path) -> SigningPrivateKey:
    """Read a signing key file written by ``liaison init`` or ``liaison keygen``."""
    data = json.loads(path.read_text())
    if "signing" in data:  # keygen writes {"signing": JWK, "encryption": JWK}
        data = data["signing"]
    return SigningPrivateKey.from_jwk(data)


def _hashes(document: dict[str, Any]) -> list[bytes]:
    return [b64decode_std(value) for value in document["hashes"]]


# Below the server's keep-alive timeout (uvicorn's default is 5 s).
KEEPALIVE_SECONDS = 3.0


class LiaisonClient:
    """Signs every request with ``key``. ``verify`` is a CA bundle path (or True for the
    system store); there is deliberately no way to switch certificate checks off."""

    #: Remembers the last verified checkpoint for ``check_log``; made on first use (trusting
    #: the broker's key on first use). Assign one with a pinned key or a state file instead.
    log_monitor: LogMonitor | None = None

    def __init__(
        self,
        base_url: str,
        key: SigningPrivateKey,
        *,
        verify: str | Path | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
        timeout: float = 40.0,
    ) -> None:
        if verify is False:
            raise ValueError("certificate verification cannot be disabled; pass a CA bundle")
        verify_arg: Any = str(verify) if isinstance(verify, Path) else verify
        if isinstance(verify_arg, str):
            import ssl

            verify_arg = ssl.create_default_context(cafile=verify_arg)
        self.key = key
        self._http = httpx.AsyncClient(
            base_url=base_url,
            auth=SignatureAuth(key, clock),
            verify=verify_arg,
            transport=transport,
            timeout=timeout,
            # Drop an idle connection before the server does (uvicorn closes after 5 s): a
            # request sent on a connection the server is closing fails with "Server
            # disconnected" (seen polling every few seconds).
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
        )

    async def __aenter__(self) -> LiaisonClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a signed request; return the response if 2xx, else raise LiaisonAPIError."""
        response = await self._http.request(method, path, **kwargs)
        if response.is_success:
            return response
        try:
            problem = response.json()
        except ValueError:
            problem = {"title": response.text[:200]}
        raise LiaisonAPIError(response.status_code, problem if isinstance(problem, dict) else {})

    async def broker(self) -> dict[str, Any]:
        return dict((await self.request("GET", "/v1/broker")).json())

    async def list_agencies(self) -> list[dict[str, Any]]:
        return list((await self.request("GET", "/v1/agencies")).json()["agencies"])

    async def get_agency(self, agency_id: str) -> dict[str, Any]:
        return dict((await self.request("GET", f"/v1/agencies/{agency_id}")).json())

    async def register_agency(self, agency: dict[str, Any]) -> dict[str, Any]:
        return dict((await self.request("POST", "/v1/agencies", json=agency)).json())

    async def add_key(self, agency_id: str, jwk: dict[str, Any]) -> dict[str, Any]:
        return dict((await self.request("POST", f"/v1/agencies/{agency_id}/keys", json=jwk)).json())

    async def revoke_key(
        self, agency_id: str, kid: str, reason: str | None = None
    ) -> dict[str, Any]:
        body = {"reason": reason} if reason else None
        path = f"/v1/agencies/{agency_id}/keys/{kid}/revoke"
        return dict((await self.request("POST", path, json=body)).json())

    async def audit_checkpoint(self) -> str:
        """The latest signed checkpoint note, unverified (see ``check_log``)."""
        return (await self.request("GET", "/v1/audit/checkpoint")).text

    async def audit_entries(self, start: int, end: int) -> list[bytes]:
        """Leaf bytes of entries ``start <= i < end`` (auditors; at most 1000 per call)."""
        response = await self.request(
            "GET", "/v1/audit/entries", params={"start": start, "end": end}
        )
        return [b64decode_std(value) for value in response.json()["entries"]]

    async def audit_search(self, **filters: str | int | datetime | None) -> dict[str, Any]:
        """``{"entries": [...], "next": int | None}`` matching the API's search filters
        (``alert_id``, ``partner``, ``event``, ``since``, ``until``, ``after``, ``limit``)."""
        params = {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in filters.items()
            if value is not None
        }
        return dict((await self.request("GET", "/v1/audit/search", params=params)).json())

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The inclusion proof hashes of entry ``index`` in the tree of ``size``."""
        params = {"index": index, "size": size}
        return _hashes(
            (await self.request("GET", "/v1/audit/proof/inclusion", params=params)).json()
        )

    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """The consistency proof hashes from tree size ``old_size`` to ``new_size``."""
        params = {"from": old_size, "to": new_size}
        response = await self.request("GET", "/v1/audit/proof/consistency", params=params)
        return _hashes(response.json())

    async def receipt(self, index: int) -> str:
        """A C2SP tlog-proof of entry ``index``, verifiable offline with ``verify_tlog_proof``."""
        return (await self.request("GET", f"/v1/audit/receipt/{index}")).text

    async def audit_proof(self, index: int, size: int) -> dict[str, Any]:
        """The raw inclusion proof document of entry ``index`` in the tree of ``size``."""
        params = {"index": index, "size": size}
        return dict((await self.request("GET", "/v1/audit/proof/inclusion", params=params)).json())

    async def reviews(self, status: str | None = "pending") -> list[dict[str, Any]]:
        """Review cases (reviewers): ``status`` is pending, approved, rejected, upheld or
        cancelled."""
        params = {"status": status} if status else {}
        response = await self.request("GET", "/v1/reviews", params=params)
        return list(response.json()["reviews"])

    async def read_for_review(self, alert_id: str) -> dict[str, Any]:
        """``{"case", "nonce", "envelope"}``: the whole alert sealed to the reviewer (logged)."""
        return dict((await self.request("GET", f"/v1/reviews/{alert_id}")).json())

    async def decide_review(self, alert_id: str, decision: str, reason: str) -> dict[str, Any]:
        """Approve/reject a held alert, uphold/cancel a challenged one."""
        body = {"decision": decision, "reason": reason}
        return dict((await self.request("POST", f"/v1/reviews/{alert_id}", json=body)).json())

    async def heightened_review(self, agency_id: str, active: bool, reason: str) -> dict[str, Any]:
        """Place an originator under heightened review (every alert held), or lift it."""
        body = {"active": active, "reason": reason}
        path = f"/v1/reviews/heightened/{agency_id}"
        return dict((await self.request("POST", path, json=body)).json())

    async def purges(self, overdue: bool = False) -> list[dict[str, Any]]:
        """Withdrawn and cancelled alerts with confirmed and outstanding purges."""
        params = {"overdue": "true"} if overdue else {}
        return list((await self.request("GET", "/v1/purges", params=params)).json()["purges"])

    async def transparency_report(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Counts by kind, category and outcome over ``[start, end)``, from the audit log."""
        params = {"from": start.isoformat(), "to": end.isoformat()}
        return dict((await self.request("GET", "/v1/transparency", params=params)).json())

    async def check_log(self) -> Checkpoint:
        """Fetch the latest checkpoint and prove it extends the last one this client verified.

        Returns the verified checkpoint. Raises LogVerificationError if it is not signed by
        the broker's checkpoint key or if the log was truncated or rewritten since.
        """
        if self.log_monitor is None:
            # Imported here: the log verifier is not needed by most commands (CLI start-up).
            from service.client.log_monitor import LogMonitor

            self.log_monitor = LogMonitor()
        return await self.log_monitor.check(self)
