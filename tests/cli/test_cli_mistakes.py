"""Common user mistakes print one clear error line and exit non-zero, never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_server_not_running(tmp_path: Path) -> None:
    cli("keygen", "--out", str(tmp_path / "a"))
    url = f"https://127.0.0.1:{free_port()}"
    result = cli("agency", "list", "--url", url, "--key", str(tmp_path / "a.sign.jwk"))
    refused(result, "cannot connect", "is the server running")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    cli("keygen", "--out", str(tmp_path / "a"))
    url = f"https://127.0.0.1:{free_port()}"
    result = cli("--debug", "agency", "list", "--url", url, "--key", str(tmp_path / "a.sign.jwk"))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_mistakes_against_a_live_server(live_server: tuple[str, Path], tmp_path: Path) -> None:
    base, data = live_server
    ca = str(data / "tls" / "ca.pem")
    admin = ["--key", str(data / "admin.jwk")]
    refused(cli("agency", "list", "--url", base, *admin), "not trusted", "--ca")
    http = base.replace("https://", "http://")
    refused(cli("agency", "list", "--url", http, "--ca", ca, *admin), "https")
    bad_ca = tmp_path / "bad-ca.pem"
    bad_ca.write_text("not a certificate\n")
    refused(cli("agency", "list", "--url", base, "--ca", str(bad_ca), *admin), "CA bundle")
    connect = ["--url", base, "--ca", ca]
    cli("keygen", "--out", str(tmp_path / "fr"))
    malformed = tmp_path / "alert.json"
    malformed.write_text('{"kind": "diffusion",')
    refused(
        cli(
            "alert",
            "post",
            *connect,
            "--as",
            "fr",
            "--key",
            str(tmp_path / "fr.sign.jwk"),
            str(malformed),
        ),
        "not valid JSON",
        str(malformed),
    )
    malformed.write_text(json.dumps([{"kind": "diffusion"}]))
    refused(
        cli(
            "alert",
            "post",
            *connect,
            "--as",
            "fr",
            "--key",
            str(tmp_path / "fr.sign.jwk"),
            str(malformed),
        ),
        "JSON object",
    )
    # A 422 shows every error the server sent, not only "see errors".
    result = cli(
        "agency",
        "add",
        *connect,
        *admin,
        "--id",
        "Not Valid!",
        "--name",
        "x",
        "--country",
        "FRA",
        "--public",
        str(tmp_path / "fr.public.json"),
    )
    refused(result, "422", "validation-failed", "Request failed validation")
    # every entry of the problem's `errors`, one indented line each
    assert "\n  body.id: " in result.stderr and "\n  body.country: " in result.stderr
    # a CA file that does not exist, a key file that is not a key
    missing = cli("agency", "list", "--url", base, "--ca", str(tmp_path / "nope.pem"), *admin)
    refused(missing, "nope.pem", "does not exist")
    not_a_key = tmp_path / "not-a-key.jwk"
    not_a_key.write_text('{"kty": "OKP"}')
    refused(cli("agency", "list", *connect, "--key", str(not_a_key)), "not-a-key.jwk")
    # An unregistered key: the server answers 401, printed as one problem line.
    refused(cli("agency", "list", *connect, "--key", str(tmp_path / "fr.sign.jwk")), "401")


def test_wrong_kek_at_serve(tmp_path: Path, databases: object) -> None:
    data = tmp_path / "data"
    subprocess.run(
        [sys.executable, "-m", "service.cli", "init", "--data-dir", str(data)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (data / "kek.key").write_text("A" * 43 + "\n")
    result = cli("serve", "--data-dir", str(data), "--port", str(free_port()))
    refused(result, "key-encryption key")
