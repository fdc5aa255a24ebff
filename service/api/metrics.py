"""Prometheus metrics: requests by route and status, a latency histogram, process figures,
the domain's counters, and gauges read from the database at scrape time.

Several worker processes (``liaison serve --workers N``) share one directory of counter
files (prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``): a scrape that
lands on any worker reports the sum over all of them. ``prepare_multiprocess`` sets the
directory up before the workers start; each worker marks itself dead when it stops. Gauges
read from the database are not stored in that directory: the worker that answers the scrape
computes them once (``DomainFigures``), so they are never summed across workers.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

# The domain's counters are incremented where the events happen, deep in domain code that
# holds no app, so they live in one registry per process; tests read their increase.
DOMAIN_REGISTRY = CollectorRegistry()
authentication_failures = Counter(
    "liaison_authentication_failures",
    "Requests refused 401, by problem type",
    ["type"],
    registry=DOMAIN_REGISTRY,
)
feed_items_served = Counter(
    "liaison_feed_items_served",
    "Feed items served to partners",
    registry=DOMAIN_REGISTRY,
)
publication_decisions = Counter(
    "liaison_publication_decisions",
    "Publication decisions by outcome: per partner received or withheld; per alert held for review",
    ["outcome"],
    registry=DOMAIN_REGISTRY,
)


def count_decisions(receives: Iterable[bool]) -> None:
    """Count one fan-out's per-partner decisions by outcome."""
    for receive in receives:
        publication_decisions.labels("received" if receive else "withheld").inc()


def count_held() -> None:
    """Count one alert held for review (by screening or by the protected-subject register)."""
    publication_decisions.labels("held").inc()


def multiprocess_dir() -> str | None:
    """The shared counter directory when running several workers, else None."""
    return os.environ.get(MULTIPROCESS_ENV) or None


def prepare_multiprocess(workers: int) -> Path | None:
    """Call before starting ``workers`` worker processes (``liaison serve``): with more than
    one, set up ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory unless the
    operator named one) and empty it of a previous run's files, so that every worker
    counts into it. Returns the directory, or None for a single worker that was not given
    one. Workers inherit it through the environment."""
    named = multiprocess_dir()
    if named is None and workers <= 1:
        return None
    directory = Path(named or tempfile.mkdtemp(prefix="liaison-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_ENV] = str(directory)
    return directory


def mark_worker_dead() -> None:
    """A stopping worker's live gauges leave the multiprocess totals; no-op otherwise."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class DomainFigures:
    """The gauges read from the database when scraped."""

    pending_reviews: int
    overdue_purges: int
    audit_backlog: int
    #: Seconds since the latest checkpoint was signed; None before the first.
    checkpoint_age_seconds: float | None


class _FiguresCollector(Collector):
    def __init__(self, figures: DomainFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[GaugeMetricFamily]:
        f = self.figures
        values: Mapping[str, tuple[str, float | None]] = {
            "liaison_reviews_pending": ("Review cases open", f.pending_reviews),
            "liaison_purges_overdue": (
                "Recipients past an alert's purge deadline without a purged disposition",
                f.overdue_purges,
            ),
            "liaison_audit_backlog": ("Audit entries not yet integrated", f.audit_backlog),
            "liaison_checkpoint_age_seconds": (
                "Seconds since the latest signed checkpoint",
                f.checkpoint_age_seconds,
            ),
        }
        for name, (documentation, value) in values.items():
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    """One registry per app, so that several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "liaison_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "liaison_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )

        self.prepared_decisions = Counter(
            "liaison_prepared_decisions",
            "Publications by what became of the policy decisions made before their transaction"
            " (used; recomputed: the registry or alert differed; unused: held, duplicate or"
            " rejected; none: not prepared)",
            ["outcome"],
            registry=self.registry,
        )

    def render(self, figures: DomainFigures | None = None) -> bytes:
        """The exposition text: every worker's counters (summed in multiprocess mode), this
        process's figures (single-process mode only: per-worker CPU and memory do not add
        up), and ``figures`` once."""
        if multiprocess_dir() is not None:
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            parts = [generate_latest(merged)]
        else:
            process = CollectorRegistry()
            ProcessCollector(registry=process)
            parts = [
                generate_latest(self.registry),
                generate_latest(DOMAIN_REGISTRY),
                generate_latest(process),
            ]
        if figures is not None:
            gauges = CollectorRegistry()
            gauges.register(_FiguresCollector(figures))
            parts.append(generate_latest(gauges))
        return b"".join(parts)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            route = scope.get("route")
            # Route templates, never raw paths: ids in paths would explode label cardinality.
            template = getattr(route, "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
