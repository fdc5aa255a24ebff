"""PNG plots of a suite run: poll latency against stored alerts, throughput against partners.

``python -m bench.plots RESULTS.json [OUT_DIR]`` redraws them from ``bench.suite --json``.
Needs matplotlib (the ``bench`` extra).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def make_plots(document: dict[str, Any], directory: Path) -> list[Path]:
    """Draw the plots of ``document`` into ``directory``; return the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    mode = document.get("mode", "")
    backends = document["backends"]
    written: list[Path] = []

    figure, (poll_axis, proof_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for report in backends:
        points = report["growth"]
        if not points:
            continue
        sizes = [p["alerts"] for p in points]
        name = report["backend"]
        poll_axis.plot(sizes, [p["poll_p50"] * 1000 for p in points], "o-", label=f"{name} p50")
        poll_axis.plot(sizes, [p["poll_p99"] * 1000 for p in points], "x--", label=f"{name} p99")
        entries = [p["audit_entries"] for p in points]
        proof_axis.plot(
            entries, [p["inclusion_p50"] * 1000 for p in points], "o-", label=f"{name} inclusion"
        )
        if all("consistency_p50" in p for p in points):
            proof_axis.plot(
                entries,
                [p["consistency_p50"] * 1000 for p in points],
                "s--",
                label=f"{name} consistency",
            )
    poll_axis.set(
        xscale="log",
        xlabel="stored alerts",
        ylabel="poll of 100 items (ms)",
        title="Poll latency vs stored alerts",
    )
    poll_axis.set_ylim(bottom=0)
    proof_axis.set(
        xscale="log",
        xlabel="audit entries",
        ylabel="proof, p50 (ms)",
        title="Proof latency vs log size",
    )
    proof_axis.axhline(2.0, color="grey", linestyle=":", label="inclusion target 2 ms")
    proof_axis.set_ylim(bottom=0)
    for axis in (poll_axis, proof_axis):
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(f"Liaison growth ({mode})")
    figure.tight_layout()
    path = directory / f"latency-vs-stored-alerts-{mode}.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    written.append(path)

    figure, (publish_axis, poll_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for report in backends:
        name = report["backend"]
        publish = report["publish"]
        if publish:
            counts = [p["partners"] for p in publish]
            publish_axis.plot(counts, [p["rate"] for p in publish], "o-", label=f"{name} service")
            publish_axis.plot(
                counts, [p["floor_rate"] for p in publish], "x:", label=f"{name} floor"
            )
        poll = report["poll"]
        if poll:
            counts = [p["partners"] for p in poll]
            poll_axis.plot(
                counts, [p["items_per_second"] for p in poll], "o-", label=f"{name} backlog"
            )
        # Steady state at the main publisher load only (older reports have no "offered").
        steady = [p for p in report["steady"] if p.get("offered", 5.0) == 5.0]
        if steady:
            counts = [p["partners"] for p in steady]
            poll_axis.plot(
                counts, [p["items_per_second"] for p in steady], "s--", label=f"{name} steady"
            )
    publish_axis.set(
        xscale="log",
        yscale="log",
        xlabel="registered partners",
        ylabel="alerts accepted / s",
        title="Publish throughput vs partners",
    )
    counts = sorted({p["partners"] for r in backends for p in r["publish"]})
    if counts:
        publish_axis.minorticks_off()
        publish_axis.set_xticks(counts, [str(c) for c in counts])
    poll_axis.set(
        xlabel="polling partners", ylabel="items served / s", title="Poll throughput vs partners"
    )
    for axis in (publish_axis, poll_axis):
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(f"Liaison throughput ({mode})")
    figure.tight_layout()
    path = directory / f"throughput-vs-partners-{mode}.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    written.append(path)
    return written


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m bench.plots RESULTS.json [OUT_DIR]", file=sys.stderr)
        return 2
    document = json.loads(Path(argv[0]).read_text())
    for path in make_plots(document, Path(argv[1] if len(argv) > 1 else "docs/plots")):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
