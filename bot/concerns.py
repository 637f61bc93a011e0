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

from bot import escalations
from bot.alerts import Alerts
from bot.clock import Clock
from bot.messages import dose_words
from bot.reminders import Reminders
from bot.settings import Settings
from bot.texts import t
from bot.triage import Stop, Tier, Triage
from storage.models import Dose, Patient
from storage.repositories import Repository

log = logging.getLogger(__name__)

# Categories of words or flags after which the crisis line is named, not only the emergency number.
CRISIS = frozenset({"self_harm", "mood_worse", "mood"})


@dataclass(frozen=True)
class Raised:
    """What raising a concern did: the alert stored, the stop in force, what tonight holds."""

    escalation_id: int | None
    stop: Stop
    emergency: bool
    crisis: bool
    # A step-up night whose new dose was not taken yet goes back to the previous dose: that one.
    tonight: Dose | None = None


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
            or await repo.latest_dose(patient.id, statuses=("taken",)) is None
        ):
            # Already told to take no LDN, or not started yet (a concern before the first dose
            # withholds it): a milder concern must never say "keep taking" it.
            stop = Stop.WITHHOLD
        tonight = None
        if stop is Stop.WITHHOLD:
            await self.reminders.withhold(repo, patient)
        elif stop is Stop.HOLD:
            tonight = await self.reminders.hold_current_dose(repo, patient)
        escalation = await escalations.store(
            repo, patient, result, self.clock.now(), words=words, report_id=report_id, stop=stop
        )
        codes = {f.effect for f in result.findings if f.tier >= Tier.ROUTINE}
        return Raised(
            escalation_id=escalation.id if escalation is not None else None,
            stop=stop,
            emergency=result.emergency,
            crisis=bool(codes & CRISIS),
            tonight=tonight,
        )

    def deliver_soon(self, raised: Raised) -> None:
        """Start sending the alert now; the patient's answer does not wait for it."""
        if raised.escalation_id is not None:
            self.alerts.deliver_soon(raised.escalation_id)

    def reply(self, raised: Raised, patient: Patient) -> str:
        """What the patient is told to do now, in plain words."""
        lines = []
        if raised.emergency:
            lines.append(t("concern_emergency", emergency=self.settings.emergency_number))
        if raised.crisis:
            lines.append(t("concern_crisis", crisis=self.settings.crisis_line))
        if raised.stop is Stop.WITHHOLD:
            lines.append(t("concern_withhold"))
        elif raised.stop is Stop.HOLD:
            if raised.tonight is not None:
                words = dose_words(
                    raised.tonight.dose_mg, raised.tonight.capsules, raised.tonight.capsule_mg
                )
                lines.append(t("concern_hold_tonight", dose=words))
            else:
                lines.append(t("concern_hold", dose=self.reminders.current_dose_words(patient)))
        if raised.escalation_id is not None:
            # Never claim someone was told when nobody receives alerts.
            lines.append(t("concern_sent" if self.settings.has_care_team else "concern_not_sent"))
        if not raised.emergency:
            lines.append(t("concern_unwell", emergency=self.settings.emergency_number))
        return "\n\n".join(lines)
