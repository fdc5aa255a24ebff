"""Governance: review cases, heightened review, purge deadlines.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db.base import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_cases",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("opened_by", sa.String(63), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(63), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision_reason", sa.String(1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_review_cases_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_cases")),
    )
    op.create_index("ix_review_cases_alert_id", "review_cases", ["alert_id"])
    op.create_index("ix_review_cases_status", "review_cases", ["status"])
    op.create_table(
        "heightened_reviews",
        sa.Column("principal_id", sa.String(63), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("set_by", sa.String(63), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_heightened_reviews_principal_id_principals"),
        ),
        sa.PrimaryKeyConstraint("principal_id", name=op.f("pk_heightened_reviews")),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("purge_deadline", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("character", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("subject_status", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("subject_status")
        batch.drop_column("character")
        batch.drop_column("purge_deadline")
    op.drop_table("heightened_reviews")
    op.drop_index("ix_review_cases_status", table_name="review_cases")
    op.drop_index("ix_review_cases_alert_id", table_name="review_cases")
    op.drop_table("review_cases")
