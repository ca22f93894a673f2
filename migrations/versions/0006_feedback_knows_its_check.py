"""feedback knows its check

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 11:15:00.000000

``cds_feedback`` copies its alert's check (``alert_log_id``) and the check's time
(``check_created_at``), so the outcome filters and override reports read one period of feedback, and
"was this check answered?" is one index probe, instead of going through every alert of the period.
The index on (outcome, alert_uuid) of 0004 served the old way only and goes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cds_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_cds_feedback_outcome_alert_uuid")
        batch_op.add_column(sa.Column("alert_log_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("check_created_at", sa.DateTime(timezone=True), nullable=True)
        )
    _copy_checks()
    with op.batch_alter_table("cds_feedback", schema=None) as batch_op:
        batch_op.alter_column("alert_log_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.alter_column(
            "check_created_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cds_feedback_alert_log_id_alert_log"),
            "alert_log",
            ["alert_log_id"],
            ["id"],
        )
        batch_op.create_index("ix_cds_feedback_alert_log_id", ["alert_log_id"], unique=False)
        batch_op.create_index(
            "ix_cds_feedback_outcome_check_created_at",
            ["outcome", "check_created_at"],
            unique=False,
            postgresql_include=["alert_log_id"],
        )
    op.execute("ANALYZE cds_feedback")


def _copy_checks() -> None:
    """Give every feedback row its alert's check and time (the append-only guard is lifted for this)."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE cds_feedback DISABLE TRIGGER cds_feedback_append_only")
    op.execute(
        "UPDATE cds_feedback SET "
        "alert_log_id = (SELECT logged_alert.alert_log_id FROM logged_alert "
        "WHERE logged_alert.uuid = cds_feedback.alert_uuid), "
        "check_created_at = (SELECT logged_alert.created_at FROM logged_alert "
        "WHERE logged_alert.uuid = cds_feedback.alert_uuid)"
    )
    if postgresql:
        op.execute("ALTER TABLE cds_feedback ENABLE TRIGGER cds_feedback_append_only")


def downgrade() -> None:
    with op.batch_alter_table("cds_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_cds_feedback_outcome_check_created_at")
        batch_op.drop_index("ix_cds_feedback_alert_log_id")
        batch_op.drop_constraint(
            batch_op.f("fk_cds_feedback_alert_log_id_alert_log"), type_="foreignkey"
        )
        batch_op.drop_column("check_created_at")
        batch_op.drop_column("alert_log_id")
        batch_op.create_index(
            "ix_cds_feedback_outcome_alert_uuid", ["outcome", "alert_uuid"], unique=False
        )
