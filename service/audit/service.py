"""Audit log queries and proofs: who may ask what, and what each answer proves."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.api.principal import AuthenticatedPrincipal
from service.audit.log import AuditLog
from service.audit.models import AuditCheckpoint, AuditEntry
from service.audit.repository import AuditRepository
from service.protocol.errors import Conflict, Forbidden, InvalidInput, NotFound, NotReady
from service.protocol.merkle import assemble, consistency_plan, inclusion_plan, plan_addresses
from service.protocol.tlog_proof import format_tlog_proof
from service.protocol.vocabulary import AuditEvent, Role

MAX_ENTRIES_PER_CALL = 1000
MAX_SEARCH_LIMIT = 1000


def decoded(entry: AuditEntry) -> dict[str, Any]:
    """The entry's leaf bytes as JSON (they always carry ``index``)."""
    document = json.loads(entry.leaf)
    if not isinstance(document, dict):
        raise Conflict(f"audit entry {entry.idx} is not a JSON object")
    return document


def names(entry: AuditEntry, principal_id: str) -> bool:
    """Whether an agency may see this entry: it names the agency, unless it is the decision
    to withhold an alert from it (that would reveal the alert, its claim names and the
    policy, which the alert routes hide from a partner that did not receive it)."""
    if principal_id not in (entry.actor, entry.partner, entry.principal):
        return False
    if entry.event == AuditEvent.ALERT_DECISION and entry.partner == principal_id:
        return bool(decoded(entry).get("decision") == "received")
    return True


@dataclass(frozen=True)
class SearchFilters:
    alert_id: str | None = None
    partner: str | None = None
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: int | None = None
    limit: int = 100


@dataclass
class AuditService:
    repository: AuditRepository
    log: AuditLog

    async def latest(self) -> AuditCheckpoint:
        """The newest signed checkpoint; NotReady before the first integration."""
        checkpoint = await self.repository.latest_checkpoint()
        if checkpoint is None:
            raise NotReady("the audit log has no checkpoint yet")
        return checkpoint

    async def record_query(self, actor: AuthenticatedPrincipal, query: str, **params: Any) -> None:
        """Enqueue the ``audit.query`` entry of ``actor`` asking ``query`` with ``params``
        (datetimes as ISO 8601, absent ones left out); durable with the caller's transaction."""
        shown = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in params.items()}
        await self.log.append(
            AuditEvent.AUDIT_QUERY,
            actor.id,
            {"query": query, "params": {k: v for k, v in shown.items() if v is not None}},
        )

    async def entries(
        self, actor: AuthenticatedPrincipal, start: int, end: int
    ) -> Sequence[AuditEntry]:
        """Raw entries ``start <= i < end`` (auditors only, at most 1000 per call)."""
        actor.require_role(Role.AUDITOR)
        if not 0 <= start <= end or end - start > MAX_ENTRIES_PER_CALL:
            raise InvalidInput(f"need 0 <= start <= end and at most {MAX_ENTRIES_PER_CALL} entries")
        await self.record_query(actor, "entries", start=start, end=end)
        return await self.repository.entries(start, end)

    async def search(
        self, actor: AuthenticatedPrincipal, filters: SearchFilters
    ) -> Sequence[AuditEntry]:
        """Matching entries; an auditor sees all, anyone else only entries that name them."""
        if not 1 <= filters.limit <= MAX_SEARCH_LIMIT:
            raise InvalidInput(f"limit must be 1..{MAX_SEARCH_LIMIT}")
        await self.record_query(actor, "search", **vars(filters))
        if actor.has_role(Role.AUDITOR):
            return await self.repository.search(**vars(filters), naming=None)
        # The SQL filter finds entries that mention the agency; ``names`` then drops the few
        # it may not see, and we read on until the page is full or the log is exhausted.
        found: list[AuditEntry] = []
        after = filters.after
        while len(found) < filters.limit:
            page_filters = vars(filters) | {"after": after}
            page = await self.repository.search(**page_filters, naming=actor.id)
            found += [e for e in page if names(e, actor.id)]
            if len(page) < filters.limit:
                break
            after = page[-1].idx
        return found[: filters.limit]

    async def _readable_entry(self, actor: AuthenticatedPrincipal, index: int) -> AuditEntry:
        entry = await self.repository.entry(index)
        if entry is None:
            raise NotFound(f"no integrated entry {index}")
        if not actor.has_role(Role.AUDITOR) and not names(entry, actor.id):
            raise Forbidden("only auditors, or principals the entry names, may prove it")
        return entry

    async def inclusion(self, actor: AuthenticatedPrincipal, index: int, size: int) -> list[bytes]:
        """The RFC 9162 inclusion proof of entry ``index`` in the tree of ``size``."""
        latest = await self.latest()
        if not 0 <= index < size <= latest.size:
            raise InvalidInput(f"need 0 <= index < size <= {latest.size}")
        await self._readable_entry(actor, index)
        await self.record_query(actor, "inclusion", index=index, size=size)
        plan = inclusion_plan(index, size)
        return assemble(plan, await self.repository.nodes(plan_addresses(plan)))

    async def consistency(
        self, actor: AuthenticatedPrincipal, old_size: int, new_size: int
    ) -> list[bytes]:
        """The RFC 9162 consistency proof between two sizes (anyone authenticated)."""
        latest = await self.latest()
        if not 0 <= old_size <= new_size <= latest.size:
            raise InvalidInput(f"need 0 <= from <= to <= {latest.size}")
        if actor.has_role(Role.AUDITOR):
            await self.record_query(actor, "consistency", old_size=old_size, new_size=new_size)
        if old_size in (0, new_size):
            return []
        plan = consistency_plan(old_size, new_size)
        return assemble(plan, await self.repository.nodes(plan_addresses(plan)))

    async def receipt(self, actor: AuthenticatedPrincipal, index: int) -> str:
        """A C2SP tlog-proof of entry ``index`` against the latest checkpoint."""
        latest = await self.latest()
        if not 0 <= index < latest.size:
            raise NotFound(f"no integrated entry {index}")
        await self._readable_entry(actor, index)
        await self.record_query(actor, "receipt", index=index)
        plan = inclusion_plan(index, latest.size)
        hashes = assemble(plan, await self.repository.nodes(plan_addresses(plan)))
        return format_tlog_proof(index, hashes, latest.note)
