"""The clear-claim vocabulary of an alert (API "Submitting an alert").

Only names and closed value sets live here; checking an alert's claims against them (and
against time, the registry and the audience) is the alert service's job.
"""

from __future__ import annotations

from typing import Any

# Media-type-style `typ` values (RFC 8725 §3.11 explicit typing) of the three JWT kinds.
ALERT_TYP = "liaison-alert+sd-jwt"
KB_JWT_TYP = "kb+jwt"
NOTICE_TYP = "liaison-notice+jwt"

# The only digest algorithm this profile speaks (RFC 9901 §4.1.1 names it "sha-256").
SD_ALG = "sha-256"

KINDS: frozenset[str] = frozenset(
    {"red", "yellow", "blue", "black", "green", "orange", "purple", "diffusion", "bulletin"}
)

# The contract lists the first seven "e.g."; the set is closed (unknown categories are
# refused) so that policies can rely on it, and grows only with the policies.
CATEGORIES: frozenset[str] = frozenset(
    {
        "corruption",
        "terrorism",
        "organised-crime",
        "cybercrime",
        "trafficking",
        "fugitive",
        "missing-person",
        "money-laundering",
        "fraud",
        "drug-trafficking",
        "firearms",
        "war-crimes",
        "child-exploitation",
        "environmental-crime",
    }
)

# Why the originator shares the alert (`purpose`): a closed set of codes, so that screening can
# read it. A request that partners act against a person (locate, arrest, extradite, detain) is
# coercive and always held for review (policies/screening.cedar), whatever its kind: a
# diffusion asking for an arrest is a red notice in all but name. `protect` is locating a
# missing or endangered person for their own sake (a yellow notice); `inform` shares
# awareness, `prevent` warns of a threat, `investigate` asks for enquiries or evidence,
# `identify` asks who a person or body is.
COERCIVE_PURPOSES: frozenset[str] = frozenset({"locate", "arrest", "extradite", "detain"})
PURPOSES: frozenset[str] = COERCIVE_PURPOSES | frozenset(
    {"inform", "prevent", "investigate", "identify", "protect"}
)

TLP_LABELS: frozenset[str] = frozenset({"clear", "green", "amber", "amber+strict", "red"})

HANDLING_CODES: frozenset[str] = frozenset({"H0", "H1", "H2", "H3"})

# Clear claims an alert's issuer-signed JWT carries; `supersedes` is the only optional one.
REQUIRED_CLEAR_CLAIMS: frozenset[str] = frozenset(
    {
        "iss",
        "jti",
        "iat",
        "exp",
        "kind",
        "category",
        "tlp",
        "handling",
        "audience",
        "purpose",
        "legal_basis",
        "cnf",
    }
)
OPTIONAL_CLEAR_CLAIMS: frozenset[str] = frozenset({"supersedes", "character", "subject_status"})

# Screening markers (issue: review before release). Article 3 of INTERPOL's constitution
# forbids activities of a political, military, religious or racial character; the originator
# declares such a character in the clear, and so whether the subject is a protected person.
CHARACTERS: frozenset[str] = frozenset({"political", "military", "religious", "racial"})
SUBJECT_STATUSES: frozenset[str] = frozenset({"recognised-refugee", "asylum-seeker"})
CLEAR_CLAIMS: frozenset[str] = REQUIRED_CLEAR_CLAIMS | OPTIONAL_CLEAR_CLAIMS

# Names the SD-JWT mechanism itself uses (RFC 9901 §4.1, §4.2.1).
SD_MECHANISM_NAMES: frozenset[str] = frozenset({"_sd", "_sd_alg", "..."})

# RFC 7519 §4.1 registered claims and RFC 7800 `cnf`: a selectively-disclosable `exp` or
# `aud` would let a presentation hide what decides the alert's validity (RFC 9901 §9.7),
# and KB-JWT claim names are reserved so a disclosure can never be mistaken for one.
_REGISTERED_JWT_CLAIMS: frozenset[str] = frozenset(
    {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "cnf", "nonce", "sd_hash"}
)

# No content (selectively-disclosable) claim may use one of these names.
RESERVED_CONTENT_NAMES: frozenset[str] = SD_MECHANISM_NAMES | _REGISTERED_JWT_CLAIMS | CLEAR_CLAIMS

# Fields of the `audience` clear claim.
AUDIENCE_FIELDS: frozenset[str] = frozenset({"agencies", "groups", "all"})


def is_reserved_content_name(name: str) -> bool:
    """True if ``name`` may not be used for a selectively-disclosable content claim."""
    return name in RESERVED_CONTENT_NAMES


def embeds_digests(value: Any) -> bool:
    """True if ``value`` holds an ``_sd`` or ``...`` member at any depth.

    Alerts are flat SD-JWTs: digests live only in the top-level ``_sd``. A nested one would
    be processed by other RFC 9901 verifiers and ignored by ours, so the two would disagree
    on what an alert says. Iterative, so no input can exhaust the stack.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "_sd" in item or "..." in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
