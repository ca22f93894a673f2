"""knowledge base and alert log

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 07:16:52.713971
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_version",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_version")),
    )
    with op.batch_alter_table("kb_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_version_activated_at"), ["activated_at"], unique=False
        )

    op.create_table(
        "alert_log",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("kb_version_id", sa.String(length=64), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("medications", sa.JSON(), nullable=False),
        sa.Column("alerts", sa.JSON(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("highest_severity", sa.String(length=16), nullable=True),
        sa.Column("min_severity", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "highest_severity IN ('contraindicated', 'major', 'moderate', 'minor')",
            name=op.f("ck_alert_log_highest_severity"),
        ),
        sa.ForeignKeyConstraint(
            ["kb_version_id"], ["kb_version.id"], name=op.f("fk_alert_log_kb_version_id_kb_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_log")),
    )
    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_log_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_log_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alert_log_kb_version_id"), ["kb_version_id"], unique=False
        )

    op.create_table(
        "drug_class",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_key", sa.String(length=64), nullable=True),
        sa.Column("union_of", sa.JSON(), nullable=False),
        sa.Column("products_combining", sa.JSON(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("kb_version_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["kb_version_id"],
            ["kb_version.id"],
            name=op.f("fk_drug_class_kb_version_id_kb_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug_class")),
        sa.UniqueConstraint("kb_version_id", "key", name="uq_drug_class_version_key"),
    )
    with op.batch_alter_table("drug_class", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drug_class_kb_version_id"), ["kb_version_id"], unique=False
        )

    op.create_table(
        "drug_name",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rxcui", sa.String(length=12), nullable=True),
        sa.Column("tty", sa.String(length=8), nullable=True),
        sa.Column("provenance", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("kb_version_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["kb_version_id"],
            ["kb_version.id"],
            name=op.f("fk_drug_name_kb_version_id_kb_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug_name")),
    )
    with op.batch_alter_table("drug_name", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drug_name_kb_version_id"), ["kb_version_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_drug_name_rxcui"), ["rxcui"], unique=False)

    op.create_table(
        "ingredient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("rxcui", sa.String(length=12), nullable=True),
        sa.Column("schedule", sa.String(length=4), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("kb_version_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["kb_version_id"],
            ["kb_version.id"],
            name=op.f("fk_ingredient_kb_version_id_kb_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingredient")),
        sa.UniqueConstraint("kb_version_id", "name", name="uq_ingredient_version_name"),
    )
    with op.batch_alter_table("ingredient", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingredient_kb_version_id"), ["kb_version_id"], unique=False
        )

    op.create_table(
        "rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("effect", sa.Text(), nullable=False),
        sa.Column("mechanism", sa.Text(), nullable=False),
        sa.Column("management", sa.Text(), nullable=False),
        sa.Column("patient_text", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("suggest_naloxone", sa.Boolean(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=True),
        sa.Column("kb_version_id", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('interaction', 'duplication', 'cumulative', 'dose')",
            name=op.f("ck_rule_kind"),
        ),
        sa.CheckConstraint(
            "severity IN ('contraindicated', 'major', 'moderate', 'minor')",
            name=op.f("ck_rule_severity"),
        ),
        sa.ForeignKeyConstraint(
            ["kb_version_id"],
            ["kb_version.id"],
            name=op.f("fk_rule_kb_version_id_kb_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule")),
        sa.UniqueConstraint("kb_version_id", "code", name="uq_rule_version_code"),
    )
    with op.batch_alter_table("rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rule_kb_version_id"), ["kb_version_id"], unique=False)

    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kb_version_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["kb_version_id"],
            ["kb_version.id"],
            name=op.f("fk_source_kb_version_id_kb_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source")),
        sa.UniqueConstraint("kb_version_id", "key", name="uq_source_version_key"),
    )
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_kb_version_id"), ["kb_version_id"], unique=False
        )

    op.create_table(
        "class_member",
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("ingredient_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["drug_class.id"],
            name=op.f("fk_class_member_class_id_drug_class"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ingredient_id"],
            ["ingredient.id"],
            name=op.f("fk_class_member_ingredient_id_ingredient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("class_id", "ingredient_id", name=op.f("pk_class_member")),
    )
    op.create_table(
        "class_source",
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["drug_class.id"],
            name=op.f("fk_class_source_class_id_drug_class"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_class_source_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("class_id", "source_id", name=op.f("pk_class_source")),
    )
    op.create_table(
        "dose_limit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("ingredient_id", sa.Integer(), nullable=False),
        sa.Column("max_daily_mg", sa.Float(), nullable=False),
        sa.Column("unless_indication", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ingredient_id"],
            ["ingredient.id"],
            name=op.f("fk_dose_limit_ingredient_id_ingredient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["rule.id"], name=op.f("fk_dose_limit_rule_id_rule"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_limit")),
        sa.UniqueConstraint("rule_id", name=op.f("uq_dose_limit_rule_id")),
    )
    op.create_table(
        "drug_name_ingredient",
        sa.Column("drug_name_id", sa.Integer(), nullable=False),
        sa.Column("ingredient_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["drug_name_id"],
            ["drug_name.id"],
            name=op.f("fk_drug_name_ingredient_drug_name_id_drug_name"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ingredient_id"],
            ["ingredient.id"],
            name=op.f("fk_drug_name_ingredient_ingredient_id_ingredient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "drug_name_id", "ingredient_id", name=op.f("pk_drug_name_ingredient")
        ),
    )
    op.create_table(
        "rule_party",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=True),
        sa.Column("ingredient_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(class_id IS NULL) <> (ingredient_id IS NULL)",
            name=op.f("ck_rule_party_exactly_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["drug_class.id"],
            name=op.f("fk_rule_party_class_id_drug_class"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ingredient_id"],
            ["ingredient.id"],
            name=op.f("fk_rule_party_ingredient_id_ingredient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["rule.id"], name=op.f("fk_rule_party_rule_id_rule"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_party")),
    )
    with op.batch_alter_table("rule_party", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rule_party_rule_id"), ["rule_id"], unique=False)

    op.create_table(
        "rule_source",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["rule.id"], name=op.f("fk_rule_source_rule_id_rule"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_rule_source_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", "source_id", name=op.f("pk_rule_source")),
    )


def downgrade() -> None:
    op.drop_table("rule_source")
    with op.batch_alter_table("rule_party", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rule_party_rule_id"))

    op.drop_table("rule_party")
    op.drop_table("drug_name_ingredient")
    op.drop_table("dose_limit")
    op.drop_table("class_source")
    op.drop_table("class_member")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_kb_version_id"))

    op.drop_table("source")
    with op.batch_alter_table("rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rule_kb_version_id"))

    op.drop_table("rule")
    with op.batch_alter_table("ingredient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingredient_kb_version_id"))

    op.drop_table("ingredient")
    with op.batch_alter_table("drug_name", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drug_name_rxcui"))
        batch_op.drop_index(batch_op.f("ix_drug_name_kb_version_id"))

    op.drop_table("drug_name")
    with op.batch_alter_table("drug_class", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drug_class_kb_version_id"))

    op.drop_table("drug_class")
    with op.batch_alter_table("alert_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_log_kb_version_id"))
        batch_op.drop_index(batch_op.f("ix_alert_log_created_at"))
        batch_op.drop_index(batch_op.f("ix_alert_log_client_id"))

    op.drop_table("alert_log")
    with op.batch_alter_table("kb_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_version_activated_at"))

    op.drop_table("kb_version")
