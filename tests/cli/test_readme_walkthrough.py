"""The README's walkthrough, run as written against a live server: it fails if the README's
commands stop working."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"<!-- walkthrough -->\n```sh\n(.*?)\n```\n<!-- /walkthrough -->", re.S)


def walkthrough() -> str:
    match = BLOCK.search(README.read_text())
    assert match, "README.md has no walkthrough block"
    return match.group(1)


def test_readme_walkthrough_runs(live_server: tuple[str, Path], tmp_path: Path) -> None:
    base, data = live_server
    script = walkthrough()
    assert "export LIAISON_URL=https://localhost:8443 " in script
    work = tmp_path / "work"
    work.mkdir()
    (work / "liaison-data").symlink_to(data)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # `liaison` is this interpreter's CLI, whether or not the package's script is installed.
    launcher = bin_dir / "liaison"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -m service.cli "$@"\n')
    launcher.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    for name in ("LIAISON_POLICY_DIR", "LIAISON_KEY", "LIAISON_OUTPUT", "LIAISON_FEED_DIR"):
        env.pop(name, None)
    # -e: stop at the first failing command; -x: the trace names it in the failure message.
    result = subprocess.run(
        ["bash", "-euxo", "pipefail", "-c", script.replace("https://localhost:8443", base)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    out = result.stdout
    # the partner got the alert, the released held alert and the withdrawal, once each
    saved = [json.loads(line) for line in (work / "de-bka.feed.jsonl").read_text().splitlines()]
    assert [item["type"] for item in saved] == ["alert", "alert", "withdrawal"]
    assert saved[0]["content"]["narrative"] == "Carousel VAT fraud ring"
    assert saved[1]["claims"]["purpose"] == "locate"
    # the reviewer saw the whole held alert; the auditor's second verify checked consistency
    assert "A. Nonymous" in out
    assert "consistency  ok from size" in out
    assert (work / "cp.txt").is_file()
    assert "outcomes" in out and "in force" in out
