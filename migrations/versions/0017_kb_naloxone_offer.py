"""kb naloxone offer

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 03:20:00.000000

``kb_version.naloxone_offer``: the wording of the naloxone suggestion (its label, the draft order's
description, the dosage instruction), stored with the knowledge-base version that names the product,
as ``{"label": ..., "order": ..., "dosing": ...}``. Versions stored before have none (NULL) and
keep the nasal-spray wording the service used then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_version") as batch:
        batch.add_column(sa.Column("naloxone_offer", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kb_version") as batch:
        batch.drop_column("naloxone_offer")
