"""sending_until on escalations and admin notices: a claim being sent, seen by every process

The recovery after an outage makes due now what failed sends put off. It must never touch a row
that some process has claimed and is sending at that moment (it would be sent twice): the claim
now says so in the row itself, until when, instead of only in the memory of the process sending.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, nullable: no row is rewritten.
    op.add_column("escalations", sa.Column("sending_until", sa.DateTime(timezone=True)))
    op.add_column("admin_notices", sa.Column("sending_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("admin_notices", schema=None) as batch_op:
        batch_op.drop_column("sending_until")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("sending_until")
