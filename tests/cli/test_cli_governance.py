"""Reviewers' and auditors' commands against a live server: review, audit search, entries,
receipt and proof, the transparency report, purges."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.conftest import DIFFUSION, Network, run_cli

pytestmark = pytest.mark.slow


def as_json(network: Network, agency: str, *args: str) -> Any:
    return json.loads(run_cli(*args, *network.as_(agency), "--output", "json").stdout)


def test_reviewer_lists_reads_and_approves_a_held_alert(network: Network) -> None:
    held = network.post(
        "fr-police", {**DIFFUSION, "purpose": "locate"}, {"narrative": "find him", "n": 1}
    )
    cases = as_json(network, "ccf", "review", "list")
    assert isinstance(cases, list) and [c["alert_id"] for c in cases] == [held]
    table = run_cli("review", "list", *network.as_("ccf")).stdout
    assert "alert_id" in table and held in table  # a table with headers
    shown = as_json(network, "ccf", "review", "show", held)
    assert isinstance(shown, dict)
    assert shown["claims"]["iss"] == "fr-police" and shown["claims"]["purpose"] == "locate"
    assert shown["content"] == {"narrative": "find him", "n": 1}
    decided = as_json(network, "ccf", "review", "approve", held, "--reason", "lawful request")
    assert isinstance(decided, dict) and decided["alert_status"] == "published"
    assert as_json(network, "ccf", "review", "list") == []
    # an agency is no reviewer: one line, non-zero
    refused = run_cli("review", "list", *network.as_("de-bka"), check=False)
    assert refused.returncode != 0 and "403" in refused.stderr and "forbidden" in refused.stderr
    assert "Traceback" not in refused.stderr

    heightened = as_json(
        network, "ccf", "review", "heightened", "fr-police", "--on", "--reason", "finding"
    )
    assert isinstance(heightened, dict) and heightened["heightened_review"] is True
    again = network.post("fr-police", DIFFUSION, {"narrative": "now held"})
    assert [c["alert_id"] for c in as_json(network, "ccf", "review", "list")] == [again]
    rejected = as_json(network, "ccf", "review", "reject", again, "--reason", "no basis")
    assert isinstance(rejected, dict) and rejected["alert_status"] == "rejected"


def test_auditor_searches_and_proves_the_log(network: Network, tmp_path: object) -> None:
    alert_id = network.post("fr-police", DIFFUSION, {"narrative": "audited"})
    found = as_json(network, "board", "audit", "search", "--alert", alert_id)
    assert isinstance(found, dict)
    events = [entry["event"] for entry in found["entries"]]
    assert events and all(e.startswith("alert.") for e in events)
    index = found["entries"][0]["index"]
    table = run_cli("audit", "search", *network.as_("board"), "--alert", alert_id).stdout
    assert ("event" in table and "alert.published" in table) or events[0] in table
    entries = as_json(network, "board", "audit", "entries", "--start", "0", "--end", "3")
    assert isinstance(entries, list) and [e["index"] for e in entries] == [0, 1, 2]
    receipt = run_cli("audit", "receipt", str(index), *network.as_("board")).stdout
    assert receipt.startswith("c2sp.org/tlog-proof")
    proof = as_json(network, "board", "audit", "proof", str(index), "--size", str(index + 1))
    assert isinstance(proof, dict) and "hashes" in proof
    report = as_json(network, "board", "report")
    assert isinstance(report, dict) and report["log_size"] > index
    assert sum(report["outcomes"].values()) >= 1
    assert "outcomes" in run_cli("report", *network.as_("board")).stdout


def test_purges_lists_a_withdrawn_alert(network: Network) -> None:
    alert_id = network.post("fr-police", DIFFUSION, {"narrative": "to purge"})
    run_cli("feed", "poll", *network.as_("de-bka"), "--out-dir", str(network.folder))
    run_cli(
        "alert", "withdraw", *network.as_("fr-police"), "--as", "fr-police", alert_id,
        "--reason", "error",
    )  # fmt: skip
    purges = as_json(network, "board", "purges")
    assert isinstance(purges, list)
    [purge] = [p for p in purges if p["alert_id"] == alert_id]
    assert "de-bka" in purge["outstanding"]
    assert alert_id in run_cli("purges", *network.as_("board")).stdout
