"""The protected-subject register: keyed digests of protected persons' identities.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db.base import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "protected_subjects",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("registered_by", sa.String(63), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.Column("source_alert_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_alert_id"],
            ["alerts.id"],
            name=op.f("fk_protected_subjects_source_alert_id_alerts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protected_subjects")),
        sa.UniqueConstraint("digest", name=op.f("uq_protected_subjects_digest")),
    )


def downgrade() -> None:
    op.drop_table("protected_subjects")
