"""Alert exchange: alerts (sealed), decisions, feed items, dispositions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db.base import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("originator", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("tlp", sa.String(16), nullable=False),
        sa.Column("handling", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("legal_basis", sa.String(500), nullable=False),
        sa.Column("supersedes", sa.String(36), nullable=True),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(500), nullable=True),
        sa.Column("status_changed_at", UTCDateTime(), nullable=True),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("sealed_body", sa.LargeBinary(), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["originator"], ["principals.id"], name=op.f("fk_alerts_originator_principals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_originator", "alerts", ["originator"])
    op.create_index("ix_alerts_status_expires_at", "alerts", ["status", "expires_at"])
    op.create_table(
        "alert_decisions",
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("partner", sa.String(63), nullable=False),
        sa.Column("receive", sa.Boolean(), nullable=False),
        sa.Column("redacted", sa.JSON(), nullable=False),
        sa.Column("policies", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_decisions_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["partner"], ["principals.id"], name=op.f("fk_alert_decisions_partner_principals")
        ),
        sa.PrimaryKeyConstraint("alert_id", "partner", name=op.f("pk_alert_decisions")),
    )
    op.create_index("ix_alert_decisions_partner", "alert_decisions", ["partner"])
    op.create_table(
        "feed_items",
        sa.Column("cursor", _BigId, autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(63), nullable=False),
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_feed_items_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["partner"], ["principals.id"], name=op.f("fk_feed_items_partner_principals")
        ),
        sa.PrimaryKeyConstraint("cursor", name=op.f("pk_feed_items")),
    )
    op.create_index("ix_feed_items_partner_cursor", "feed_items", ["partner", "cursor"])
    op.create_table(
        "dispositions",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("partner", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_dispositions_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["partner"], ["principals.id"], name=op.f("fk_dispositions_partner_principals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispositions")),
    )
    op.create_index("ix_dispositions_alert_id", "dispositions", ["alert_id"])


def downgrade() -> None:
    op.drop_index("ix_dispositions_alert_id", table_name="dispositions")
    op.drop_table("dispositions")
    op.drop_index("ix_feed_items_partner_cursor", table_name="feed_items")
    op.drop_table("feed_items")
    op.drop_index("ix_alert_decisions_partner", table_name="alert_decisions")
    op.drop_table("alert_decisions")
    op.drop_index("ix_alerts_status_expires_at", table_name="alerts")
    op.drop_index("ix_alerts_originator", table_name="alerts")
    op.drop_table("alerts")
