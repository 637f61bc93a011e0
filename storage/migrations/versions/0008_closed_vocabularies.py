"""closed vocabularies: every status, kind, tier, decision, stop, audit action and onboarding step
column refuses any value but its own (a CHECK constraint each, as `bot.rules.states` names them)

The values are written out here, as they were at this revision: a value added to an enum later
needs a migration of its own that widens the constraint. No row changes: every value the bot has
ever written is in its list (a report's kind "checkin" too, from the first care-loop release).
A row with any other value makes the upgrade fail and roll back, changing nothing.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SCREENING = ("opioids", "liver_kidney", "psychiatric", "pregnancy", "thyroid", "immune", "cancer")
# table -> column -> the values it may hold (NULL stays allowed where the column allows it)
VOCABULARIES: dict[str, dict[str, tuple[str, ...]]] = {
    "patients": {
        "awaiting": (
            "consent",
            "screen",
            *(f"screen_{code}" for code in SCREENING),
            "plan",
            "zone",
            "zone_confirm",
            "start",
            "bedtime",
            "summary",
            "checkin_words",
            "set_bedtime",
            "set_zone",
            "set_zone_confirm",
            "set_morning",
        ),
    },
    "plan_holds": {"kind": ("hold", "provider", "off")},
    "doses": {
        "status": ("scheduled", "sending", "sent", "snoozed", "taken", "skipped", "missed"),
    },
    "reports": {
        "kind": ("tolerance", "step_up", "weekly", "asked", "message", "checkin"),
        "status": ("scheduled", "open", "done", "expired", "unanswered"),
        "tier": ("none", "info", "routine", "urgent", "emergency"),
    },
    "escalations": {
        "tier": ("routine", "urgent", "emergency", "message"),
        "status": ("open", "acknowledged", "decided"),
        "decision": ("continue", "hold", "back", "pause", "morning"),
        "stop": ("hold", "withhold"),
    },
    "audit": {"action": ("ack", "continue", "hold", "back", "pause", "morning", "message")},
}


def upgrade() -> None:
    # On SQLite a constraint is added by rebuilding the table (batch mode), which the start-up
    # guard runs with foreign keys off and checks after; PostgreSQL adds it in place, checking
    # every row.
    for table, columns in VOCABULARIES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                listed = ", ".join(f"'{value}'" for value in values)
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}"), f"{column} IN ({listed})"
                )


def downgrade() -> None:
    for table, columns in reversed(VOCABULARIES.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(columns):
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
