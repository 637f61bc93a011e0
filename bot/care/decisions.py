"""The care team's side: decisions on escalations, replies relayed to patients, invitations.

Only a provider's action changes a plan, and each one is recorded in the audit table (who, when,
what, why) in the same transaction as the change itself. What to say is returned as data
(`bot.ui.views`); the handlers put it into words, and what goes out through the notifier from here
is put into words at its door (`bot.ui.render`).
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.care.alerts import Alerts
from bot.care.onboarding import MORNING_CHOICES, time_buttons
from bot.care.patient import stopped
from bot.care.reminders import Reminders, zone_of
from bot.delivery.notifier import Notifier
from bot.rules.plans import BUILTIN_PLANS, Plan, PlanError, custom_plan
from bot.rules.states import (
    AuditAction,
    Awaiting,
    Decision,
    DoseStatus,
    EscalationStatus,
    StopCode,
    TierCode,
)
from bot.rules.timing import local_today
from bot.ui import messages
from bot.ui.presenters import label_of, who
from bot.ui.render import render
from bot.ui.views import Lines, Said, Say, Show, Text
from storage.db import Database
from storage.models import Escalation, Invite, Patient
from storage.repositories import Repository

log = logging.getLogger(__name__)

RELEASABLE = (Decision.HOLD, Decision.BACK, Decision.PAUSE, Decision.MORNING)
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
SHORT_PLANS = {"0.5": "builtin-0.5", "1.5": "builtin-1.5"}
FROM = "from"  # /invite <label> <plan> from <mg>: the dose a patient already on LDN takes now


@dataclass(frozen=True)
class Outcome:
    """What a provider's press did, for the handler to show."""

    toast: Say
    changed: bool = False


