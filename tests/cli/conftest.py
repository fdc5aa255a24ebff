"""A live ``liaison serve`` (HTTPS, dev CA) for CLI and SDK tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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
