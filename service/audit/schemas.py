"""Wire shapes of the audit log's JSON endpoints (API.md "Audit log (exact)").

Hashes and leaves are standard base64; a searched entry is the leaf's own JSON.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Entries(BaseModel):
    entries: list[str]


class SearchResult(BaseModel):
    entries: list[dict[str, Any]]
    next: int | None


class InclusionProof(BaseModel):
    index: int
    size: int
    hashes: list[str]


class ConsistencyProof(BaseModel):
    """The RFC 9162 consistency proof between the trees of sizes ``from`` and ``to``."""

    model_config = ConfigDict(populate_by_name=True)

    old_size: int = Field(alias="from")
    new_size: int = Field(alias="to")
    hashes: list[str]
