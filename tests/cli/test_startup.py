"""``import service.cli.main`` (what ``liaison --help`` and client commands pay for) must
not import the server's stack."""

from __future__ import annotations

import subprocess
import sys

SERVER_MODULES = ("sqlalchemy", "alembic", "fastapi", "uvicorn", "cedarpy", "starlette")


def test_cli_main_imports_no_server_module() -> None:
    probe = (
        "import sys, service.cli.main\n"
        f"print(','.join(m for m in {SERVER_MODULES!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_help_lists_every_command_without_importing_them() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for name in ("review", "report", "purges", "audit", "feed", "serve"):
        assert f"  {name} " in result.stdout
