"""`liaison alert template` prints an alert.json that the schema and the broker both accept."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from service.client.alerts import alert_token
from service.protocol.alert_schema import alert_schema
from service.protocol.crypto import SigningPrivateKey
from service.protocol.sdjwt import parse_sd_jwt, verify_alert
from service.protocol.validation import validate_claims

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def cli(*args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "alert", "template", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    "example", ["diffusion-investigate", "red-notice-arrest", "tlp-red-bulletin"]
)
def test_the_template_passes_the_schema_and_the_broker(example: str) -> None:
    document = cli("--example", example)
    assert list(Draft202012Validator(alert_schema()).iter_errors(document)) == []
    key = SigningPrivateKey.generate("originator-1")
    kb = SigningPrivateKey.generate("broker-kb").public.to_jwk()
    clear = {name: value for name, value in document.items() if name != "content"}
    token = alert_token(key, "fr-police", kb, clear, document["content"], now=NOW)
    verified = verify_alert(parse_sd_jwt(token), key.public)
    claims = validate_claims(verified.claims, list(verified.disclosures), NOW, timedelta(0))
    assert claims.kind == document["kind"]


def test_the_schema_option_prints_the_served_schema() -> None:
    assert cli("--schema") == alert_schema()
