"""``python -m bench.suite``: the whole exchange path against its targets, on each backend.

On each backend a real ``liaison serve`` (2 workers on PostgreSQL, 1 on SQLite) is driven over
HTTP by this process:

1. publish: alerts accepted per second with 20, 100 and 500 registered partners (16 posters),
   each against the floor-limited rate (workers / in-process unavoidable seconds per alert,
   measured in the same run by ``bench.exchange.floors``);
2. poll, backlog: 16 and 64 partners replaying their feeds in pages of 100, flat out;
3. poll, steady state: 16 (and 64) caught-up partners polling every 0.5 s while one
   originator posts 1 or 5 alerts/s to 100 partners (the case the p99 ≤ 50 ms target is
   about: the poll's latency with a publisher competing for the same CPU);
4. long-poll: acceptance (201) to appearance in a waiting partner's ``wait=`` poll;
5. growth: poll p50 and inclusion- and consistency-proof latency at 10k, 100k (and 1M)
   stored alerts (about twice as many audit entries), on a database filled by
   ``bench.growth``;
6. audit: appends per second integrated into signed checkpoints and the checkpoint lag, at
   the target rate and flat out (``bench.audit_appends``).

Every figure is printed with its target (or floor) and ratio; ``--json`` keeps them, and the
plots go to ``docs/plots/`` (``bench.plots``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.audit_appends import measure_load
from bench.common import (
    BACKENDS,
    Backend,
    Distribution,
    ScratchDatabase,
    against,
    machine,
    postgresql_version,
    scratch_database,
)
from bench.exchange import (
    CLEAR,
    CONTENT,
    Agency,
    floors,
    poll_rate,
    publish_rate,
    register,
    serve,
    wait_idle,
)
from bench.growth import run_growth
from bench.longpoll import longpoll_delay, steady_poll
from service.live import LiveServer

PUBLISH_FLOOR_SHARE = 0.5
POLL_P99_MS = 50.0
LONGPOLL_P99_S = 1.0
GROWTH_RATIO = 1.5
INCLUSION_MEDIAN_MS = 2.0
TARGET_APPENDS = 5_000.0
# AuditLog's contract: an entry is in a signed checkpoint within 2 s of its commit.
CHECKPOINT_LAG_S = 2.0
PUBLISH_PARTNERS = (20, 100, 500)
POLL_PARTNERS = (16, 64)
STEADY_RATE = 5.0
# (polling partners, alerts posted per second): the steady-state runs, lightest first.
STEADY_RUNS = ((16, 1.0), (16, STEADY_RATE), (64, STEADY_RATE))
STEADY_INTERVAL = 0.5


@dataclass(frozen=True)
class Options:
    backends: tuple[Backend, ...]
    quick: bool
    seconds: float
    sizes: list[int]
    longpoll_alerts: int
    growth_polls: int
    proofs: int
    phases: tuple[str, ...] = ("exchange", "growth", "audit")


@dataclass
class Report:
    """Every figure of one backend, flat enough for JSON and the plots."""

    backend: str
    workers: int
    publish: list[dict[str, Any]] = field(default_factory=list)
    poll: list[dict[str, Any]] = field(default_factory=list)
    steady: list[dict[str, Any]] = field(default_factory=list)
    longpoll: dict[str, Any] = field(default_factory=dict)
    growth: list[dict[str, Any]] = field(default_factory=list)
    floor: dict[str, float] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def dist_ms(d: Distribution) -> str:
    return f"p50 {ms(d.median)}, p95 {ms(d.p95)}, p99 {ms(d.p99)}"


def say(line: str) -> None:
    print(line, flush=True)


@dataclass
class Context:
    """One backend's running server and registered agencies."""

    db: ScratchDatabase
    server: LiveServer
    origin: Agency
    partners: list[Agency]
    options: Options
    report: Report


