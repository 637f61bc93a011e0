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
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.delivery.notifier import Notifier
from bot.ui.presenters import label_of
from bot.ui.render import render
from bot.ui.views import Lines, Say
from storage import intake, retention
from storage.db import Database
from storage.models import AuditEntry, Base, Dose, Escalation, Patient, Report
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
            gone = await self._erase(repo, patient, upto)
            await repo.commit()
        await self.db.scrub(word_tables())
        await self._blank_copies(gone, "alert_erased")
        if gone.enrolled or gone.waiting:
            # Alerts still open go with the data; the care team must know they were open.
            told = [Say("patient_left", {"label": gone.label})]
            if gone.waiting:
                values = {"count": len(gone.waiting), "tiers": ", ".join(gone.waiting)}
                told.append(Say("patient_left_open", values))
            [left] = render(Lines(tuple(told), "\n\n"), self.settings)
            for chat_id in self.settings.provider_chat_ids:
                try:
                    await self.notifier.send(chat_id, left)
                except Exception as exc:
                    log.warning("Could not tell chat %s of a deletion: %s", chat_id, exc)
        return True

    async def expire(self, days: int, limit: int = 100) -> int:
        """Erase, as /delete does, the patients out of care and silent for more than `days`.

        Out of care: no reminder goes to them (they stopped or paused, blocked the bot, never
        finished enrolling, or the care team paused LDN). Silent: nothing recorded about them
        for `days` (storage/retention.py says what counts). A patient with an alert the care
        team has not decided on is kept until it is decided: the decision is the clinic's to
        make on the record, and starts the count again. Return how many were erased.
        """
        now = self.clock.now()
        before = now - timedelta(days=days)
        async with self.db.session() as session:
            found = await retention.expired(session, before, now, limit)
        count = 0
        for patient_id in found:
            async with self.db.session() as session:
                repo = Repository(session)
                # Locked, then asked again in the erasing transaction: a patient who came back
                # meanwhile stays, and another instance erasing them too waits, then skips.
                if not await repo.patients.lock(patient_id):
                    continue
                if not await retention.expired(session, before, now, 1, only=patient_id):
                    continue
                patient = await repo.patients.get(patient_id)
                if patient is None:
                    continue
                gone = await self._erase(repo, patient, None)
                await repo.commit()
            count += 1
            # At once, each: the ids of the care team's copies went with the rows.
            try:
                await self._blank_copies(gone, "alert_expired")
            except Exception as exc:
                log.warning(
                    "Could not blank the copies of an erased record: %s", type(exc).__name__
                )
        if not count:
            return 0
        await self.db.scrub(word_tables())
        # Counts only: the records are gone, and so are the ids that named them.
        log.info("Erased the records of %d patient(s) out of care for over %d days", count, days)
        return count

    async def _erase(self, repo: Repository, patient: Patient, upto: int | None) -> _Gone:
        """Delete the patient's rows, for the caller's commit; what the care team still holds."""
        gone = _Gone(
            label=label_of(patient),
            alerts=await repo.escalations.alert_copies(patient.id),
            waiting=[e.tier for e in await repo.escalations.open_of(patient.id)],
            enrolled=patient.enrolled,
        )
        await repo.patients.delete(patient, self.clock.now())
        # The updates kept by the intake hold the patient's words too.
        await intake.forget_chat(repo.session, patient.chat_id, upto)
        return gone

    async def _blank_copies(self, gone: _Gone, key: str) -> None:
        """The providers' copies of the patient's alerts lose the patient's answers too."""
        [erased] = render(Say(key, {"label": gone.label}), self.settings)
        for chat_id, message_id in gone.alerts:
            await self.notifier.edit(chat_id, message_id, erased)


@dataclass(frozen=True)
class _Gone:
    """What is left to do for a patient erased: their alerts' copies, and whom to tell."""

    label: str
    alerts: list[tuple[int, int]]
    waiting: list[str]
    enrolled: bool


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
