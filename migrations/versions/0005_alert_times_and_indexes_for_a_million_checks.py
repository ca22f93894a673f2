"""alert times and indexes for a million checks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:30:00.000000

``logged_alert.created_at`` copies its check's time so that alert-level filters and reports read one
period of alerts through an index instead of every alert of the log. The indexes of 0004 that led
with ``rule_code`` / ``severity`` then ``alert_log_id`` are replaced by ones ordered by time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: a later change to the model's expression needs its own migration.
HIGHEST_SEVERITY_RANK = (
    "CASE highest_severity WHEN 'contraindicated' THEN 4 WHEN 'major' THEN 3 "
    "WHEN 'moderate' THEN 2 WHEN 'minor' THEN 1 ELSE 0 END"
)
PERIOD_LIST_COLUMNS = [
    "seq", "id", "channel", "client_id", "patient_ref", "highest_severity", "complete",
    "kb_version_id",
]  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("logged_alert", schema=None) as batch_op:
        batch_op.drop_index("ix_logged_alert_severity_alert_log_id")
        batch_op.drop_index("ix_logged_alert_rule_code_alert_log_id")
        batch_op.drop_index("ix_logged_alert_rule_code")
        batch_op.drop_index("ix_logged_alert_alert_log_id")
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    _copy_check_times()
    with op.batch_alter_table("logged_alert", schema=None) as batch_op:
        batch_op.alter_column(
            "created_at",
            existing_type=sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP"),
        )
        batch_op.create_index(
            "ix_logged_alert_alert_log_id",
            ["alert_log_id"],
            unique=False,
            postgresql_include=["uuid", "shown", "created_at"],
        )
        batch_op.create_index(
            "ix_logged_alert_created_at",
            ["created_at"],
            unique=False,
            postgresql_include=[
                "alert_log_id",
                "uuid",
                "rule_code",
                "severity",
                "shown",
                "alert_id",
            ],
        )
        batch_op.create_index(
            "ix_logged_alert_rule_code_created_at",
            ["rule_code", "created_at"],
            unique=False,
            postgresql_include=["alert_log_id"],
        )
        batch_op.create_index(
            "ix_logged_alert_severity_created_at",
            ["severity", "created_at"],
            unique=False,
            postgresql_include=["alert_log_id"],
        )

    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_log_created_at")
        batch_op.create_index(
            "ix_alert_log_created_at",
            ["created_at"],
            unique=False,
            postgresql_include=PERIOD_LIST_COLUMNS,
        )
        batch_op.create_index("ix_alert_log_channel_seq", ["channel", "seq"], unique=False)
    if op.get_bind().dialect.name == "postgresql":  # SQLite cannot reflect expression indexes
        op.create_index(
            "ix_alert_log_severity_rank_seq",
            "alert_log",
            [sa.text(f"({HIGHEST_SEVERITY_RANK})"), "seq"],
            unique=False,
        )
    _analyze(("logged_alert", "alert_log"))


def _copy_check_times() -> None:
    """Give every logged alert its check's time (the append-only guard is lifted for this only)."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE logged_alert DISABLE TRIGGER logged_alert_append_only")
    op.execute(
        "UPDATE logged_alert SET created_at = "
        "(SELECT alert_log.created_at FROM alert_log WHERE alert_log.id = logged_alert.alert_log_id)"
    )
    if postgresql:
        op.execute("ALTER TABLE logged_alert ENABLE TRIGGER logged_alert_append_only")


def _analyze(tables: tuple[str, ...]) -> None:
    """New columns and expression indexes have no statistics until analysed: plans would guess."""
    for table in tables:
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_alert_log_severity_rank_seq")
    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_log_channel_seq")
        batch_op.drop_index("ix_alert_log_created_at")
        batch_op.create_index("ix_alert_log_created_at", ["created_at"], unique=False)

    with op.batch_alter_table("logged_alert", schema=None) as batch_op:
        batch_op.drop_index("ix_logged_alert_severity_created_at")
        batch_op.drop_index("ix_logged_alert_rule_code_created_at")
        batch_op.drop_index("ix_logged_alert_created_at")
        batch_op.drop_index("ix_logged_alert_alert_log_id")
        batch_op.drop_column("created_at")
        batch_op.create_index("ix_logged_alert_alert_log_id", ["alert_log_id"], unique=False)
        batch_op.create_index("ix_logged_alert_rule_code", ["rule_code"], unique=False)
        batch_op.create_index(
            "ix_logged_alert_rule_code_alert_log_id", ["rule_code", "alert_log_id"], unique=False
        )
        batch_op.create_index(
            "ix_logged_alert_severity_alert_log_id", ["severity", "alert_log_id"], unique=False
        )
