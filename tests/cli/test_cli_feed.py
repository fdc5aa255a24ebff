"""``liaison feed poll``: a saved cursor, append-only JSON Lines, resumable after Ctrl-C,
never destroyed by the wrong key, and still decrypting after a key rotation."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import DIFFUSION, Network, run_cli

pytestmark = pytest.mark.slow


def saved(folder: Path, agency: str) -> list[dict[str, object]]:
    lines = (folder / f"{agency}.feed.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_poll_appends_and_resumes_from_the_saved_cursor(network: Network, tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    first = network.post("fr-police", DIFFUSION, {"narrative": "one"})
    run_cli("feed", "poll", *network.as_("de-bka"), "--out-dir", str(out))
    second = network.post("fr-police", DIFFUSION, {"narrative": "two"})
    polled = run_cli("feed", "poll", *network.as_("de-bka"), "--out-dir", str(out), "-o", "json")
    summary = json.loads(polled.stdout)
    assert [item["alert_id"] for item in summary["items"]] == [second]
    assert summary["agency"] == "de-bka"
    assert [item["alert_id"] for item in saved(out, "de-bka")] == [first, second]
    assert (out / "de-bka.cursor").read_text().strip() == summary["next"]


def test_follow_interrupted_then_resumed_loses_and_duplicates_nothing(
    network: Network, tmp_path: Path
) -> None:
    out = tmp_path / "feeds"
    posted = [network.post("fr-police", DIFFUSION, {"narrative": f"n{i}"}) for i in range(3)]
    follower = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "feed", "poll", *network.as_("de-bka"),
         "--out-dir", str(out), "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    cursor_file = out / "de-bka.cursor"
    deadline = time.monotonic() + 60
    while not cursor_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    follower.send_signal(signal.SIGINT)
    _stdout, stderr = follower.communicate(timeout=60)
    assert follower.returncode == 130, stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr
    assert "resume from cursor" in stderr
    posted += [network.post("fr-police", DIFFUSION, {"narrative": "after"})]
    run_cli("feed", "poll", *network.as_("de-bka"), "--out-dir", str(out))
    assert [item["alert_id"] for item in saved(out, "de-bka")] == posted


def test_the_wrong_agencys_key_never_destroys_saved_items(network: Network, tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    alert_id = network.post("fr-police", DIFFUSION, {"narrative": "keep me"})
    run_cli("feed", "poll", *network.as_("de-bka"), "--out-dir", str(out))
    before = (out / "de-bka.feed.jsonl").read_bytes()
    # another agency's key with --as de-bka: refused before anything is written
    wrong = run_cli(
        "feed", "poll", *network.as_("us-fbi"), "--as", "de-bka", "--out-dir", str(out),
        check=False,
    )  # fmt: skip
    assert wrong.returncode != 0 and "not a signing key of de-bka" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    # another agency's key alone: its own files, de-bka's untouched
    run_cli("feed", "poll", *network.as_("us-fbi"), "--out-dir", str(out))
    assert (out / "de-bka.feed.jsonl").read_bytes() == before
    assert [item["alert_id"] for item in saved(out, "de-bka")] == [alert_id]
    assert (out / "us-fbi.cursor").exists()


def test_poll_decrypts_after_a_key_rotation(network: Network, tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    rotated = network.folder / "de-bka.2.sign.jwk"
    run_cli(
        "agency", "rotate-key", *network.as_("de-bka"), "--id", "de-bka", "--out", str(rotated),
        "--retire-old",
    )  # fmt: skip
    alert_id = network.post("fr-police", DIFFUSION, {"narrative": "after rotation"})
    run_cli("feed", "poll", *network.connect, "--key", str(rotated), "--out-dir", str(out))
    [item] = saved(out, "de-bka")
    assert item["alert_id"] == alert_id
    assert item["content"] == {"narrative": "after rotation"}


def test_the_wrong_encryption_key_is_one_line(network: Network, tmp_path: Path) -> None:
    network.post("fr-police", DIFFUSION, {"narrative": "sealed"})
    result = run_cli(
        "feed", "poll", *network.as_("de-bka"), "--enc-key",
        str(network.folder / "fr-police.enc.jwk"), "--out-dir", str(tmp_path), check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "cannot open item" in result.stderr and "enc.jwk" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
