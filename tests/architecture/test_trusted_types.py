"""Trust in the types: only the verifier makes a verified value."""

from __future__ import annotations

import pytest

from service.api.principal import AuthenticatedPrincipal, claim_principal_mint
from service.auth.authenticate import VerifiedRequest
from service.protocol.logverify import VerificationReport
from service.protocol.note import Checkpoint
from service.protocol.vocabulary import Role


def test_a_principal_cannot_be_made_outside_authentication() -> None:
    with pytest.raises(TypeError, match="only request authentication"):
        AuthenticatedPrincipal("mallory", frozenset({Role.ADMIN}), frozenset(), "k")


def test_the_principal_constructor_is_handed_out_once() -> None:
    # service.auth.authenticate (imported above) claimed it at import.
    with pytest.raises(RuntimeError, match="already claimed"):
        claim_principal_mint()


def test_a_verified_request_cannot_be_made_outside_verify_request() -> None:
    with pytest.raises(TypeError, match="only verify_request"):
        VerifiedRequest("mallory", "k", "n" * 22, frozenset({Role.ADMIN}), frozenset(), object())


def test_a_verification_report_cannot_be_made_outside_verify_log() -> None:
    checkpoint = Checkpoint("example.org/log", 0, bytes(32))
    with pytest.raises(TypeError, match="only verify_log"):
        VerificationReport(checkpoint, "note", 0, None)
