"""admin notices as outbox rows; alerts grouped per patient (findings folded into an open alert)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("admin_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_notices")),
    )
    op.create_index(
        "ix_admin_notices_next_action_at", "admin_notices", ["next_action_at"], unique=False
    )
    op.create_index("ix_admin_notices_admin_kind", "admin_notices", ["admin_id", "kind"])
    # Plain ADD COLUMN: SQLite adds a column without rebuilding the table, so no row is touched.
    op.add_column(
        "escalations",
        sa.Column("folded", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("escalations", sa.Column("folded_at", sa.DateTime(timezone=True)))
    op.add_column("escalations", sa.Column("latest", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("latest")
        batch_op.drop_column("folded_at")
        batch_op.drop_column("folded")
    op.drop_index("ix_admin_notices_admin_kind", table_name="admin_notices")
    op.drop_index("ix_admin_notices_next_action_at", table_name="admin_notices")
    op.drop_table("admin_notices")
