"""login rate limits and session lifetimes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 02:00:00.000000

- ``rate_limit_counter``: the counters of the login's and the web form's rate limits, in the
  database so that every worker (and every host) counts in the same place.
- ``user_session.last_seen_at``: when the session was last used, for the idle lifetime; sessions
  that exist already count as last seen when they began.
- ``app_user.failed_logins`` and ``locked_until`` go: an account is no longer locked for everyone
  after failed sign-ins (anyone could lock anyone out); failures are counted per name and address
  in ``rate_limit_counter`` instead.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counter",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("resets_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_counter")),
    )
    with op.batch_alter_table("rate_limit_counter") as batch:
        batch.create_index(batch.f("ix_rate_limit_counter_resets_at"), ["resets_at"])
    with op.batch_alter_table("user_session") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE user_session SET last_seen_at = created_at")
    with op.batch_alter_table("user_session") as batch:
        batch.alter_column("last_seen_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("user_session") as batch:
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("rate_limit_counter") as batch:
        batch.drop_index(batch.f("ix_rate_limit_counter_resets_at"))
    op.drop_table("rate_limit_counter")
