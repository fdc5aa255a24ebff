"""The README's first command: ``liaison demo`` runs the whole exchange and says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "demo", "--data-dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # the bilateral forbid and the TLP caps are visible in the fan-out
    assert "withheld from borduria-sis: bilateral-ruritania-borduria-no-terrorism" in out
    assert "withheld from freedonia-fbi: tlp-red-named-only" in out
    # syldavia-cyber has no biometrics or location clearance: both are redacted for it
    assert "yellow    missing-person  TLP:GREEN  sees: subject, 2 redacted" in out
    assert "genovia-police: declined" in out
    # governance: the red notice is held, read by the reviewer and approved; a challenge
    # leads to cancellation and a withdrawal for the recipient
    assert "held for review: screening-hold-coercive-purpose, screening-hold-red-notice" in out
    assert "approved: the normal fan-out follows" in out
    assert "review decision: cancelled -> alert is cancelled" in out
    assert "freedonia-fbi got a withdrawal notice: political character (Article 3)" in out
    assert "purge confirmed by genovia-police; outstanding: syldavia-cyber" in out
    assert "syldavia-cyber got a withdrawal notice: evidence secured" in out
    assert "signed checkpoint verified" in out
