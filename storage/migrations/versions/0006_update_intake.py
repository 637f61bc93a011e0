"""update intake: every update from Telegram kept before it is confirmed, until handled

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_updates")),
    )
    op.create_index("ix_updates_handled_at", "updates", ["handled_at"])
    op.create_index(op.f("ix_updates_chat_id"), "updates", ["chat_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_updates_chat_id"), table_name="updates")
    op.drop_index("ix_updates_handled_at", table_name="updates")
    op.drop_table("updates")
