"""api clients, cds feedback, audit events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 07:28:06.276091
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_client",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("min_severity", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("jwt_issuer", sa.String(length=300), nullable=True),
        sa.Column("jwks_url", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "min_severity IN ('contraindicated', 'major', 'moderate', 'minor')",
            name=op.f("ck_api_client_min_severity"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client")),
        sa.UniqueConstraint("jwt_issuer", name=op.f("uq_api_client_jwt_issuer")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_client_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_client_name")),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_created_at"), ["created_at"], unique=False)

    op.create_table(
        "seen_jwt",
        sa.Column("issuer", sa.String(length=300), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti", name=op.f("pk_seen_jwt")),
    )
    with op.batch_alter_table("seen_jwt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seen_jwt_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "client_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("kid", sa.String(length=200), nullable=False),
        sa.Column("jwk", sa.JSON(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_client.id"],
            name=op.f("fk_client_key_client_id_api_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_key")),
        sa.UniqueConstraint("client_id", "kid", name="uq_client_key_client_kid"),
    )
    with op.batch_alter_table("client_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_key_client_id"), ["client_id"], unique=False)

    op.create_table(
        "logged_alert",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("alert_log_id", sa.String(length=36), nullable=False),
        sa.Column("alert_id", sa.String(length=300), nullable=False),
        sa.Column("rule_code", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("shown", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "severity IN ('contraindicated', 'major', 'moderate', 'minor')",
            name=op.f("ck_logged_alert_severity"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_log_id"], ["alert_log.id"], name=op.f("fk_logged_alert_alert_log_id_alert_log")
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_logged_alert")),
    )
    with op.batch_alter_table("logged_alert", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_logged_alert_alert_log_id"), ["alert_log_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_logged_alert_rule_code"), ["rule_code"], unique=False)

    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_uuid", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
        sa.Column("override_reason", sa.JSON(), nullable=True),
        sa.Column("override_comment", sa.Text(), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('accepted', 'overridden')", name=op.f("ck_cds_feedback_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["alert_uuid"],
            ["logged_alert.uuid"],
            name=op.f("fk_cds_feedback_alert_uuid_logged_alert"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_client.id"], name=op.f("fk_cds_feedback_client_id_api_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cds_feedback")),
    )
    with op.batch_alter_table("cds_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cds_feedback_alert_uuid"), ["alert_uuid"], unique=False
        )

    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.alter_column(
            "client_id",
            existing_type=sa.VARCHAR(length=64),
            type_=sa.String(length=36),
            existing_nullable=True,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_alert_log_client_id_api_client"), "api_client", ["client_id"], ["id"]
        )

    with op.batch_alter_table("kb_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("naloxone_rxcui", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kb_version", schema=None) as batch_op:
        batch_op.drop_column("naloxone_rxcui")

    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_alert_log_client_id_api_client"), type_="foreignkey"
        )
        batch_op.alter_column(
            "client_id",
            existing_type=sa.String(length=36),
            type_=sa.VARCHAR(length=64),
            existing_nullable=True,
        )

    with op.batch_alter_table("cds_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cds_feedback_alert_uuid"))

    op.drop_table("cds_feedback")
    with op.batch_alter_table("logged_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_logged_alert_rule_code"))
        batch_op.drop_index(batch_op.f("ix_logged_alert_alert_log_id"))

    op.drop_table("logged_alert")
    with op.batch_alter_table("client_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_key_client_id"))

    op.drop_table("client_key")
    with op.batch_alter_table("seen_jwt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seen_jwt_expires_at"))

    op.drop_table("seen_jwt")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_created_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))

    op.drop_table("audit_event")
    op.drop_table("api_client")
