"""indexes for the auditors' filters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:23:37.534570
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alert_log_channel_created_at", ["channel", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_alert_log_highest_severity_created_at",
            ["highest_severity", "created_at"],
            unique=False,
        )

    with op.batch_alter_table("cds_feedback", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cds_feedback_outcome_alert_uuid", ["outcome", "alert_uuid"], unique=False
        )

    with op.batch_alter_table("logged_alert", schema=None) as batch_op:
        batch_op.create_index(
            "ix_logged_alert_rule_code_alert_log_id", ["rule_code", "alert_log_id"], unique=False
        )
        batch_op.create_index(
            "ix_logged_alert_severity_alert_log_id", ["severity", "alert_log_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("logged_alert", schema=None) as batch_op:
        batch_op.drop_index("ix_logged_alert_severity_alert_log_id")
        batch_op.drop_index("ix_logged_alert_rule_code_alert_log_id")

    with op.batch_alter_table("cds_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_cds_feedback_outcome_alert_uuid")

    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_log_highest_severity_created_at")
        batch_op.drop_index("ix_alert_log_channel_created_at")