async def publish_phase(ctx: Context, count: int) -> None:
    db, server, origin, partners = ctx.db, ctx.server, ctx.origin, ctx.partners
    report, seconds = ctx.report, ctx.options.seconds
    kb = db.keys.key_binding
    kb_key = kb.public.to_jwk()
    if len(partners) < count:
        more = [f"partner-{i:03d}" for i in range(len(partners), count)]
        partners += await register(db, more)
    await wait_idle(db.url)
    rate, latency = await publish_rate(server.base_url, origin, kb_key, seconds, 16)
    await wait_idle(db.url)
    floor = floors(origin, partners, kb)
    floor_rate = report.workers / floor["publish"]
    share = rate / floor_rate
    if count == PUBLISH_PARTNERS[0]:
        report.floor = floor
    report.publish.append(
        {
            "partners": count,
            "rate": rate,
            "p50": latency.median,
            "p99": latency.p99,
            "floor_seconds": floor["publish"],
            "floor_rate": floor_rate,
            "ratio": share,
        }
    )
    verdict = (
        " " + against(share, PUBLISH_FLOOR_SHARE, higher_is_better=True)
        if count == PUBLISH_PARTNERS[0]
        else ""
    )
    say(
        f"publish, {count} partners: {rate:,.1f} alerts/s (latency "
        f"p50 {ms(latency.median)}, p99 {ms(latency.p99)}); floor "
        f"{floor['publish'] * 1000:.2f} ms/alert = {floor_rate:,.0f}/s on "
        f"{report.workers} worker(s); ratio {share:.2f} of floor{verdict}"
    )


async def live_phases(ctx: Context) -> None:
    db, server, origin, partners = ctx.db, ctx.server, ctx.origin, ctx.partners
    report, seconds, options = ctx.report, ctx.options.seconds, ctx.options
    kb_key = db.keys.key_binding.public.to_jwk()
    item_floor = report.floor["item"] + report.floor["request_verify"] / 100
    floor_items = report.workers / item_floor
    for count in POLL_PARTNERS:
        # Each measurement starts from a quiet server: the previous one's audit backlog
        # would otherwise be integrated during it (and, on SQLite, hold the one writer).
        await wait_idle(db.url)
        items, poll = await poll_rate(server.base_url, partners[:count], seconds, 100)
        report.poll.append(
            {
                "partners": count,
                "items_per_second": items,
                "p50": poll.median,
                "p95": poll.p95,
                "p99": poll.p99,
                "floor_items": floor_items,
                "ratio": items / floor_items,
            }
        )
        say(
            f"poll (backlog, flat out), {count} partners, pages of 100: "
            f"{items:,.0f} items/s = {items / floor_items:.2f} of floor "
            f"({floor_items:,.0f}/s at {item_floor * 1000:.3f} ms/item); per poll "
            f"{dist_ms(poll)}"
            + (
                " " + against(poll.p99 * 1000, POLL_P99_MS, higher_is_better=False)
                if count == POLL_PARTNERS[0]
                else ""
            )
        )
    for count, rate in STEADY_RUNS[:2] if options.quick else STEADY_RUNS:
        await wait_idle(db.url)
        steady = await steady_poll(
            server.base_url,
            db.url,
            origin,
            kb_key,
            partners[:count],
            seconds=seconds + 2,
            rate=rate,
            interval=STEADY_INTERVAL,
        )
        report.steady.append(
            {
                "partners": count,
                "offered": rate,
                "rate": steady.posted,
                "items_per_second": steady.items_per_second,
                "polls_per_second": steady.polls_per_second,
                "p50": steady.latency.median,
                "p95": steady.latency.p95,
                "p99": steady.latency.p99,
            }
        )
        say(
            f"poll (steady state: caught up, every {STEADY_INTERVAL} s, {rate:g} alerts/s "
            f"offered to {len(partners)} partners, {steady.posted:.1f}/s posted), {count} "
            f"partners: {steady.polls_per_second:,.0f} polls/s, "
            f"{steady.items_per_second:,.0f} items/s; per poll {dist_ms(steady.latency)} "
            + against(steady.latency.p99 * 1000, POLL_P99_MS, higher_is_better=False)
        )
    await wait_idle(db.url)
    waiting = await longpoll_delay(
        server.base_url,
        db.url,
        origin,
        kb_key,
        partners[:8],
        alerts=options.longpoll_alerts,
        rate=5.0,
    )
    report.longpoll = {
        "partners": waiting.partners,
        "alerts": waiting.alerts,
        "samples": waiting.delay.count,
        "p50": waiting.delay.median,
        "p95": waiting.delay.p95,
        "p99": waiting.delay.p99,
        "max": waiting.delay.maximum,
        "early": waiting.early,
        "missing": waiting.missing,
    }
    say(
        f"long-poll delay, {waiting.alerts} alerts x {waiting.partners} waiting partners "
        f"= {waiting.delay.count} samples ({waiting.missing} missing, {waiting.early} "
        f"seen before the 201 arrived, counted as 0): {dist_ms(waiting.delay)}, max "
        f"{ms(waiting.delay.maximum)} "
        + against(waiting.delay.p99, LONGPOLL_P99_S, higher_is_better=False)
    )


