"""client fhir servers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 21:40:00.000000

A CDS client's requests may name a ``fhirServer`` for the service to fetch missing prefetch from;
the service fetches only from base URLs an operator registered for that client
(``clients add-fhir-server``), so a caller cannot point it at any address it likes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_fhir_server",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_client.id"],
            name=op.f("fk_client_fhir_server_client_id_api_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_fhir_server")),
        sa.UniqueConstraint("client_id", "url", name="uq_client_fhir_server_client_url"),
    )
    with op.batch_alter_table("client_fhir_server", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_fhir_server_client_id"), ["client_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("client_fhir_server", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_fhir_server_client_id"))
    op.drop_table("client_fhir_server")
