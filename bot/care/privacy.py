"""A patient's own data: everything the bot keeps about them, to take away or to erase.

Rule 4 of the project: health data stays private, and a patient can export and delete it. The
export is the database's own record, as JSON, so nothing is left out by a summary; deleting
removes every row about the patient (the invitation that enrolled them too) and takes the words
off the care team's copies of alerts.

A deleted row's bytes linger in the database's files until they are overwritten, so the deletion is
followed by a scrub: VACUUM FULL of the tables that held their words on PostgreSQL, `secure_delete`
and a log checkpoint on SQLite. We scrub rather than encrypt each patient's words with a key that
/delete destroys: the words must reach the care team's alerts, exports, triage and the provider's
views as plain text, so every reader would need the key, and a key kept in the same database (or
the same server) is erased no more surely than the words themselves. Neither reaches backups (they
age out on the clinic's own schedule: README, "Upgrading and backups") nor PostgreSQL's write-ahead
log, whose segments are recycled at its checkpoints.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.delivery.notifier import Notifier
from bot.ui.presenters import label_of
from bot.ui.render import render
from bot.ui.views import Lines, Say
from storage import intake
from storage.db import Database
from storage.models import AuditEntry, Base, Dose, Escalation, Report
from storage.repositories import Repository, word_tables

log = logging.getLogger(__name__)

# Columns that are the bot's own bookkeeping, not data about the patient.
_INTERNAL = {"awaiting", "next_action_at", "attempts", "message_id", "reminder_message_id",
             "followup_message_id", "patient_id"}  # fmt: skip


class Privacy:
    """Export and delete a patient's data, on their own request."""

    def __init__(self, db: Database, notifier: Notifier, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.settings = settings

    async def export(self, user_id: int) -> bytes | None:
        """Everything kept about the patient, as JSON; None when the bot keeps nothing."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patients.by_user(user_id)
            if patient is None:
                return None
            data: dict[str, Any] = {
                "exported_at": self.clock.now(),
                "patient": _row(patient),
                "plan_holds": [_row(h) for h in patient.holds],
            }
            for name, model in (
                ("nights", Dose),
                ("side_effect_reports", Report),
                ("escalations", Escalation),
                ("care_team_actions", AuditEntry),
            ):
                data[name] = [_row(r) for r in await repo.rows_about(model, patient.id)]
        return json.dumps(data, default=_json, indent=2, ensure_ascii=False).encode()

    async def delete(self, user_id: int, upto: int | None = None) -> bool:
        """Erase the patient and every row about them; tell the care team, without their words.

        `upto` is the update asking for it: updates the patient sent after it wait in the intake,
        not handled yet, and are theirs to be answered (an emergency typed right after, say).
        """
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await repo.patients.by_user(user_id)
            if patient is None:
                return False
            label = label_of(patient)
            alerts = await repo.escalations.alert_copies(patient.id)
            waiting = [e.tier for e in await repo.escalations.open_of(patient.id)]
            await repo.patients.delete(patient, self.clock.now())
            # The updates kept by the intake hold the patient's words too.
            await intake.forget_chat(session, patient.chat_id, upto)
            await repo.commit()
        await self.db.scrub(word_tables())
        # The providers' copies of this patient's alerts lose the patient's answers too.
        [erased] = render(Say("alert_erased", {"label": label}), self.settings)
        for chat_id, message_id in alerts:
            await self.notifier.edit(chat_id, message_id, erased)
        if patient.enrolled or waiting:
            # Alerts still open go with the data; the care team must know they were open.
            told = [Say("patient_left", {"label": label})]
            if waiting:
                values = {"count": len(waiting), "tiers": ", ".join(waiting)}
                told.append(Say("patient_left_open", values))
            [left] = render(Lines(tuple(told), "\n\n"), self.settings)
            for chat_id in self.settings.provider_chat_ids:
                try:
                    await self.notifier.send(chat_id, left)
                except Exception as exc:
                    log.warning("Could not tell chat %s of a deletion: %s", chat_id, exc)
        return True


def _row(row: Base) -> dict[str, Any]:
    mapper = inspect(row).mapper
    return {
        column.key: getattr(row, column.key)
        for column in mapper.column_attrs
        if column.key not in _INTERNAL
    }


def _json(value: object) -> object:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot export {type(value).__name__}")
