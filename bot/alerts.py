"""Escalations: stored first, then delivered to the care team, raised again until someone acts.

Every round follows the dispatcher's pattern: a guarded update claims the escalation and is
committed before Telegram is called, and each chat's delivery is recorded as it happens, so a crash
or a failed send resends only what did not arrive. Alerts are delivered at least once: a second copy
of an alert is far better than none.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot import callbacks, messages, nightly
from bot.caseload import adherence, label_of, percent, reason_text, who
from bot.clock import Clock
from bot.inbox_view import MESSAGE, render_message
from bot.notifier import BACKOFF_SECONDS, Moved, Notifier, TryLater, backoff
from bot.reminders import Reminders, plan_of
from bot.settings import Settings
from bot.texts import t
from bot.views import Button, Reply
from storage.db import Database
from storage.models import AlertMessage, Escalation, Patient
from storage.repositories import Repository

log = logging.getLogger(__name__)

# An alert reaches the admins too from this round on, when nobody has acknowledged it.
ADMIN_ROUND = 3
# At most this many characters of the patient's words in an alert (all of them in /patient).
WORDS_SHOWN = 1500
# Admins hear of a chat that keeps failing on its first failure and then every tenth.
TELL_ADMINS_EVERY = 10


class Alerts:
    """Deliver escalations to the providers' chats, and keep the admins told."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Clock,
        settings: Settings,
        reminders: Reminders,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.settings = settings
        self.reminders = reminders
        self.renotify = timedelta(minutes=settings.escalation_renotify_minutes)
        # Called with (escalation, chat, message id) once a copy is sent: a patient's voice note
        # or photo follows its header (`Inbox.bring_media`).
        self.after_send: Callable[[Escalation, int, int], Awaitable[None]] | None = None

    async def dispatch(self, limit: int = 100) -> int:
        """Deliver every escalation that is due; return how many were looked at."""
        async with self.db.session() as session:
            due = await Repository(session).due_escalation_ids(self.clock.now(), limit)
        for escalation_id in due:
            try:
                await self.deliver(escalation_id)
            except Exception:
                log.exception("Could not deliver escalation %s", escalation_id)
        return len(due)

    def recipients(self, round_: int) -> list[int]:
        """Who gets a round: the provider chats, and the admins once it has gone unanswered."""
        chats = list(self.settings.provider_chat_ids)
        if round_ >= ADMIN_ROUND or not chats:
            chats += [a for a in self.settings.admin_user_ids if a not in chats]
        return chats

    async def deliver(self, escalation_id: int) -> None:
        """Send one round of an escalation to every chat that has not had it yet."""
        async with self.db.session() as session:
            repo = Repository(session)
            escalation = await repo.escalation(escalation_id)
            now = self.clock.now()
            if escalation is None or escalation.next_action_at is None:
                return
            due = escalation.next_action_at
            if due > now:
                return
            if escalation.status == "decided" or (
                escalation.rounds > 0 and escalation.status != "open"
            ):
                await repo.claim_escalation(escalation.id, due, next_action_at=None)
                await repo.commit()
                return
            round_ = escalation.rounds + 1
            chats = self.recipients(round_)
            if not chats:
                # Nobody to tell yet: keep it due, so it goes out once a clinic sets the chats.
                log.error("Escalation %s: no PROVIDER_CHAT_IDS or ADMIN_USER_IDS", escalation.id)
                later = now + timedelta(seconds=backoff(len(BACKOFF_SECONDS)))
                await repo.claim_escalation(escalation.id, due, next_action_at=later)
                await repo.commit()
                return
            deadline = now + nightly.SENDING_TIMEOUT
            if not await repo.claim_escalation(escalation.id, due, next_action_at=deadline):
                await repo.rollback()
                return
            await repo.commit()
            reply = await self.render(repo, escalation, round_)
            sent = {
                m.chat_id: m for m in await repo.alert_messages(escalation.id) if m.round == round_
            }
            failed, wait = False, 0.0
            for chat_id in chats:
                row = sent.get(chat_id)
                if row is not None and row.sent_at is not None:
                    continue
                if row is None:
                    row = AlertMessage(
                        escalation_id=escalation.id, round=round_, chat_id=chat_id, failures=0
                    )
                    await repo.add(row)
                try:
                    row.message_id = await self.notifier.send(chat_id, reply, escalation.attempts)
                    if self.after_send is not None:
                        await self.after_send(escalation, chat_id, row.message_id)
                    row.sent_at = now
                except Exception as exc:
                    # A timeout counts as failed too: the alert may arrive twice, never zero times.
                    failed = True
                    if isinstance(exc, TryLater):
                        wait = max(wait, exc.seconds)
                    row.failures += 1
                    await repo.commit()
                    log.warning("Alert %s to chat %s failed: %s", escalation.id, chat_id, exc)
                    if row.failures == 1 or row.failures % TELL_ADMINS_EVERY == 0:
                        await self._report_failure(escalation, chat_id, exc)
                    continue
                await repo.commit()
            since = escalation.last_sent_at or escalation.created_at
            urgent = escalation.tier in ("urgent", "emergency")
            if failed and not (urgent and now - since >= self.renotify):
                # Retry the chats that failed; the others already have this round.
                wait = max(wait, backoff(escalation.attempts))
                escalation.attempts += 1
                escalation.next_action_at = now + timedelta(seconds=wait)
            elif failed:
                # One chat failing must not stop the alert being raised again, nor the admins
                # hearing of it: the next round goes to every chat, the failing one included.
                escalation.rounds = round_
                escalation.attempts += 1
                escalation.last_sent_at = now
                escalation.next_action_at = now
            else:
                escalation.rounds = round_
                escalation.attempts = 0
                escalation.last_sent_at = now
                escalation.next_action_at = (
                    now + self.renotify if escalation.tier in ("urgent", "emergency") else None
                )
            await repo.commit()

    async def tell_admins(self, text: str, skip: int | None = None) -> None:
        """Send `text` to every admin (but the chat `skip`); a failure here is only logged."""
        for admin in self.settings.admin_user_ids:
            if admin == skip:
                continue
            try:
                await self.notifier.send(admin, Reply(text))
            except Exception as exc:
                log.error("Could not tell admin %s: %s", admin, type(exc).__name__)

    async def _report_failure(self, escalation: Escalation, chat_id: int, exc: Exception) -> None:
        """Tell every admin that an alert did not arrive; the error names no patient."""
        if isinstance(exc, Moved):
            text = t(
                "admin_chat_moved",
                id=escalation.id,
                tier=escalation.tier,
                chat=chat_id,
                new=exc.new_chat_id,
            )
        else:
            text = t(
                "admin_delivery_failed",
                id=escalation.id,
                tier=escalation.tier,
                chat=chat_id,
                error=getattr(exc, "cause", "") or str(exc) or type(exc).__name__,
            )
        await self.tell_admins(text, skip=chat_id)  # an admin's own failing chat can't hear it

    async def render(self, repo: Repository, escalation: Escalation, round_: int = 1) -> Reply:
        """The alert as providers see it: who, what, the dose, the history, and the decisions."""
        if escalation.tier == MESSAGE:
            return render_message(escalation)  # a patient's message, not an alert
        patient = escalation.patient
        lines = [self._header(escalation, patient)]
        reasons = [reason_text(code, effect) for code, effect in escalation.reasons]
        lines.append(t("alert_reasons", reasons="\n".join(f"• {r}" for r in reasons)))
        if escalation.words:
            # Telegram's limit is 4096 characters: the rest of the alert must fit beside them.
            words = (
                escalation.words
                if len(escalation.words) <= WORDS_SHOWN
                else (escalation.words[:WORDS_SHOWN] + "…")
            )
            lines.append(t("alert_words", words=words))
        history = await self._history(repo, patient, escalation.report_id)
        if history:
            lines.append(t("alert_history", lines="\n".join(history)))
        statuses = await repo.statuses(patient.id, 30)
        lines.append(
            t(
                "alert_adherence",
                week=percent(adherence(statuses[-7:])),
                month=percent(adherence(statuses)),
            )
        )
        if round_ > 1:
            lines.append(t("alert_again", round=round_))
        names = await repo.names([escalation.acknowledged_by, escalation.decided_by])
        if escalation.status == "acknowledged" and escalation.acknowledged_by is not None:
            lines.append(
                t(
                    "alert_acknowledged",
                    who=who(names, escalation.acknowledged_by),
                    at=self._at(escalation.acknowledged_at),
                )
            )
        if escalation.status == "decided" and escalation.decision is not None:
            lines.append(
                t(
                    "alert_decided",
                    decision=t(f"decision_{escalation.decision}"),
                    who=who(names, escalation.decided_by),
                    at=self._at(escalation.decided_at),
                )
            )
            if escalation.decision in ("hold", "back", "pause", "morning"):
                # Whoever held or paused the plan can let it go on later from the same alert.
                release = Button(
                    t("button_decide_continue"), callbacks.decision(escalation.id, "continue")
                )
                return Reply("\n\n".join(lines), ((release,),))
            return Reply("\n\n".join(lines))
        lines.append(t("alert_reply_hint"))
        return Reply("\n\n".join(lines), decision_buttons(escalation))

    def _header(self, escalation: Escalation, patient: Patient) -> str:
        held = ""
        if patient.awaiting_clearance:
            held = t("alert_waiting")
        info = self.reminders.current(patient)
        if info is None:
            return t("tier_" + escalation.tier) + f" · {label_of(patient)}{held}"
        plan = plan_of(patient)
        if not held and any(h.end is None for h in patient.holds):
            held = t("alert_held")
        return t(
            "alert",
            tier=t("tier_" + escalation.tier),
            label=label_of(patient),
            plan=messages.plan_name(plan),
            dose=messages.step_words(info.step),
            step=info.step.number,
            steps=len(plan.steps),
            held=held,
        )

    async def _history(self, repo: Repository, patient: Patient, skip: int | None) -> list[str]:
        reports = [r for r in await repo.done_reports(patient.id, 4) if r.id != skip][-2:]
        lines = []
        for report in reports:
            assert report.completed_at is not None
            grades = report.answers.get("grades", {})
            noted = [
                f"{t('effect_' + effect).lower()} {t('grade_' + str(grade)).lower()}"
                for effect, grade in grades.items()
                if grade
            ]
            flags = [t("flag_" + flag).lower() for flag in report.answers.get("flags", [])]
            when = messages.day(report.completed_at.date())
            lines.append(f"{when}: {', '.join(flags + noted) or t('grade_0').lower()}")
        return lines

    def _at(self, moment: datetime | None) -> str:
        return "" if moment is None else f"{moment:%H:%M} UTC"


def decision_buttons(escalation: Escalation) -> tuple[tuple[Button, ...], ...]:
    """Acknowledge (until someone has) and the five decisions, two to a row."""
    actions = [a for a in callbacks.DECISIONS if a != "ack" or escalation.status == "open"]
    buttons = [
        Button(t(f"button_decide_{a}"), callbacks.decision(escalation.id, a)) for a in actions
    ]
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
