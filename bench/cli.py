"""``python -m bench cli``: start-up time of the ``liaison`` command (target 0.3 s).

Each figure is the wall time of a fresh ``python -m service.cli ...`` process, measured
``--runs`` times after one warm-up run (the OS file cache warm, as for a user's second
command); the median and the 95th percentile are printed with the target and their ratio.
The client command points at a closed port, so it measures start-up, argument parsing, key
loading and the connection attempt, not a server.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from service.protocol.crypto import SigningPrivateKey

TARGET_SECONDS = 0.3


def say(line: str) -> None:
    print(line, flush=True)


@dataclass(frozen=True)
class StartupFigure:
    command: str
    median_s: float
    p95_s: float
    target_s: float
    runs: int


def _time(arguments: list[str], runs: int) -> list[float]:
    samples = []
    for attempt in range(runs + 1):
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "service.cli", *arguments],
            capture_output=True,
            check=False,
            timeout=60,
        )
        if attempt:  # the first run only warms the file cache
            samples.append(time.perf_counter() - began)
    return samples


def measure(runs: int) -> list[StartupFigure]:
    """The start-up figures of ``--help``, a sub-command's help and a client command."""
    with tempfile.TemporaryDirectory() as directory:
        key_file = Path(directory) / "fr-police.sign.jwk"
        key_file.write_text(json.dumps(SigningPrivateKey.generate("fr-police-1").to_jwk()))
        commands = {
            "liaison --help": ["--help"],
            "liaison feed poll --help": ["feed", "poll", "--help"],
            "liaison agency list (client, closed port)": [
                "agency",
                "list",
                "--url",
                "http://127.0.0.1:9",
                "--key",
                str(key_file),
            ],
        }
        figures = []
        for name, arguments in commands.items():
            samples = sorted(_time(arguments, runs))
            p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
            figures.append(
                StartupFigure(name, statistics.median(samples), p95, TARGET_SECONDS, runs)
            )
    return figures


def report(figures: list[StartupFigure]) -> None:
    for figure in figures:
        say(
            f"cli start-up {figure.command}: median {figure.median_s * 1000:.0f} ms, "
            f"p95 {figure.p95_s * 1000:.0f} ms (target {figure.target_s * 1000:.0f} ms, "
            f"ratio {figure.target_s / figure.median_s:.2f})"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--json", dest="json_path", help="also write the figures here")


def main(arguments: argparse.Namespace) -> int:
    figures = measure(int(arguments.runs))
    report(figures)
    if arguments.json_path:
        Path(arguments.json_path).write_text(json.dumps([asdict(f) for f in figures], indent=2))
    return 0
