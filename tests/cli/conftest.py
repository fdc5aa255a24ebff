"""A live ``liaison serve`` (HTTPS, dev CA) for CLI and SDK tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from service.live import LiveServer, TLSFiles
from tests.conftest import DatabaseFactory


def liaison(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def live_server(tmp_path: Path, databases: DatabaseFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path / "data"
    url = databases.new_empty()
    liaison("init", "--data-dir", str(data), "--database", url)
    liaison("dev-certs", "--data-dir", str(data))
    with LiveServer(
        data,
        database_url=url,
        tls=TLSFiles.of_data_dir(data),
        log_path=tmp_path / "server.log",
        ready_timeout=30,
    ) as server:
        yield server.base_url, data


def run_cli(
    *args: str, check: bool = True, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``liaison ARGS`` in a subprocess; with ``check``, fail showing its output."""
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=cwd,
        env=env,
    )
    if check and result.returncode != 0:
        raise AssertionError(result.stdout + result.stderr)
    return result


class Network:
    """A live server with registered parties; keys in ``folder`` named ``ID.sign.jwk``."""

    def __init__(self, base: str, data: Path, folder: Path) -> None:
        self.base, self.data, self.folder = base, data, folder
        self.connect = ["--url", base, "--ca", str(data / "tls" / "ca.pem")]
        self.admin = [*self.connect, "--key", str(data / "admin.jwk")]

    def register(self, agency: str, *extra: str, country: str = "ZZ") -> None:
        prefix = self.folder / agency
        run_cli("keygen", "--out", str(prefix))
        run_cli(
            "agency", "add", *self.admin, "--id", agency, "--name", agency, "--country", country,
            "--public", f"{prefix}.public.json", *extra,
        )  # fmt: skip

    def key(self, agency: str) -> str:
        return str(self.folder / f"{agency}.sign.jwk")

    def as_(self, agency: str) -> list[str]:
        return [*self.connect, "--key", self.key(agency)]

    def post(self, agency: str, clear: Mapping[str, Any], content: Mapping[str, Any]) -> str:
        import json

        alert_file = self.folder / "alert.json"
        alert_file.write_text(json.dumps({**clear, "content": content}))
        posted = run_cli("alert", "post", *self.as_(agency), "--as", agency, str(alert_file))
        return str(json.loads(posted.stdout)["alert_id"])


DIFFUSION: dict[str, Any] = {
    "kind": "diffusion",
    "category": "fraud",
    "tlp": "amber",
    "audience": {"agencies": [], "groups": ["eu"], "all": False},
    "purpose": "investigate",
    "legal_basis": "treaty",
}


@pytest.fixture
def network(live_server: tuple[str, Path], tmp_path: Path) -> Network:
    """fr-police and de-bka (group eu), us-fbi (g7), reviewer ccf, auditor board."""
    base, data = live_server
    keys = tmp_path / "keys"
    keys.mkdir()
    net = Network(base, data, keys)
    net.register("fr-police", "--group", "eu")
    net.register("de-bka", "--group", "eu")
    net.register("us-fbi", "--group", "g7")
    net.register("ccf", "--role", "reviewer", country="XI")
    net.register("board", "--role", "auditor", country="XO")
    return net