async def run_exchange(backend: Backend, options: Options, report: Report) -> None:
    """Publish at 20 and 100 partners, the poll and long-poll phases, then publish at 500."""
    async with scratch_database(backend) as db:
        names = [f"partner-{i:03d}" for i in range(PUBLISH_PARTNERS[0])]
        origin, *partners = await register(db, ["origin", *names])
        async with serve(db, report.workers) as server:
            ctx = Context(db, server, origin, partners, options, report)
            for count in PUBLISH_PARTNERS[:2]:
                await publish_phase(ctx, count)
            await live_phases(ctx)
            await publish_phase(ctx, PUBLISH_PARTNERS[2])


async def run_growth_phase(backend: Backend, options: Options, report: Report) -> None:
    async with scratch_database(backend) as db:
        origin, *pollers = await register(db, ["origin", *(f"poller-{i:02d}" for i in range(16))])
        points = await run_growth(
            db, origin, pollers, options.sizes, report.workers, options.growth_polls, options.proofs
        )
    for point in points:
        report.growth.append(
            {
                "alerts": point.alerts,
                "audit_entries": point.audit_entries,
                "populate_seconds": point.populate_seconds,
                "poll_p50": point.poll.median,
                "poll_p99": point.poll.p99,
                "inclusion_p50": point.inclusion.median,
                "inclusion_p99": point.inclusion.p99,
                "consistency_p50": point.consistency.median,
                "consistency_p99": point.consistency.p99,
            }
        )
        say(
            f"growth, {point.alerts:,} alerts ({point.audit_entries:,} audit entries, filled in "
            f"{point.populate_seconds:.1f} s): poll of 100 {dist_ms(point.poll)}; inclusion "
            f"proof p50 {point.inclusion.median * 1000:.3f} ms, p99 "
            f"{point.inclusion.p99 * 1000:.3f} ms; consistency proof p50 "
            f"{point.consistency.median * 1000:.3f} ms, p99 {point.consistency.p99 * 1000:.3f} ms"
        )
    first, last = points[0], points[-1]
    ratio = last.poll.median / first.poll.median
    say(
        f"growth ratio poll p50({last.alerts:,})/p50({first.alerts:,}) = {ratio:.2f} "
        + against(ratio, GROWTH_RATIO, higher_is_better=False)
    )
    say(
        f"inclusion proof p50 at {last.audit_entries:,} entries: "
        f"{last.inclusion.median * 1000:.3f} ms "
        + against(last.inclusion.median * 1000, INCLUSION_MEDIAN_MS, higher_is_better=False)
    )


async def run_audit_phase(backend: Backend, options: Options, report: Report) -> None:
    """Appends per second and checkpoint lag (``bench.audit_appends``): 2 app processes x 4
    writers x 100 entries per transaction, each running its integrator, on a fresh log;
    offered the target rate through both append paths, then flat out. (Proof latency is in
    the growth phase; ``python -m bench audit`` has the same loads on a 1M-entry log.)"""
    seconds = 2.0 if options.quick else 10.0
    async with scratch_database(backend) as db:
        runs = [(TARGET_APPENDS, "append"), (TARGET_APPENDS, "append_many"), (None, "append_many")]
        if options.quick:  # the fan-out's path, at the target and flat out
            runs = runs[1:]
        for rate, api in runs:
            load = await measure_load(
                db, writers=2, tasks=4, batch=100, seconds=seconds, rate=rate, api=api
            )
            report.audit.append(
                {
                    "api": api,
                    "offered": rate,
                    "integrated_rate": load.integrated_rate,
                    "committed_rate": load.enqueue_rate,
                    "lag_p50": load.lag.median,
                    "lag_p95": load.lag.p95,
                    "lag_max": load.lag.maximum,
                    "failures": load.failures,
                }
            )
            offered = f"offered {rate:,.0f}/s" if rate else "flat out"
            verdict = (
                " " + against(load.integrated_rate, TARGET_APPENDS, higher_is_better=True)
                if rate
                else ""
            )
            say(
                f"audit appends ({api}, {offered}, {seconds:g} s): integrated "
                f"{load.integrated_rate:,.0f}/s{verdict}, committed {load.enqueue_rate:,.0f}/s, "
                f"{load.failures} failed; checkpoint lag p50 {ms(load.lag.median)}, p95 "
                f"{ms(load.lag.p95)}, max {ms(load.lag.maximum)} "
                + against(load.lag.p95, CHECKPOINT_LAG_S, higher_is_better=False)
                + " [p95]"
            )


