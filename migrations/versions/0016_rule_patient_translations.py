"""rule patient translations

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 02:15:00.000000

``rule.translations``: a rule's patient-facing texts in other languages than English, by language
(``{"es": {"patient_text": ..., "always_tell_patient": ...}}``), stored with the knowledge-base
version so that an old version answers in the languages it was loaded with. Versions stored
before have none (NULL) and answer in English.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rule") as batch:
        batch.add_column(sa.Column("translations", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rule") as batch:
        batch.drop_column("translations")
