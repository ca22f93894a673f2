"""hash-chained logs, users and sessions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 07:39:26.370776
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db import chain as chain_module

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('auditor', 'admin')", name=op.f("ck_app_user_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("name", name=op.f("uq_app_user_name")),
    )
    op.create_table(
        "chain_head",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_chain_head")),
    )
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_user_session_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_user_token_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_token_token_hash")),
    )
    with op.batch_alter_table("user_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_token_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_alert_log_patient_ref"), ["patient_ref"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_alert_log_seq"), ["seq"])

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_event_seq"), ["seq"])

    _link_existing_entries()
    for table in CHAINED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in ("prev_hash", "row_hash"):
                batch_op.alter_column(column, existing_type=sa.String(length=64), nullable=False)
            batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
    _create_append_only_guards()


APPEND_ONLY = ("alert_log", "logged_alert", "audit_event", "cds_feedback")
CHAINED = ("alert_log", "audit_event")


def _link_existing_entries() -> None:
    """Chain the entries written before chaining existed, in the order they were written."""
    bind = op.get_bind()
    typed = {"created_at": sa.DateTime(timezone=True), "complete": sa.Boolean()}
    for name in ("inputs", "medications", "alerts", "scope", "details"):
        typed[name] = sa.JSON()
    for chain in CHAINED:
        fields = chain_module.FIELDS[chain]
        columns = [sa.column(f, typed.get(f, sa.String())) for f in sorted({"id", *fields})]
        table = sa.table(
            chain, *columns, sa.column("seq"), sa.column("prev_hash"), sa.column("row_hash")
        )
        rows = bind.execute(sa.select(*columns).order_by(table.c.created_at, table.c.id)).mappings()
        prev, seq = chain_module.GENESIS, 0
        for row in rows.all():
            seq += 1
            digest = chain_module.entry_hash(chain, seq, prev, dict(row))
            bind.execute(
                table.update()
                .where(table.c.id == row["id"])
                .values(seq=seq, prev_hash=prev, row_hash=digest)
            )
            prev = digest
        bind.execute(
            sa.text("INSERT INTO chain_head (name, seq, hash) VALUES (:name, :seq, :hash)"),
            {"name": chain, "seq": seq, "hash": prev},
        )


def _create_append_only_guards() -> None:
    """On PostgreSQL the logs refuse UPDATE, DELETE and TRUNCATE for every role, the app's included."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION refuse_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the % log is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_log_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change()"
        )


def _drop_append_only_guards() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS refuse_log_change()")


def downgrade() -> None:
    _drop_append_only_guards()
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_event_seq"), type_="unique")
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")

    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_alert_log_seq"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_alert_log_patient_ref"))
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
        batch_op.drop_column("patient_ref")

    with op.batch_alter_table("user_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_token_user_id"))

    op.drop_table("user_token")
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))

    op.drop_table("user_session")
    op.drop_table("chain_head")
    op.drop_table("app_user")
