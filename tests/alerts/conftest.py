"""Fixtures for the alert exchange: agencies with alert clients, and alert builders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from service.client.alerts import AlertsClient
from tests.conftest import Party


class Member:
    """A registered agency with its SDK, as a partner's own software would hold it."""

    def __init__(self, party: Party) -> None:
        self.party = party
        self.id = party.id
        self.alerts = AlertsClient(party.client, party.id, party.encryption)

    async def post(self, **overrides: Any) -> dict[str, Any]:
        content = overrides.pop("content", None) or default_content()
        clear = default_clear() | overrides
        return await self.alerts.compose_and_post(self.party.signing, clear, content)

    async def poll(self, after: str | None = None, wait: float = 0) -> tuple[list[Any], str]:
        page = await self.alerts.feed(after=after, wait=wait)
        opened = [await self.alerts.open_item(item) for item in page["items"]]
        return opened, page["next"]


def default_clear() -> dict[str, Any]:
    return {
        "kind": "diffusion",
        "category": "corruption",
        "tlp": "amber",
        "handling": [],
        "audience": {"agencies": [], "groups": ["eu"], "all": False},
        "purpose": "investigate",
        "legal_basis": "Convention on mutual assistance, art. 7",
    }


def default_content() -> dict[str, Any]:
    return {
        "subject": {"name": "Jane Example", "born": "1970-01-01"},
        "narrative": "Suspected of embezzling public funds.",
        "charges": ["embezzlement"],
    }


MemberFactory = Callable[..., Awaitable[Member]]


@pytest.fixture
def member(register: Any) -> MemberFactory:
    async def make(agency_id: str, **options: Any) -> Member:
        return Member(await register(agency_id, **options))

    return make
