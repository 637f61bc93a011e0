"""Concerns: a worrying answer becomes a stored alert and a safety stop, then reaches a person.

The one way the bot raises something for the care team. In the caller's transaction the alert is
stored and the stop is applied (withhold LDN, or hold the increase); once the caller has committed,
`deliver_soon` starts sending the alert at once, in the background: the patient's answer never
waits for the care team's chats. The dispatcher stays the retry path.
What the patient is told says who decided: the bot, until a provider has.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.care import escalations
from bot.care.alerts import Alerts
from bot.care.reminders import Reminders
from bot.rules.findings import CRISIS, Stop, Tier
from bot.rules.states import DoseStatus
from bot.rules.triage import Triage
from bot.ui.messages import dose_words
from bot.ui.views import Lines, Say
from storage.models import Dose, Patient
from storage.repositories import Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Raised:
    """What raising a concern did: the alert stored, the stop in force, what tonight holds."""

    escalation_id: int | None
    stop: Stop
    emergency: bool
    crisis: bool
    # A step-up night whose new dose was not taken yet goes back to the previous dose: that one.
    tonight: Dose | None = None
    # Tonight's reminder messages whose dose buttons go once LDN is withheld.
    chat_id: int | None = None
    buttons: tuple[int, ...] = ()
    # Folded into the patient's open alert: its copies are edited, no new alert is sent.
    folded: bool = False


class Concerns:
    """Store an alert with its safety stop; deliver it the moment the caller has committed."""

    def __init__(
        self, reminders: Reminders, alerts: Alerts, clock: Clock, settings: Settings
    ) -> None:
        self.reminders = reminders
        self.alerts = alerts
        self.clock = clock
        self.settings = settings

    async def raise_(
        self,
        repo: Repository,
        patient: Patient,
        result: Triage,
        *,
        words: str | None = None,
        report_id: int | None = None,
    ) -> Raised:
        """Apply the safety stop the findings call for and store the alert; the caller commits."""
        stop = result.stop if result.alerts else Stop.NONE
        if stop is Stop.HOLD and (
            patient.withheld_at is not None
            or patient.awaiting_clearance
            or patient.provider_paused
            or await repo.nights.latest(patient.id, statuses=(DoseStatus.TAKEN,)) is None
        ):
            # Already told to take no LDN, or not started yet (a concern before the first dose
            # withholds it): a milder concern must never say "keep taking" it.
            stop = Stop.WITHHOLD
        tonight, buttons = None, []
        if stop is Stop.WITHHOLD:
            buttons = await self.reminders.tonights_buttons(repo, patient)
            await self.reminders.withhold(repo, patient)
        elif stop is Stop.HOLD:
            tonight = await self.reminders.hold_current_dose(repo, patient)
        now = self.clock.now()
        escalation = await escalations.store(
            repo, patient, result, now, words=words, report_id=report_id, stop=stop
        )
        codes = {f.effect for f in result.findings if f.tier >= Tier.ROUTINE}
        return Raised(
            escalation_id=escalation.id if escalation is not None else None,
            stop=stop,
            emergency=result.emergency,
            crisis=bool(codes & CRISIS),
            tonight=tonight,
            chat_id=patient.chat_id,
            buttons=tuple(buttons),
            folded=escalation is not None and escalation.folded_at == now,
        )

    def deliver_soon(self, raised: Raised) -> None:
        """Start sending the alert now (or editing the open one it joined); nobody waits for it."""
        if raised.escalation_id is not None and raised.folded:
            self.alerts.soon(self.alerts.refresh_copies(raised.escalation_id))
        elif raised.escalation_id is not None:
            self.alerts.deliver_soon(raised.escalation_id)
        if raised.buttons and raised.chat_id is not None:
            self.alerts.soon(self.reminders.take_buttons_off(raised.chat_id, raised.buttons))

    def reply(self, raised: Raised, patient: Patient) -> Lines:
        """What the patient is told to do now, as data (`bot.ui.views`)."""
        emergency = self.settings.emergency_number
        lines: list[Say] = []
        if raised.emergency:
            lines.append(Say("concern_emergency", {"emergency": emergency}))
        if raised.crisis:
            lines.append(Say("concern_crisis", {"crisis": self.settings.crisis_line}))
        # Each says who decides: the care team, or the clinic when nobody receives alerts.
        if raised.stop is Stop.WITHHOLD:
            lines.append(Say("concern_withhold", clinic=True))
        elif raised.stop is Stop.HOLD:
            if raised.tonight is not None:
                row = raised.tonight
                words = dose_words(row.dose_mg, row.capsules, row.capsule_mg)
                lines.append(Say("concern_hold_tonight", {"dose": words}, clinic=True))
            else:
                words = self.reminders.current_dose_words(patient)
                lines.append(Say("concern_hold", {"dose": words}, clinic=True))
        if raised.escalation_id is not None:
            # Never claim someone was told when nobody receives alerts.
            lines.append(Say("concern_sent" if self.settings.has_care_team else "concern_not_sent"))
        if not raised.emergency:
            lines.append(Say("concern_unwell", {"emergency": emergency}))
        return Lines(tuple(lines), "\n\n")
