"""log documents compressed with lz4

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 16:00:00.000000

PostgreSQL compresses a check's large JSON documents (its ``alerts`` are about 9 KB for ten
medications) when it stores them. With the default method (pglz) that was a large share of the
database's CPU per check; lz4 does the same job several times faster. Only where the server was
built with lz4 (PostgreSQL 14 and later, as packaged by Debian and the official images); SQLite and
older servers are left as they are. Values already stored keep their compression.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENTS = ("inputs", "medications", "alerts", "scope")


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    offered = bind.execute(
        text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    if not offered or method not in offered:
        return
    for column in _DOCUMENTS:
        op.execute(f"ALTER TABLE alert_log ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
