"""logged alerts without a foreign key

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 11:35:00.000000

``logged_alert.alert_log_id`` loses its foreign key. Each of a check's alerts (15 on a typical
10-medication list) made PostgreSQL look up and share-lock the check's row: measured at about 1.4 ms of
database CPU per check, more than half of what the database spent on it. The rows are written only by
the check, in the same transaction as the check's row they point to, and both tables are append-only.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("logged_alert", schema=None) as batch_op:
        batch_op.drop_constraint("fk_logged_alert_alert_log_id_alert_log", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("logged_alert", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_logged_alert_alert_log_id_alert_log", "alert_log", ["alert_log_id"], ["id"]
        )
