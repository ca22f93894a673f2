"""knowledge base version 2 fields

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 21:30:00.000000

What the clinical policy's version 2 needs stored with each knowledge-base version: a source's kind
(primary or not), a name's route, a class's routes, helper flag and the source deciding each member,
a rule's family, evidence, unconfirmed flag and mandatory wording, the route vocabulary and the
ingredients that never alert. Longer source ids. Rules' declared exceptions and the fallback flag
reuse ``rule_party`` roles and ``criteria``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = {
    "kb_version": [
        sa.Column("routes", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("never_alert", sa.JSON(), nullable=False, server_default="[]"),
    ],
    "source": [sa.Column("kind", sa.String(16), nullable=False, server_default="secondary")],
    "drug_name": [sa.Column("route", sa.String(32), nullable=True)],
    "drug_class": [
        sa.Column("member_sources", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("routes", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("helper", sa.Boolean(), nullable=False, server_default=sa.false()),
    ],
    "rule": [
        sa.Column("family", sa.String(64), nullable=False, server_default=""),
        sa.Column("evidence", sa.String(32), nullable=False, server_default=""),
        sa.Column("unconfirmed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("always_say", sa.Text(), nullable=False, server_default=""),
        sa.Column("always_tell_patient", sa.Text(), nullable=False, server_default=""),
    ],
}


def upgrade() -> None:
    for table, columns in _COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(column)
            if table == "source":
                batch.alter_column("key", type_=sa.String(64), existing_type=sa.String(16))


def downgrade() -> None:
    for table, columns in reversed(_COLUMNS.items()):
        with op.batch_alter_table(table) as batch:
            if table == "source":
                batch.alter_column("key", type_=sa.String(16), existing_type=sa.String(64))
            for column in reversed(columns):
                batch.drop_column(column.name)
