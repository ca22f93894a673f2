"""alert index projected from the log

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 14:50:00.000000

Checks stop writing their ``logged_alert`` rows; the rows are projected from ``alert_log`` in bulk
(``service/db/logged_alerts.py``), and ``projection_mark`` records how far. Until now every check
wrote its own rows, so the log is projected up to its last entry. A downgrade projects what is
behind first, since the older code expects every check's rows to be there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKLOG = {
    "sqlite": """
        INSERT INTO logged_alert (uuid, alert_log_id, alert_id, rule_code, severity, shown, created_at)
        SELECT json_extract(a.value, '$.uuid'), l.id, json_extract(a.value, '$.id'),
               json_extract(a.value, '$.rule.id'), json_extract(a.value, '$.severity'),
               json_extract(a.value, '$.shown'), l.created_at
        FROM alert_log AS l, json_each(l.alerts) AS a
        WHERE l.seq > (SELECT seq FROM projection_mark WHERE name = 'logged_alert')
    """,
    "postgresql": """
        INSERT INTO logged_alert (uuid, alert_log_id, alert_id, rule_code, severity, shown, created_at)
        SELECT a.uuid, l.id, a.id, a.rule ->> 'id', a.severity, a.shown, l.created_at
        FROM alert_log AS l,
             json_to_recordset(l.alerts) AS a(uuid text, id text, rule json, severity text, shown boolean)
        WHERE l.seq > (SELECT seq FROM projection_mark WHERE name = 'logged_alert')
    """,
}


def upgrade() -> None:
    op.create_table(
        "projection_mark",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_projection_mark")),
    )
    op.execute(
        "INSERT INTO projection_mark (name, seq) "
        "SELECT 'logged_alert', COALESCE(MAX(seq), 0) FROM alert_log"
    )


def downgrade() -> None:
    op.execute(_BACKLOG[op.get_bind().dialect.name])
    op.drop_table("projection_mark")