async def run_backend(backend: Backend, options: Options) -> Report:
    report = Report(backend=backend, workers=2 if backend == "postgresql" else 1)
    say(f"## {backend} ({report.workers} worker(s))")
    started = time.monotonic()
    if "exchange" in options.phases:
        await run_exchange(backend, options, report)
    if "growth" in options.phases:
        await run_growth_phase(backend, options, report)
    if "audit" in options.phases:
        await run_audit_phase(backend, options, report)
    say(f"({backend}: {time.monotonic() - started:.0f} s)")
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="< 5 min: 3 s per figure, growth to 50k alerts"
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--sizes", help="comma-separated stored-alert counts for growth")
    parser.add_argument(
        "--phases",
        default="exchange,growth,audit",
        help="comma-separated: exchange, growth, audit",
    )
    parser.add_argument("--json", dest="json_path", help="also write the figures here")
    parser.add_argument("--plots", default="docs/plots", help="directory for PNG plots ('' = none)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead: pyinstrument on in-process publish (100 posts, 20 partners) and polls",
    )


def options(arguments: argparse.Namespace) -> Options:
    quick = bool(arguments.quick)
    backend = str(arguments.backend)
    sizes = (
        [int(s) for s in arguments.sizes.split(",")]
        if arguments.sizes
        else ([10_000, 50_000] if quick else [10_000, 100_000, 1_000_000])
    )
    return Options(
        backends=BACKENDS if backend == "both" else (backend,),  # type: ignore[arg-type]
        quick=quick,
        seconds=3.0 if quick else 10.0,
        sizes=sizes,
        longpoll_alerts=20 if quick else 60,
        growth_polls=60 if quick else 200,
        proofs=200 if quick else 300,
        phases=tuple(str(arguments.phases).split(",")),
    )


def main(arguments: argparse.Namespace) -> int:
    chosen = options(arguments)
    if arguments.profile:
        for backend in chosen.backends:
            asyncio.run(profile(backend, 100, 20))
        return 0
    info = machine()
    pg = asyncio.run(postgresql_version()) if "postgresql" in chosen.backends else "-"
    say(
        f"# Liaison benchmark suite ({'quick' if chosen.quick else 'full'}) on {info['cpus']} x "
        f"{info['cpu']}, {info['memory']}, Python {info['python']}, PostgreSQL {pg}"
    )
    started = time.monotonic()
    from bench.cli import measure, report

    startup = measure(5 if chosen.quick else 10)
    report(startup)
    document: dict[str, Any] = {
        "cli_startup": [asdict(figure) for figure in startup],
        "mode": "quick" if chosen.quick else "full",
        "machine": info,
        "postgresql": pg,
        "backends": [],
    }
    for backend in chosen.backends:
        document["backends"].append(asdict(asyncio.run(run_backend(backend, chosen))))
        if arguments.json_path:  # after each backend: a later failure keeps these figures
            Path(arguments.json_path).write_text(json.dumps(document, indent=2))
    say(f"# total {time.monotonic() - started:.0f} s")
    if arguments.plots:
        from bench.plots import make_plots

        for path in make_plots(document, Path(arguments.plots)):
            say(f"plot: {path}")
    return 0


