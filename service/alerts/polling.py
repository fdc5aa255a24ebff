"""A partner's poll of its feed, waiting up to ``wait`` seconds for something to serve."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.feed import FeedService, ServedItem, current_encryption_key, parse_cursor
from service.alerts.notify import POLL_SECONDS, FeedNotifier
from service.alerts.repository import AlertRepository
from service.api.dependencies import SignedRequest
from service.api.metrics import feed_items_served
from service.api.principal import AuthenticatedPrincipal
from service.audit.log import AuditLog
from service.audit.repository import AuditRepository
from service.broker.keys import BrokerKeys
from service.protocol.clock import Clock
from service.registry.repository import RegistryRepository


@dataclass(frozen=True)
class FeedPage:
    items: list[ServedItem]
    #: The position after the last item served (or the request's own when none was).
    next: int
    #: The latest signed checkpoint at the time of serving ("" before the first one).
    checkpoint: str


async def poll(
    signed: SignedRequest,
    transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    notifier: FeedNotifier,
    keys: BrokerKeys,
    clock: Clock,
    after: str | None,
    limit: int,
    wait: float,
) -> FeedPage:
    """Serve the caller's feed after cursor ``after``, waiting up to ``wait`` seconds for an
    item when there is none yet.

    Waiting holds no transaction: each look is its own short one, and the request is
    authenticated in the first (one transaction for a poll that does not wait). Raises the
    authentication errors, and InvalidInput for a malformed cursor, before serving anything.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    principal: AuthenticatedPrincipal | None = None
    async with contextlib.AsyncExitStack() as stack:
        while True:
            now = clock.now()
            async with transaction() as session:
                if principal is None:
                    principal = await signed.authenticate(session)
                    position = parse_cursor(after)
                    # Registered before the first look: nothing committed after it is missed.
                    woken = await stack.enter_async_context(notifier.waiter(principal.id))
                woken.clear()
                own_keys = await RegistryRepository(session).encryption_keys(principal.id)
                service = FeedService(
                    AlertRepository(session),
                    AuditLog(session, now),
                    keys.kek,
                    keys.key_binding,
                    now,
                )
                key = current_encryption_key(own_keys, now)
                served, position = await service.serve(principal.id, key, position, limit)
                checkpoint = await AuditRepository(session).latest_note()
            remaining = deadline - loop.time()
            if served or remaining <= 0:
                feed_items_served.inc(len(served))
                return FeedPage(list(served), position, checkpoint or "")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout=min(remaining, POLL_SECONDS))
