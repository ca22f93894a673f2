"""rxnorm vocabulary

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 23:00:00.000000

All of RxNorm as the vocabulary: the bulk concepts are stored once per content digest
(``rxnorm_vocabulary`` / ``rxnorm_concept``) and a knowledge-base version points at the one it
recognises. An ingredient without an RxCUI says why (``no_rxcui_reason``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rxnorm_vocabulary",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("release", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("concept_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rxnorm_vocabulary")),
    )
    op.create_table(
        "rxnorm_concept",
        sa.Column("vocabulary_id", sa.String(64), nullable=False),
        sa.Column("rxcui", sa.String(12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("tty", sa.String(8), nullable=False),
        sa.Column("ingredient_rxcuis", sa.Text(), nullable=False),
        sa.Column("route", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["vocabulary_id"],
            ["rxnorm_vocabulary.id"],
            name=op.f("fk_rxnorm_concept_vocabulary_id_rxnorm_vocabulary"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vocabulary_id", "rxcui", name=op.f("pk_rxnorm_concept")),
    )
    with op.batch_alter_table("kb_version") as batch:
        batch.add_column(sa.Column("vocabulary_id", sa.String(64), nullable=True))
        batch.create_foreign_key(
            op.f("fk_kb_version_vocabulary_id_rxnorm_vocabulary"),
            "rxnorm_vocabulary",
            ["vocabulary_id"],
            ["id"],
        )
    with op.batch_alter_table("ingredient") as batch:
        batch.add_column(sa.Column("no_rxcui_reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("ingredient") as batch:
        batch.drop_column("no_rxcui_reason")
    with op.batch_alter_table("kb_version") as batch:
        batch.drop_constraint(
            op.f("fk_kb_version_vocabulary_id_rxnorm_vocabulary"), type_="foreignkey"
        )
        batch.drop_column("vocabulary_id")
    op.drop_table("rxnorm_concept")
    op.drop_table("rxnorm_vocabulary")
