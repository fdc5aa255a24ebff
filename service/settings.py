"""Liaison's one settings object, read from ``LIAISON_*`` environment variables at start-up."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}
# Outside production the broker also answers to the loopback names (any port: ``liaison dev``,
# the demo and live test servers pick free ports) and to httpx's in-process test host.
DEVELOPMENT_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "testserver"})


_AUTHORITY = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::[0-9]{1,5})?\Z")


@functools.cache
def public_authorities(urls: str) -> frozenset[str]:
    """The ``@authority`` values (RFC 9421: host, and port unless it is the scheme's default)
    that a comma-separated list of ``http(s)://host[:port]`` URLs names, lower-cased; a URL
    with its default port given explicitly is accepted with and without it.

    Raises ValueError on an empty list or a URL that is not an absolute http(s) origin.
    """
    found: set[str] = set()
    for raw in urls.split(","):
        url = raw.strip()
        if not url:
            continue
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"LIAISON_PUBLIC_URL: bad port in {url!r}") from None
        if (
            parts.scheme not in DEFAULT_PORTS
            or not parts.hostname
            or parts.username is not None
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
        ):
            raise ValueError(f"LIAISON_PUBLIC_URL: {url!r} is not an http(s)://host[:port] origin")
        host = parts.hostname.lower()
        host = f"[{host}]" if ":" in host else host
        if port is None or port == DEFAULT_PORTS[parts.scheme]:
            found.add(host)
            found.add(f"{host}:{DEFAULT_PORTS[parts.scheme]}")
        else:
            found.add(f"{host}:{port}")
    if not found:
        raise ValueError("LIAISON_PUBLIC_URL names no URL")
    return frozenset(found)


class Settings(BaseSettings):
    """Validated configuration. Built once by the CLI or app factory, never at import time."""

    model_config = SettingsConfigDict(env_prefix="LIAISON_", extra="forbid", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("liaison-data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default sqlite+aiosqlite in the data directory",
    )
    kek: SecretStr | None = Field(
        default=None,
        description="Key-encryption key, 32 bytes base64url; development reads DATA_DIR/kek.key",
    )
    origin: str = Field(default="liaison.local/audit", description="Checkpoint origin line")
    max_body_bytes: int = Field(default=MIB, ge=1024)
    signature_skew_seconds: int = Field(default=300, ge=1, le=3600)
    policy_dir: Path | None = None
    db_pool_size: int = Field(default=10, ge=1)
    purge_deadline_days: int = Field(default=30, ge=1, description="Days to confirm a purge")
    retention_default_days: int = Field(
        default=365, ge=0, description="Days an ended alert's content is kept before shredding"
    )
    retention_days: dict[str, int] = Field(
        default_factory=dict, description='Per-kind overrides, e.g. {"red": 1825}'
    )
    # Issue 11 (request authority, API docs, metrics): keep these together.
    public_url: str | None = Field(
        default=None,
        description="The broker's public URL(s), comma-separated: a signed @authority must "
        "name one; required in production",
    )
    api_docs: bool = Field(
        default=False, description="Serve /docs, /redoc and /openapi.json in production"
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for /metrics; without it production answers /metrics 404",
    )

    @field_validator("public_url")
    @classmethod
    def _public_url_is_a_list_of_origins(cls, value: str | None) -> str | None:
        if value is not None:
            public_authorities(value)
        return value

    @model_validator(mode="after")
    def _production_needs_explicit_secrets(self) -> Settings:
        if self.env == "production":
            missing = [
                name
                for name, value in (
                    ("LIAISON_KEK", self.kek),
                    ("LIAISON_DATABASE_URL", self.database_url),
                    ("LIAISON_PUBLIC_URL", self.public_url),
                )
                if value is None
            ]
            if missing:
                raise ValueError(
                    "production refuses to start without explicit " + " and ".join(missing)
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to an SQLite file inside the data directory."""
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'liaison.sqlite3').resolve()}"

    def accepts_authority(self, authority: str) -> bool:
        """Whether a request signed for ``authority`` (a Host header) was meant for this
        broker: one of ``public_url``'s, or, outside production, a loopback name on any port
        or the in-process test host."""
        authority = authority.lower()
        if self.public_url is not None and authority in public_authorities(self.public_url):
            return True
        if self.env == "production":
            return False
        match = _AUTHORITY.match(authority)
        return match is not None and match.group(1) in DEVELOPMENT_HOSTS

    @property
    def kek_file(self) -> Path:
        return self.data_dir / "kek.key"

    # Escalation (service/governance/escalation.py): an originator with this many alerts
    # rejected or cancelled by reviewers within the window is put under heightened review.
    escalate_after: int = Field(
        default=3, ge=1, description="Rejected or cancelled alerts that trigger heightened review"
    )
    escalate_window_days: int = Field(
        default=90, ge=1, description="Days within which those rejections and cancellations count"
    )
