"""Live traffic: caught-up partners polling while a publisher posts at a fixed rate.

Two measurements against a running server whose partners are already registered:

- ``steady_poll``: partners start at the end of their feeds and poll pages of (up to) 100
  every ``interval`` seconds (no ``wait``) while one originator posts ``rate`` alerts per
  second; each poll returns only the few new items. This is the case a poll p99 target is
  about: a partner that keeps up, not one replaying its whole history.
- ``longpoll_delay``: partners hold ``wait=`` long polls; one originator posts alerts one at a
  time; the delay of an alert is from its POST returning 201 to its appearance in a waiting
  partner's response, for every (alert, partner) pair.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from sqlalchemy import func, select

from bench.common import Distribution
from bench.exchange import CLEAR, CONTENT, Agency
from service.alerts.models import FeedItem
from service.client import LiaisonClient
from service.client.alerts import AlertsClient, alert_token
from service.db.engine import make_engine, make_sessionmaker


@dataclass(frozen=True)
class SteadyResult:
    partners: int
    rate: float
    interval: float
    posted: float
    items_per_second: float
    polls_per_second: float
    latency: Distribution


@dataclass(frozen=True)
class LongPollResult:
    partners: int
    alerts: int
    delay: Distribution
    early: int
    missing: int


async def feed_end(url: str) -> int:
    """The highest feed cursor now: a partner starting after it is caught up."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return int(await session.scalar(select(func.max(FeedItem.cursor))) or 0)
    finally:
        await engine.dispose()


def _tokens(origin: Agency, kb_key: dict[str, str], count: int) -> list[str]:
    return [alert_token(origin.signing, origin.id, kb_key, CLEAR, CONTENT) for _ in range(count)]


async def _publish_paced(
    base: str,
    origin: Agency,
    tokens: list[str],
    rate: float,
    accepted: dict[str, float] | None = None,
) -> int:
    """Post ``tokens`` one by one at ``rate`` per second; record acceptance times by id."""
    client = LiaisonClient(base, origin.signing, timeout=60)
    alerts = AlertsClient(client, origin.id)
    posted = 0
    started = time.perf_counter()
    try:
        for n, token in enumerate(tokens):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = await alerts.post(token)
            if accepted is not None:
                accepted[body["alert_id"]] = time.perf_counter()
            posted += 1
    finally:
        await client.aclose()
    return posted


async def steady_poll(
    base: str,
    url: str,
    origin: Agency,
    kb_key: dict[str, str],
    pollers: list[Agency],
    *,
    seconds: float,
    rate: float,
    interval: float,
) -> SteadyResult:
    """Caught-up partners polling every ``interval`` s while alerts arrive at ``rate``/s."""
    start = await feed_end(url)
    tokens = _tokens(origin, kb_key, int(seconds * rate))
    latencies: list[float] = []
    served = 0
    done = asyncio.Event()
    warm = asyncio.Barrier(len(pollers) + 1)

    async def poller(agency: Agency, offset: float) -> None:
        nonlocal served
        cursor = str(start)
        async with LiaisonClient(base, agency.signing, timeout=60) as client:
            # Not measured: a client's first request also opens its connection, and 16
            # clients starting at once measured the load generator's start-up (~200 ms).
            await client.request("GET", "/v1/feed", params={"limit": 1, "after": cursor})
            await warm.wait()
            await asyncio.sleep(offset)
            while not done.is_set():
                began = time.perf_counter()
                response = await client.request(
                    "GET", "/v1/feed", params={"limit": 100, "after": cursor}
                )
                latencies.append(time.perf_counter() - began)
                body = response.json()
                served += len(body["items"])
                cursor = body["next"]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), interval)

    tasks = [
        asyncio.create_task(poller(a, interval * i / len(pollers))) for i, a in enumerate(pollers)
    ]
    await warm.wait()
    began = time.perf_counter()
    posted = await _publish_paced(base, origin, tokens, rate)
    elapsed = time.perf_counter() - began
    done.set()
    await asyncio.gather(*tasks)
    return SteadyResult(
        partners=len(pollers),
        rate=rate,
        interval=interval,
        posted=posted / elapsed,
        items_per_second=served / elapsed,
        polls_per_second=len(latencies) / elapsed,
        latency=Distribution.of(latencies),
    )


async def longpoll_delay(
    base: str,
    url: str,
    origin: Agency,
    kb_key: dict[str, str],
    waiters: list[Agency],
    *,
    alerts: int,
    rate: float,
) -> LongPollResult:
    """Acceptance-to-delivery delay of ``alerts`` alerts to partners holding long polls."""
    start = await feed_end(url)
    tokens = _tokens(origin, kb_key, alerts)
    accepted: dict[str, float] = {}
    arrived: dict[tuple[str, str], float] = {}
    ready = 0

    async def waiter(agency: Agency) -> None:
        nonlocal ready
        cursor = str(start)
        async with LiaisonClient(base, agency.signing, timeout=60) as client:
            first = True
            while True:
                request = client.request(
                    "GET", "/v1/feed", params={"limit": 100, "after": cursor, "wait": 10}
                )
                if first:
                    ready += 1
                    first = False
                body = (await request).json()
                now = time.perf_counter()
                for item in body["items"]:
                    arrived.setdefault((item["alert_id"], agency.id), now)
                cursor = body["next"]

    tasks = [asyncio.create_task(waiter(a)) for a in waiters]
    # Let every waiter's first long poll reach the server and start waiting.
    await asyncio.sleep(1.0)
    await _publish_paced(base, origin, tokens, rate, accepted)
    expected = len(accepted) * len(waiters)
    for _ in range(100):  # stragglers: up to 5 s
        if len(arrived) >= expected:
            break
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    # A response can reach the partner before the 201 reaches the publisher (the commit
    # precedes both): such a delay counts as zero, and is counted as ``early``.
    raw = [
        arrived[(alert_id, agency.id)] - at
        for alert_id, at in accepted.items()
        for agency in waiters
        if (alert_id, agency.id) in arrived
    ]
    delays = [max(0.0, value) for value in raw]
    return LongPollResult(
        partners=len(waiters),
        alerts=len(accepted),
        delay=Distribution.of(delays),
        early=sum(1 for value in raw if value < 0),
        missing=expected - len(delays),
    )
