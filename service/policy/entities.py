"""Cedar entities and requests built from the engine's facts (policies/schema.cedarschema).

Entity ids travel in Cedar's JSON form (``{"type": …, "id": …}``), never spliced into
policy text, so an id with quotes or newlines cannot change a request's meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.policy.facts import AlertFacts, PartnerFacts

AGENCY = "Agency"
ALERT = "Alert"
CLAIM = "Claim"
PUBLISH = "publish"
RECEIVE = "receive"
DISCLOSE = "disclose"

JSON = dict[str, Any]


def uid(entity_type: str, entity_id: str) -> JSON:
    """A Cedar entity uid in JSON form."""
    return {"type": entity_type, "id": entity_id}


def _ref(entity_type: str, entity_id: str) -> JSON:
    return {"__entity": uid(entity_type, entity_id)}


def content_claims(alert: AlertFacts) -> tuple[str, ...]:
    """The alert's content claim names, first occurrence kept, in the alert's order."""
    return tuple(dict.fromkeys(alert.claims))


def alert_entity(alert: AlertFacts) -> JSON:
    """The ``Alert`` entity: every clear fact, sets as sorted lists."""
    return {
        "uid": uid(ALERT, alert.alert_id),
        "attrs": {
            "originator": alert.originator,
            "originator_country": alert.originator_country,
            "kind": alert.kind,
            "category": alert.category,
            "tlp": alert.tlp,
            "handling": sorted(alert.handling),
            "audience_agencies": [_ref(AGENCY, a) for a in sorted(alert.audience_agencies)],
            "audience_groups": sorted(alert.audience_groups),
            "audience_all": alert.audience_all,
            "purpose": alert.purpose,
            "legal_basis": alert.legal_basis,
            "claims": sorted(set(alert.claims)),
            "character": sorted(alert.character),
            "subject_status": sorted(alert.subject_status),
        },
        "parents": [],
    }


def claim_entities(alert: AlertFacts) -> list[JSON]:
    """One ``Claim`` entity per content claim; its id is the claim name."""
    return [
        {
            "uid": uid(CLAIM, name),
            "attrs": {"name": name, "alert": _ref(ALERT, alert.alert_id)},
            "parents": [],
        }
        for name in content_claims(alert)
    ]


def agency_entity(partner: PartnerFacts) -> JSON:
    """The ``Agency`` entity of a possible recipient, or of the originator being screened."""
    return {
        "uid": uid(AGENCY, partner.id),
        "attrs": {
            "country": partner.country,
            "groups": sorted(partner.groups),
            "roles": sorted(partner.roles),
            "clearances": sorted(partner.clearances),
            "heightened_review": partner.heightened_review,
        },
        "parents": [],
    }


def entities(alert: AlertFacts, partners: Sequence[PartnerFacts]) -> list[JSON]:
    """Every entity one fan-out needs: the alert, its claims and the partners."""
    return [alert_entity(alert), *claim_entities(alert), *(agency_entity(p) for p in partners)]


def screening_entities(alert: AlertFacts, originator: PartnerFacts) -> list[JSON]:
    """Every entity one screening needs: the alert and its originator."""
    return [alert_entity(alert), agency_entity(originator)]


def publish_request(originator_id: str, alert_id: str) -> JSON:
    """May the originator ``originator_id`` have the alert published now?"""
    return {
        "principal": uid(AGENCY, originator_id),
        "action": uid("Action", PUBLISH),
        "resource": uid(ALERT, alert_id),
        "context": {},
    }


def receive_request(partner_id: str, alert_id: str) -> JSON:
    """May ``partner_id`` receive the alert?"""
    return {
        "principal": uid(AGENCY, partner_id),
        "action": uid("Action", RECEIVE),
        "resource": uid(ALERT, alert_id),
        "context": {},
    }


def disclose_request(partner_id: str, claim: str) -> JSON:
    """May ``partner_id`` see the content claim ``claim``?"""
    return {
        "principal": uid(AGENCY, partner_id),
        "action": uid("Action", DISCLOSE),
        "resource": uid(CLAIM, claim),
        "context": {},
    }
