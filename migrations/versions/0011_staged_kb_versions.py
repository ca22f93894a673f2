"""staged kb versions

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 22:00:00.000000

Loading and activating a knowledge base become two steps: ``kb load`` stages a version (stored, its
``activated_at`` empty) for the pharmacist to review, ``kb activate`` makes it the one checks use.
Going down, versions that were staged and never activated are deleted: the older schema has no way
to hold them without making one of them active. No check can refer to them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STAGED = "SELECT id FROM kb_version WHERE activated_at IS NULL"
# Migrations run without SQLite's foreign-key enforcement, so no ON DELETE CASCADE: children first.
_STAGED_ROWS = (
    ("dose_limit", "rule_id", "rule"),
    ("rule_party", "rule_id", "rule"),
    ("rule_source", "rule_id", "rule"),
    ("class_member", "class_id", "drug_class"),
    ("class_source", "class_id", "drug_class"),
    ("drug_name_ingredient", "drug_name_id", "drug_name"),
)
_VERSIONED = ("rule", "drug_class", "drug_name", "ingredient", "source")


def upgrade() -> None:
    with op.batch_alter_table("kb_version", schema=None) as batch_op:
        batch_op.alter_column(
            "activated_at", existing_type=sa.DateTime(timezone=True), nullable=True
        )


def downgrade() -> None:
    for table, column, parent in _STAGED_ROWS:
        op.execute(
            f"DELETE FROM {table} WHERE {column} IN "
            f"(SELECT id FROM {parent} WHERE kb_version_id IN ({_STAGED}))"
        )
    for table in _VERSIONED:
        op.execute(f"DELETE FROM {table} WHERE kb_version_id IN ({_STAGED})")
    op.execute("DELETE FROM kb_version WHERE activated_at IS NULL")
    with op.batch_alter_table("kb_version", schema=None) as batch_op:
        batch_op.alter_column(
            "activated_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
