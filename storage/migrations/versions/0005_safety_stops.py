"""safety stops: LDN withheld until a provider replies, nights off the dose, what a patient was told

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite adds a column without rebuilding the table, so no row is touched.
    op.add_column("patients", sa.Column("withheld_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "plan_holds",
        sa.Column("kind", sa.String(length=16), nullable=False, server_default="hold"),
    )
    op.add_column("escalations", sa.Column("stop", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("stop")
    with op.batch_alter_table("plan_holds", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("withheld_at")
