"""Screening holds what the originator did not declare: coercive purposes, whatever the kind,
and a closed purpose vocabulary."""

from __future__ import annotations

from typing import Any

import pytest

from service.client import LiaisonAPIError
from tests.alerts.conftest import Member, MemberFactory


@pytest.fixture
async def network(member: MemberFactory) -> dict[str, Member]:
    return {
        "fr": await member("fr-police", groups=("eu",), country="FR"),
        "de": await member("de-bka", groups=("eu",), country="DE"),
        "ccf": await member("ccf-review", roles=("reviewer",), country="ZZ"),
    }


async def pending(reviewer: Member) -> list[dict[str, Any]]:
    response = await reviewer.party.client.request("GET", "/v1/reviews")
    return list(response.json()["reviews"])


async def test_an_arrest_request_diffusion_is_held(network: dict[str, Member]) -> None:
    fr, de, ccf = network["fr"], network["de"], network["ccf"]
    posted = await fr.post(kind="diffusion", purpose="arrest")
    assert posted["status"] == "pending_review"
    assert (await de.poll())[0] == []
    [case] = await pending(ccf)
    assert case["alert_id"] == posted["alert_id"]
    assert "screening-hold-coercive-purpose" in case["reason"]


@pytest.mark.parametrize("purpose", ["locate", "extradite", "detain"])
async def test_every_coercive_purpose_is_held_whatever_the_kind(
    network: dict[str, Member], purpose: str
) -> None:
    posted = await network["fr"].post(kind="bulletin", purpose=purpose)
    assert posted["status"] == "pending_review"


async def test_the_same_diffusion_asking_for_enquiries_is_published(
    network: dict[str, Member],
) -> None:
    fr, de = network["fr"], network["de"]
    posted = await fr.post(kind="diffusion", purpose="investigate")
    assert posted["status"] == "published"
    [delivered], _ = await de.poll()
    assert delivered.claims["jti"] == posted["alert_id"]


@pytest.mark.parametrize("purpose", ["locate and arrest", "Arrest", "", ["arrest"]])
async def test_a_purpose_outside_the_vocabulary_is_refused_naming_the_codes(
    network: dict[str, Member], purpose: Any
) -> None:
    with pytest.raises(LiaisonAPIError) as raised:
        await network["fr"].post(purpose=purpose)
    assert raised.value.status == 422
    assert "arrest" in str(raised.value) and "investigate" in str(raised.value)


async def test_a_kind_that_is_not_a_string_is_refused_not_a_crash(
    network: dict[str, Member],
) -> None:
    with pytest.raises(LiaisonAPIError) as raised:
        await network["fr"].post(kind=["red"])
    assert raised.value.status == 422