EXTERNAL = ("cedarpy", "joserfc", "cryptography", "aiosqlite", "asyncpg", "sqlalchemy", "json")


def _inclusive(
    frame: Any, totals: dict[str, float], above: frozenset[str], parent: str = ""
) -> None:
    """Inclusive pyinstrument time of the service's functions and of each entry into a
    library (cedarpy, joserfc, …), counted once per call path."""
    path = str(frame.file_path or "")
    package = ""
    if "/work/main/service/" in path:
        package = "service"
        key = f"{frame.function} ({path.split('/work/main/')[-1]}:{frame.line_no})"
    else:
        tail = path.split("site-packages/")[-1].split("lib/python3.11/")[-1]
        package = tail.split("/")[0] if tail else "built-in"
        key = f"{frame.function} ({package})"
    counted = package == "service" or (package in EXTERNAL and package != parent)
    if counted and key not in above:
        totals[key] = totals.get(key, 0.0) + frame.time
    for child in frame.children:
        _inclusive(child, totals, above | {key}, package)


def _print_profile(title: str, profiler: Any, top: int = 22) -> None:
    """The largest inclusive costs below the request plumbing, as shares of the whole run."""
    root = profiler.last_session.root_frame()
    total = root.time
    totals: dict[str, float] = {}
    _inclusive(root, totals, frozenset())
    say(f"### {title}: {total:.2f} s sampled; inclusive time per function (share of run)")
    for name, value in sorted(totals.items(), key=lambda kv: -kv[1])[:top]:
        say(f"  {value / total:6.1%}  {value * 1000:8.1f} ms  {name}")
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    say("call tree:")
    for line in text.splitlines():
        if line.strip():
            say("  " + line)


async def profile(backend: Backend, posts: int, partners: int) -> None:
    """pyinstrument on the in-process path: ``posts`` sequential posts, then polls of 100."""
    import httpx
    from pyinstrument import Profiler

    from service.app import create_app
    from service.client import LiaisonClient
    from service.client.alerts import AlertsClient, alert_token
    from service.protocol.crypto import b64url_encode
    from service.settings import Settings

    async with scratch_database(backend) as db:
        origin, *others = await register(
            db, ["origin", *(f"partner-{i:03d}" for i in range(partners))]
        )
        with tempfile.TemporaryDirectory() as data:
            settings = Settings(
                data_dir=Path(data),
                database_url=db.url,
                kek=b64url_encode(db.kek),
                env="development",
            )
            app = create_app(settings)
            kb_key = db.keys.key_binding.public.to_jwk()
            tokens = [
                alert_token(origin.signing, origin.id, kb_key, CLEAR, CONTENT)
                for _ in range(posts + 5)
            ]
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                client = LiaisonClient("http://testserver", origin.signing, transport=transport)
                alerts = AlertsClient(client, origin.id)
                for token in tokens[:5]:  # warm up
                    await alerts.post(token)
                profiler = Profiler(interval=0.0005, async_mode="enabled")
                started = time.perf_counter()
                with profiler:
                    for token in tokens[5:]:
                        await alerts.post(token)
                elapsed = time.perf_counter() - started
                say(
                    f"in-process publish, {partners} partners: {posts} posts in {elapsed:.2f} s "
                    f"= {elapsed / posts * 1000:.1f} ms/alert"
                )
                _print_profile(f"publish ({backend}, {partners} partners)", profiler)
                reader = LiaisonClient("http://testserver", others[0].signing, transport=transport)
                await reader.request("GET", "/v1/feed", params={"limit": 100})
                pages = max(1, posts // 100)
                profiler = Profiler(interval=0.0005, async_mode="enabled")
                started = time.perf_counter()
                with profiler:
                    for _ in range(pages * 3):
                        await reader.request("GET", "/v1/feed", params={"limit": 100})
                elapsed = time.perf_counter() - started
                say(
                    f"in-process poll of 100 items: {elapsed / (pages * 3) * 1000:.1f} ms/poll "
                    f"= {elapsed / (pages * 3) * 10:.2f} ms/item"
                )
                _print_profile(f"poll of 100 ({backend})", profiler)
                await client.aclose()
                await reader.aclose()


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__)
    add_arguments(cli)
    sys.exit(main(cli.parse_args()))
