"""update claims: a stored update is claimed by one process for a while (a lease) before it is
handled, so that several processes sharing the database handle each update once

A claim names the process (`claimed_by`) and the moment its lease runs out (`claimed_until`);
a process that dies leaves a claim that runs out, and another takes the update over. No row
changes: updates stored before this revision are unclaimed, and claimable at once.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("updates", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
