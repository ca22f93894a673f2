"""rxnav failure status and alcohol class

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 23:00:00.000000

Two per-row settings, both empty by default so that existing rows keep their behaviour:

- ``api_client.rxnav_failure_status``: 200 for RxNav clients that drop the body of any non-200
  answer (OpenEMR 5.0.x reads with ``file_get_contents``), so a failure's "CHECK FAILED" entry is
  shown instead of "No interactions found"; empty keeps the failure's own HTTP status.
- ``kb_version.alcohol_class``: the knowledge base's class whose members are alcohol, which makes an
  interaction with them NCPDP reason for service ``OH`` instead of ``DD``. Versions stored before it
  have none, and keep answering ``DD`` as they did.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_client") as batch:
        batch.add_column(sa.Column("rxnav_failure_status", sa.Integer(), nullable=True))
    with op.batch_alter_table("kb_version") as batch:
        batch.add_column(sa.Column("alcohol_class", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kb_version") as batch:
        batch.drop_column("alcohol_class")
    with op.batch_alter_table("api_client") as batch:
        batch.drop_column("rxnav_failure_status")
