"""Index for the retention job: ended alerts by status and the time their status changed.

Without it, every run of the retention job (every few seconds) read all ended alerts still
within their retention period to find the few whose period has passed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_alerts_status_status_changed_at", "alerts", ["status", "status_changed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_status_status_changed_at", table_name="alerts")
