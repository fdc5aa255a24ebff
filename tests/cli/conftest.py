"""A live ``liaison serve`` (HTTPS, dev CA) for CLI and SDK tests."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import DatabaseFactory


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    port = _free_port()
    env = {**os.environ, "LIAISON_ENV": "development"}
    log_path = tmp_path / "server.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--data-dir",
            str(data),
            "--database",
            url,
            "--port",
            str(port),
            "--tls-cert",
            str(data / "tls" / "server.pem"),
            "--tls-key",
            str(data / "tls" / "server-key.pem"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"https://localhost:{port}"
    context = ssl.create_default_context(cafile=str(data / "tls" / "ca.pem"))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/v1/health", verify=context).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {log_path.read_text()}")
            time.sleep(0.2)
        yield base, data
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
