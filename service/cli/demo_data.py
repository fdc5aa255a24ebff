"""The fictional network ``liaison demo`` plays out: agencies, a review body, an auditor, alerts."""

from __future__ import annotations

from typing import Any

# Fictional agencies of fictional countries (user-assigned ISO codes). The bilateral example
# policies in policies/partners/ name some of them.
AGENCIES: list[dict[str, Any]] = [
    {
        "id": "ruritania-npa",
        "name": "Ruritania National Police Agency",
        "country": "XR",
        "groups": ["balkan-pact", "counter-terrorism"],
        "attributes": {"biometrics": True, "location": True},
    },
    {
        "id": "borduria-sis",
        "name": "Borduria Security and Intelligence Service",
        "country": "XB",
        "groups": ["balkan-pact", "counter-terrorism"],
        "attributes": {"biometrics": True},
    },
    {
        "id": "syldavia-cyber",
        "name": "Syldavia Cybercrime Unit",
        "country": "XS",
        "groups": ["balkan-pact"],
        "attributes": {},
    },
    {
        "id": "freedonia-fbi",
        "name": "Freedonia Federal Bureau",
        "country": "XF",
        "groups": ["counter-terrorism"],
        "attributes": {"biometrics": True, "location": True},
    },
    {
        "id": "genovia-police",
        "name": "Genovia Royal Police",
        "country": "XG",
        "groups": ["balkan-pact"],
        "attributes": {"location": True},
    },
]
AUDITOR = {
    "id": "oversight-board",
    "name": "Joint Oversight Board",
    "country": "XO",
    "groups": [],
    "roles": ["auditor"],
    "attributes": {},
}
REVIEWER = {
    "id": "interpol-ccf",
    "name": "Commission for the Control of Files (fictional)",
    "country": "XI",
    "groups": [],
    "roles": ["reviewer"],
    "attributes": {},
}


ALERTS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "Red notice: corruption (TLP:CLEAR, all members)",
        {
            "kind": "red",
            "category": "corruption",
            "tlp": "clear",
            "audience": {"agencies": [], "groups": [], "all": True},
            "purpose": "extradite",
            "legal_basis": "arrest warrant 2026/114 of the Ruritanian anti-corruption court",
        },
        {
            "subject": {"name": "Ottokar Vasilescu", "born": "1968-03-02"},
            "charges": ["embezzlement of public funds", "bribery"],
            "narrative": "Former deputy minister; diverted EU structural funds via shell firms.",
        },
    ),
    (
        "Terrorism bulletin to the counter-terrorism group (TLP:AMBER)",
        {
            "kind": "bulletin",
            "category": "terrorism",
            "tlp": "amber",
            "audience": {"agencies": [], "groups": ["counter-terrorism"], "all": False},
            "purpose": "prevent",
            "legal_basis": "counter-terrorism cooperation treaty, art. 4",
        },
        {
            "narrative": "Procurement of precursor chemicals observed near the northern border.",
            "subject": {"group": "Black Lantern cell"},
        },
    ),
    (
        "TLP:RED diffusion to two named partners",
        {
            "kind": "diffusion",
            "category": "cybercrime",
            "tlp": "red",
            "audience": {
                "agencies": ["syldavia-cyber", "genovia-police"],
                "groups": [],
                "all": False,
            },
            "purpose": "investigate",
            "legal_basis": "Budapest Convention, art. 29",
        },
        {
            "narrative": "Ransomware affiliate infrastructure hosted in Syldavia and Genovia.",
            "indicators": ["203.0.113.7", "ransom-note-v3.txt"],
        },
    ),
    (
        "Missing person with biometrics (TLP:GREEN, Balkan pact)",
        {
            "kind": "yellow",
            "category": "missing-person",
            "tlp": "green",
            "audience": {"agencies": [], "groups": ["balkan-pact"], "all": False},
            "purpose": "protect",
            "legal_basis": "child protection protocol, art. 2",
        },
        {
            "subject": {"name": "Mila Dragan", "born": "2011-07-19"},
            "biometrics": {"fingerprint": "NIST-ANSI-2011:9f1c…", "face": "template-v2:77ab…"},
            "last_known_location": "Klow central station, 2026-11-20 18:40",
        },
    ),
]
