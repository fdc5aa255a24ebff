"""The ``liaison`` CLI against a live HTTPS server: keygen, agency add/list/show/rotate/revoke."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def test_registry_through_the_cli(live_server: tuple[str, Path], tmp_path: Path) -> None:
    base, data = live_server
    connect = ["--url", base, "--ca", str(data / "tls" / "ca.pem")]
    admin = [*connect, "--key", str(data / "admin.jwk")]
    prefix = tmp_path / "fr-police"

    cli("keygen", "--out", str(prefix))
    signing = json.loads(Path(f"{prefix}.sign.jwk").read_text())
    public = json.loads(Path(f"{prefix}.public.json").read_text())
    assert "d" in signing and all("d" not in k for k in public["signing_keys"])
    assert (Path(f"{prefix}.sign.jwk").stat().st_mode & 0o077) == 0

    added = cli(
        "agency",
        "add",
        *admin,
        "--id",
        "fr-police",
        "--name",
        "Police nationale",
        "--country",
        "FR",
        "--group",
        "eu",
        "--attribute",
        "biometrics=true",
        "--public",
        f"{prefix}.public.json",
    )
    assert json.loads(added.stdout)["attributes"] == {"biometrics": True}

    own = [*connect, "--key", f"{prefix}.sign.jwk"]
    listing = cli("agency", "list", *own).stdout
    assert "fr-police" in listing and "admin" in listing
    shown = json.loads(cli("agency", "show", *own, "fr-police", "--output", "json").stdout)
    assert shown["signing_keys"][0]["kid"] == signing["kid"]

    rotated = tmp_path / "fr-police.2.sign.jwk"
    cli("agency", "rotate-key", *own, "--id", "fr-police", "--out", str(rotated), "--retire-old")
    new_kid = json.loads(rotated.read_text())["kid"]
    # the old key was revoked by the rotation; the new one works
    refused = cli("agency", "list", *own, check=False)
    assert refused.returncode != 0 and "key-not-valid" in refused.stderr
    assert "fr-police" in cli("agency", "list", *connect, "--key", str(rotated)).stdout

    revoked = cli("agency", "revoke-key", *admin, "--id", "fr-police", "--kid", new_kid)
    assert "revoked_at" in json.loads(revoked.stdout)
    refused = cli("agency", "list", *connect, "--key", str(rotated), check=False)
    assert refused.returncode != 0 and "key-not-valid" in refused.stderr


def test_serve_refuses_a_database_without_current_migrations(tmp_path: Path) -> None:
    missing = cli("serve", "--data-dir", str(tmp_path / "missing"), "--port", "1", check=False)
    assert missing.returncode != 0
    assert "liaison init" in missing.stderr
    (tmp_path / "empty").mkdir()
    result = cli("serve", "--data-dir", str(tmp_path / "empty"), "--port", "1", check=False)
    assert result.returncode != 0
    assert "liaison db upgrade" in result.stderr


def test_init_refuses_to_run_twice(tmp_path: Path) -> None:
    cli("init", "--data-dir", str(tmp_path / "d"))
    again = cli("init", "--data-dir", str(tmp_path / "d"), check=False)
    assert again.returncode != 0 and "already initialised" in again.stderr
