"""Liaison's one settings object, read from ``LIAISON_*`` environment variables at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


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

    @model_validator(mode="after")
    def _production_needs_explicit_secrets(self) -> Settings:
        if self.env == "production":
            missing = [
                name
                for name, value in (
                    ("LIAISON_KEK", self.kek),
                    ("LIAISON_DATABASE_URL", self.database_url),
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

    @property
    def kek_file(self) -> Path:
        return self.data_dir / "kek.key"
