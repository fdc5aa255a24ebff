"""Registry, replay cache and broker keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db.base import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "principals",
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_principals")),
    )
    op.create_table(
        "principal_keys",
        sa.Column("kid", sa.String(128), nullable=False),
        sa.Column("principal_id", sa.String(63), nullable=False),
        sa.Column("use", sa.String(3), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("not_before", UTCDateTime(), nullable=False),
        sa.Column("not_after", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_principal_keys_principal_id_principals"),
        ),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_principal_keys")),
    )
    op.create_index("ix_principal_keys_principal_id", "principal_keys", ["principal_id"])
    op.create_table(
        "seen_nonces",
        sa.Column("keyid", sa.String(128), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("keyid", "nonce", name=op.f("pk_seen_nonces")),
    )
    op.create_index("ix_seen_nonces_seen_at", "seen_nonces", ["seen_at"])
    op.create_table(
        "broker_keys",
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("kid", sa.String(128), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("wrapped_private", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("purpose", name=op.f("pk_broker_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_broker_keys_kid")),
    )


def downgrade() -> None:
    op.drop_table("broker_keys")
    op.drop_index("ix_seen_nonces_seen_at", table_name="seen_nonces")
    op.drop_table("seen_nonces")
    op.drop_index("ix_principal_keys_principal_id", table_name="principal_keys")
    op.drop_table("principal_keys")
    op.drop_table("principals")
