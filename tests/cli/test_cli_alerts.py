"""Partners' CLI against a live HTTPS server: post, poll (decrypt and verify), answer,
withdraw, show; and the admin's policy reload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import run_cli

pytestmark = pytest.mark.slow
cli = run_cli


def test_partner_cli_round_trip(live_server: tuple[str, Path], tmp_path: Path) -> None:
    base, data = live_server
    connect = ["--url", base, "--ca", str(data / "tls" / "ca.pem")]
    admin = [*connect, "--key", str(data / "admin.jwk")]
    for agency, groups in (("fr-police", ["eu"]), ("de-bka", ["eu"]), ("us-fbi", ["g7"])):
        prefix = tmp_path / agency
        cli("keygen", "--out", str(prefix))
        group_args = [arg for g in groups for arg in ("--group", g)]
        cli(
            "agency",
            "add",
            *admin,
            "--id",
            agency,
            "--name",
            agency,
            "--country",
            "FR",
            *group_args,
            "--public",
            f"{prefix}.public.json",
        )

    def as_(agency: str) -> list[str]:
        return [*connect, "--as", agency, "--key", str(tmp_path / f"{agency}.sign.jwk")]

    alert_file = tmp_path / "alert.json"
    alert_file.write_text(
        json.dumps(
            {
                "kind": "diffusion",
                "category": "fraud",
                "tlp": "amber",
                "audience": {"agencies": [], "groups": ["eu"], "all": False},
                "purpose": "investigate",
                "legal_basis": "treaty",
                "content": {
                    "narrative": "Carousel VAT fraud ring",
                    "subject": {"name": "A. Nonymous"},
                },
            }
        )
    )
    posted = json.loads(cli("alert", "post", *as_("fr-police"), str(alert_file)).stdout)
    alert_id = posted["alert_id"]
    assert posted["status"] == "published"

    polled = cli(
        "feed",
        "poll",
        *as_("de-bka"),
        "--json",
        str(tmp_path / "de.json"),
        "--out-dir",
        str(tmp_path),
    ).stdout
    assert alert_id in polled and "fraud/TLP:AMBER" in polled
    [item] = json.loads((tmp_path / "de.json").read_text())
    assert item["content"]["narrative"] == "Carousel VAT fraud ring"
    assert item["originator"] == "fr-police"

    outsider = cli(
        "feed",
        "poll",
        *as_("us-fbi"),
        "--json",
        str(tmp_path / "us.json"),
        "--out-dir",
        str(tmp_path),
    ).stdout
    assert alert_id not in outsider
    assert json.loads((tmp_path / "us.json").read_text()) == []

    cli(
        "alert",
        "disposition",
        *as_("de-bka"),
        alert_id,
        "--status",
        "acting",
        "--reason",
        "open case",
    )
    shown = json.loads(cli("alert", "show", *as_("fr-police"), alert_id, "--output", "json").stdout)
    assert [d["status"] for d in shown["dispositions"]] == ["acting"]
    hidden = cli("alert", "show", *as_("us-fbi"), alert_id, check=False)
    assert hidden.returncode != 0 and "not-found" in hidden.stderr

    cli("alert", "withdraw", *as_("fr-police"), alert_id, "--reason", "solved")
    after = cli(
        "feed",
        "poll",
        *as_("de-bka"),
        "--after",
        item["cursor"],
        "--json",
        str(tmp_path / "de2.json"),
        "--out-dir",
        str(tmp_path),
    ).stdout
    assert "withdrawal" in after and "solved" in after

    reloaded = cli("policy", "reload", *admin).stdout
    assert "in force" in reloaded
    refused = cli(
        "policy", "reload", *connect, "--key", str(tmp_path / "de-bka.sign.jwk"), check=False
    )
    assert refused.returncode != 0 and "forbidden" in refused.stderr