class CareTeam:
    """Apply providers' decisions, relay their replies, and issue invitations."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Clock,
        settings: Settings,
        reminders: Reminders,
        alerts: Alerts,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.settings = settings
        self.reminders = reminders
        self.alerts = alerts

    def is_provider(self, user_id: int) -> bool:
        return user_id in self.settings.provider_user_ids

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.settings.admin_user_ids

    # Decisions

    async def decide(
        self, user_id: int, escalation_id: int, action: str, name: str | None = None
    ) -> Outcome:
        """Apply a provider's decision once, record it, update every copy, tell the patient.

        `name` is the provider's name on Telegram: the alert says who decided by it.
        """
        if not self.is_provider(user_id):
            log.warning("Refused a decision on escalation %s by user %s", escalation_id, user_id)
            return Outcome(Say("toast_not_provider"))
        await self.remember(user_id, name)
        async with self.db.session() as session:
            repo = Repository(session)
            escalation = await repo.escalations.get(escalation_id)
            if escalation is None:
                return Outcome(Say("toast_gone"))
            now = self.clock.now()
            if action == Decision.CONTINUE:
                others = await self._in_the_way(repo, escalation)
                if others:
                    ids = ", ".join(f"#{e.id}" for e in others)
                    return Outcome(Say("toast_others_open", {"ids": ids}))
            if action == Decision.ACK:
                won = await repo.escalations.decide(
                    escalation.id,
                    (EscalationStatus.OPEN,),
                    status=EscalationStatus.ACKNOWLEDGED,
                    acknowledged_by=user_id,
                    acknowledged_at=now,
                    next_action_at=None,
                )
            else:
                won = await repo.escalations.decide(
                    escalation.id,
                    (EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED),
                    # A hold, a step back, a pause or a morning dose can later be released,
                    # or changed: a provider may pause or step back from a hold.
                    after=RELEASABLE,
                    status=EscalationStatus.DECIDED,
                    decision=action,
                    decided_by=user_id,
                    decided_at=now,
                    next_action_at=None,
                )
            if not won:
                await repo.rollback()
                await repo.refresh(escalation)
                by = escalation.decided_by or escalation.acknowledged_by
                done = escalation.decision or Decision.ACK
                names = await repo.audit.names([by])
                decision = Say(f"decision_{done}")
                return Outcome(
                    Say("toast_already_decided", {"decision": decision, "who": who(names, by)})
                )
            patient = escalation.patient
            before = self._dose_state(patient)
            # A pause leaves no button on tonight's reminder that could still invite a dose.
            buttons = (
                await self.reminders.tonights_buttons(repo, patient)
                if action == Decision.PAUSE
                else []
            )
            tell = await self._apply(repo, patient, escalation, action)
            await repo.audit.record(
                patient.id,
                user_id,
                now,
                action,
                {
                    "reasons": escalation.reasons,
                    "tier": escalation.tier,
                    "before": before,
                    "after": self._dose_state(patient),
                },
                escalation_id=escalation.id,
            )
            await repo.commit()
            await repo.refresh(escalation)
            await self._update_copies(repo, escalation)
        await self.reminders.take_buttons_off(patient.chat_id, buttons)
        await self._tell(patient, tell)
        return Outcome(Say("toast_decided", {"decision": Say(f"decision_{action}")}), changed=True)

    async def _in_the_way(self, repo: Repository, escalation: Escalation) -> list[Escalation]:
        """Alerts that letting the plan go on from this one would override.

        Continuing releases the patient's hold: not while a newer alert about them waits for a
        decision (the provider has not seen it yet), nor while any other undecided alert keeps
        LDN withheld (only its own decision lifts that). The newest alert can always be
        continued once no other withholds, so nothing is ever stuck.
        """
        return [
            e
            for e in await repo.escalations.of_patient(escalation.patient_id)
            if e.id != escalation.id
            and e.status != EscalationStatus.DECIDED
            and e.tier != TierCode.MESSAGE
            and (e.id > escalation.id or e.stop == StopCode.WITHHOLD)
        ]

    async def _standing(self, repo: Repository, escalation: Escalation) -> tuple[bool, bool]:
        """Whether another alert's withhold (undecided) or "Pause LDN" (decided) still stands."""
        others = [
            e
            for e in await repo.escalations.of_patient(escalation.patient_id)
            if e.id != escalation.id and e.tier != TierCode.MESSAGE
        ]
        withheld = any(
            e.stop == StopCode.WITHHOLD and e.status != EscalationStatus.DECIDED for e in others
        )
        paused = any(e.decision == Decision.PAUSE for e in others)
        return withheld, paused

    async def _apply(
        self, repo: Repository, patient: Patient, escalation: Escalation, action: str
    ) -> Text | Show:
        """Change the plan as decided; return what the patient hears."""
        if action == Decision.ACK:
            # Seen, not decided: a withhold or a hold stands, and the patient is reminded of it.
            return self._told(patient, Say("decided_ack"), seen=True)
        if action == Decision.PAUSE:
            # The provider's pause takes the place of the bot's withhold: theirs to lift now.
            patient.provider_paused = True
            patient.withheld_at = None
            await self.reminders.replan(repo, patient)
            return Say("decided_pause", clinic=True)
        first_dose = patient.awaiting_clearance
        if patient.start_date is None or patient.bedtime is None or patient.timezone is None:
            # Still enrolling: any decision but a pause clears the way to the first dose.
            await self.reminders.release(repo, patient)
            return Say("decided_cleared")
        # Every other decision lets the patient take LDN: it lifts a withhold, and a pause made
        # from this alert (a provider changing their mind). A withhold raised by another alert
        # not decided yet, or a pause from another alert, stands until that alert is decided.
        withheld_elsewhere, paused_elsewhere = await self._standing(repo, escalation)
        stopped = patient.withheld_at is not None or patient.awaiting_clearance
        never_taken = await repo.nights.latest(patient.id, statuses=(DoseStatus.TAKEN,)) is None
        patient.provider_paused = patient.provider_paused and paused_elsewhere
        lift = stopped and not withheld_elsewhere
        if action == Decision.CONTINUE or lift:
            await self.reminders.release(repo, patient)
        if action == Decision.CONTINUE:
            if first_dose and not patient.provider_paused:
                bedtime = messages.clock(patient.bedtime)
                return Say("decided_continue_start", {"bedtime": bedtime})
            text = Say("decided_continue")
        elif action == Decision.HOLD:
            await self.reminders.hold_current_dose(repo, patient, by_provider=True)
            text = Say("decided_hold", {"dose": self.reminders.current_dose_words(patient)})
        elif action == Decision.BACK:
            first = await self.reminders.step_back(repo, patient)
            later = first is not None and first > _today(patient, self.clock)
            when = Say("from_next_night" if later else "from_tonight")
            dose = self.reminders.current_dose_words(patient)
            text = Say("decided_back", {"dose": dose, "when": when})
        else:  # morning
            patient.morning_dose = True
            patient.awaiting = Awaiting.SET_MORNING
            await self.reminders.hold_current_dose(repo, patient, by_provider=True)
            told = self._told(patient, Say("decided_morning"), lifted=lift, first=never_taken)
            return Show(told, time_buttons(Awaiting.SET_MORNING, MORNING_CHOICES))
        return self._told(patient, text, lifted=lift, first=never_taken)

    def _told(
        self,
        patient: Patient,
        text: Say,
        *,
        lifted: bool = False,
        first: bool = False,
        seen: bool = False,
    ) -> Say | Lines:
        """The decision as the patient hears it, never contradicting a stop that still stands.

        A withhold raised by another alert, or a provider's pause, is said plainly instead of
        the decision's dose; a decision that ends a withhold says first that LDN may be taken.
        """
        notice = stopped(patient)
        if notice is not None:
            lead = text if seen else Say("decided_while_stopped")
            return Lines((lead, notice), "\n\n")
        if lifted:
            lead = Say("decided_lifted_start" if first else "decided_lifted")
            return Lines((lead, text), "\n\n")
        return text

    def _dose_state(self, patient: Patient) -> dict[str, object]:
        info = self.reminders.current(patient)
        return {
            "step": info.step.number if info else None,
            "dose_mg": str(info.step.dose_mg) if info else None,
            "start_date": patient.start_date.isoformat() if patient.start_date else None,
            "held": any(h.end is None for h in patient.holds),
            "paused": patient.provider_paused,
            "awaiting_clearance": patient.awaiting_clearance,
            "morning": patient.morning_dose,
        }

    async def _update_copies(self, repo: Repository, escalation: Escalation) -> None:
        """Rewrite every copy of the alert, so a second provider sees it was handled."""
        reply = await self.alerts.render(repo, escalation)
        for row in await repo.escalations.messages(escalation.id):
            if row.message_id is not None:
                await self.notifier.edit(row.chat_id, row.message_id, reply)

    async def _tell(self, patient: Patient, said: Said) -> None:
        [reply] = render(said, self.settings)
        try:
            await self.notifier.send(patient.chat_id, reply)
        except Exception as exc:
            log.warning("Could not tell a patient of a decision: %s", type(exc).__name__)

    async def remember(self, user_id: int, name: str | None) -> None:
        """Keep a provider's Telegram name for the alerts and the audit views, in its own commit.

        Apart from the decision's transaction: a name written at the same moment by another
        press (the same provider on two devices) must never cost the decision itself.
        """
        name = (name or "").strip()[:128]
        if not name:
            return
        try:
            async with self.db.session() as session:
                repo = Repository(session)
                if await repo.audit.remember_name(user_id, name, self.clock.now()):
                    await repo.commit()
        except SQLAlchemyError as exc:
            # Shown by id this time; the name is written at the provider's next action.
            log.warning("Could not keep the name of provider %s: %s", user_id, type(exc).__name__)

    async def group_moved(self, old_chat_id: int, new_chat_id: int) -> None:
        """A care-team group became a supergroup: the admins must put its new id in the settings."""
        if old_chat_id not in self.settings.provider_chat_ids:
            return
        log.warning("Provider chat %s is now the supergroup %s", old_chat_id, new_chat_id)
        moved = Say("admin_group_moved", {"chat": old_chat_id, "new": new_chat_id})
        await self.alerts.tell_admins(moved)

    # Replies to alerts

    async def relay(
        self, user_id: int, chat_id: int, replied_to: int, text: str, name: str | None = None
    ) -> Say | None:
        """Send a provider's reply to an alert on to its patient; None if it answers no alert."""
        if self.is_provider(user_id):
            await self.remember(user_id, name)
        async with self.db.session() as session:
            repo = Repository(session)
            row = await repo.escalations.message_at(chat_id, replied_to)
            if row is None:
                return None
            if not self.is_provider(user_id):
                log.warning("Refused a reply to an alert by user %s", user_id)
                return Say("relay_refused")
            escalation = await repo.escalations.get(row.escalation_id)
            if escalation is None:
                return None
            patient = escalation.patient
            label = label_of(patient)
            [relayed] = render(Say("care_team_message", {"text": text.strip()}), self.settings)
            try:
                await self.notifier.send(patient.chat_id, relayed)
            except Exception as exc:
                log.warning("Could not relay to a patient: %s", type(exc).__name__)
                return Say("relay_failed", {"label": label})
            await repo.audit.record(
                patient.id,
                user_id,
                self.clock.now(),
                AuditAction.MESSAGE,
                {"length": len(text)},
                escalation_id=escalation.id,
            )
            await repo.commit()
            return Say("relayed", {"label": label})

    async def open_reply(
        self, user_id: int, escalation_id: int, name: str | None = None
    ) -> Outcome:
        """A provider's Reply under a patient's message: ask, in private, what to write back.

        The question opens their reply field; their answer to it is relayed like a reply to the
        message itself (`relay`), because the question is kept as a copy of that escalation.
        """
        if not self.is_provider(user_id):
            log.warning("Refused a reply press on escalation %s by user %s", escalation_id, user_id)
            return Outcome(Say("relay_refused"))
        await self.remember(user_id, name)
        async with self.db.session() as session:
            repo = Repository(session)
            escalation = await repo.escalations.get(escalation_id)
            if escalation is None:
                return Outcome(Say("toast_gone"))
            prompt = Say("inbox_reply_prompt", {"label": label_of(escalation.patient)})
            [ask] = render(Show(prompt, force_reply=True), self.settings)
            try:
                message_id = await self.notifier.send(user_id, ask)
            except Exception as exc:
                log.warning(
                    "Could not ask provider %s for a reply: %s", user_id, type(exc).__name__
                )
                return Outcome(Say("inbox_reply_unreachable"))
            await repo.escalations.keep_reply_prompt(
                escalation.id, user_id, message_id, self.clock.now()
            )
            await repo.commit()
        return Outcome(Say("inbox_reply_toast"))

    # Invitations

    async def invite(
        self, user_id: int, args: list[str], bot_username: str, chat_id: int | None = None
    ) -> Say:
        """Prescribe a plan for a patient label; return the one-time link that enrolls on it."""
        if not self.is_provider(user_id):
            log.warning("Refused /invite by user %s", user_id)
            return Say("not_provider")
        if chat_id is not None and chat_id < 0 and chat_id not in self.settings.provider_chat_ids:
            # A link works for whoever taps it first: never into a group that is not the team's.
            log.warning("Refused /invite in group %s", chat_id)
            return Say("invite_not_here")
        if len(args) < 2:
            return Say("invite_usage")
        label = args[0]
        if not LABEL.match(label):
            return Say("invite_bad_label")
        try:
            plan = self._plan(args[1:])
        except PlanError as exc:
            return Say("invite_bad_plan", {"reason": str(exc)})
        except (ValueError, IndexError):
            return Say("invite_usage")
        now = self.clock.now()
        async with self.db.session() as session:
            repo = Repository(session)
            if await repo.patients.label_taken(label, now):
                return Say("invite_label_taken", {"label": label})
            invite = Invite(
                code=secrets.token_urlsafe(12),
                label=label,
                plan=plan.to_dict(),
                created_by=user_id,
                created_at=now,
                expires_at=now + timedelta(hours=self.settings.invite_valid_hours),
            )
            await repo.add(invite)
            await repo.commit()
        details = {
            "label": label,
            "plan": plan,
            "expires": f"{invite.expires_at:%Y-%m-%d %H:%M}",
            "link": f"https://t.me/{bot_username}?start={invite.code}",
        }
        if plan.start_step == 1:
            return Say("invite_created", details)
        first = plan.steps[plan.start_step - 1]
        return Say(
            "invite_created_from",
            {"step": first.number, "steps": len(plan.steps), "dose": first, **details},
        )

    async def revoke(self, user_id: int, args: list[str]) -> Say:
        """Withdraw a link not used yet: sent to the wrong person, or no longer wanted."""
        if not self.is_provider(user_id):
            log.warning("Refused /revoke by user %s", user_id)
            return Say("not_provider")
        if len(args) != 1:
            return Say("revoke_usage")
        if not LABEL.match(args[0]):
            return Say("invite_bad_label")
        async with self.db.session() as session:
            repo = Repository(session)
            revoked = await repo.invites.revoke(args[0], self.clock.now(), user_id)
            await repo.commit()
        if not revoked:
            return Say("revoke_none", {"label": args[0]})
        log.info("Invitation revoked by provider %s", user_id)
        return Say("revoked", {"label": revoked[0]})

    def _plan(self, words: list[str]) -> Plan:
        """Read `<plan> [from <mg>]`; ValueError or IndexError when it is not that shape."""
        lowered = [w.casefold() for w in words]
        if FROM not in lowered:
            return self._prescribed(words)
        at = lowered.index(FROM)
        # "from 2", "from 2mg" and "from 2 mg" alike.
        after = lowered[at + 1 :]
        if after[-1:] == ["mg"]:
            after = after[:-1]
        if len(after) != 1:
            raise ValueError("not one dose after from")
        plan = self._prescribed(words[:at])
        # Only a provider starts a patient above step 1, at the dose they already take. A dose
        # that is no step of the plan is refused with the plan's reason, never rounded to a step.
        step = plan.step_for(after[0].removesuffix("mg"))
        return plan.starting_at(step.number)

    def _prescribed(self, words: list[str]) -> Plan:
        key = SHORT_PLANS.get(words[0], words[0])
        if key in BUILTIN_PLANS:
            if len(words) != 1:
                raise ValueError("words after a built-in plan")
            plan = BUILTIN_PLANS[key]
            if plan.target_mg > self.settings.max_dose_mg:
                raise PlanError(
                    f"it goes above this clinic's maximum of {self.settings.max_dose_mg} mg."
                )
            return plan
        if words[0] != "custom" or len(words) != 6:
            raise ValueError("not a plan")
        start, step, days, target, capsules = words[1:]
        return custom_plan(
            start, step, int(days), target, capsules.split(","), self.settings.max_dose_mg
        )


def _today(patient: Patient, clock: Clock) -> date:
    """The patient's current night, in their own time zone."""
    return local_today(clock.now(), zone_of(patient))
