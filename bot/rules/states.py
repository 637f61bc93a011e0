"""States: the closed vocabularies the database stores, one `StrEnum` per column.

A member is its stored string (`DoseStatus.TAKEN == "taken"`), so rows read back compare equal
to members, and a member written is the string stored. The database refuses any other value
(a CHECK constraint per column, declared in `storage/models.py` from these enums and added by
migration 0008): a new member needs a migration that widens its constraint.

Pure: the enums, and the conversions between the tiers and stops the rules rank and the words
stored for them.
"""

from __future__ import annotations

from enum import StrEnum

from bot.rules.findings import Stop, Tier


class DoseStatus(StrEnum):
    """A night's reminder (`doses.status`): scheduled -> sending -> sent -> answered or missed."""

    SCHEDULED = "scheduled"  # planned, not sent yet
    SENDING = "sending"  # claimed by a process that is sending it now
    SENT = "sent"  # out, not answered
    SNOOZED = "snoozed"  # the patient asked to be reminded again later
    TAKEN = "taken"
    SKIPPED = "skipped"
    MISSED = "missed"  # the cutoff passed with no answer


class HoldKind(StrEnum):
    """A stretch of nights that do not count toward a step (`plan_holds.kind`)."""

    HOLD = "hold"  # the increase waits, opened for a concern
    PROVIDER = "provider"  # the increase waits, by a provider's decision
    OFF = "off"  # nights the patient did not take LDN


class ReportKind(StrEnum):
    """Which side-effect check-in a report is (`reports.kind`)."""

    TOLERANCE = "tolerance"  # before an increase: unanswered, the increase waits
    STEP_UP = "step_up"  # a few nights into a new dose
    WEEKLY = "weekly"  # weekly while titrating
    ASKED = "asked"  # the patient's own /sideeffects
    MESSAGE = "message"  # a patient's own message passed on to the care team
    CHECKIN = "checkin"  # the first care-loop release's only kind, still read as a check-in


class ReportStatus(StrEnum):
    """A check-in's progress (`reports.status`): scheduled -> open (asked) -> done."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    DONE = "done"
    EXPIRED = "expired"  # never finished
    UNANSWERED = "unanswered"  # a tolerance check never finished: its increase waited for it


class TierCode(StrEnum):
    """A tier as stored (`reports.tier`, `escalations.tier`); MESSAGE is a patient's own words."""

    NONE = "none"
    INFO = "info"
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"
    MESSAGE = "message"

    @classmethod
    def of(cls, tier: Tier) -> TierCode:
        return cls(tier.name.lower())

    @property
    def tier(self) -> Tier:
        """The rank to compare by (MESSAGE has none)."""
        return Tier[self.name]


# What an escalation may be: an alert of a tier that needs a provider, or a patient's message.
ESCALATION_TIERS = (TierCode.ROUTINE, TierCode.URGENT, TierCode.EMERGENCY, TierCode.MESSAGE)
# What a report's triage may come to.
REPORT_TIERS = (TierCode.NONE, TierCode.INFO, TierCode.ROUTINE, TierCode.URGENT, TierCode.EMERGENCY)


class EscalationStatus(StrEnum):
    """An escalation's progress (`escalations.status`): open -> acknowledged -> decided."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    DECIDED = "decided"


class Decision(StrEnum):
    """What a provider may decide on an escalation, in the order the buttons show.

    ACK only acknowledges (the status says so); the others are stored in `escalations.decision`.
    """

    ACK = "ack"
    CONTINUE = "continue"
    HOLD = "hold"
    BACK = "back"
    PAUSE = "pause"
    MORNING = "morning"


DECIDED = tuple(d for d in Decision if d is not Decision.ACK)


class StopCode(StrEnum):
    """What the patient was told to do while an escalation waits (`escalations.stop`)."""

    HOLD = "hold"  # no increase
    WITHHOLD = "withhold"  # no LDN

    @classmethod
    def of(cls, stop: Stop) -> StopCode | None:
        return None if stop is Stop.NONE else cls(stop.name.lower())

    @property
    def stop(self) -> Stop:
        return Stop[self.name]


class AuditAction(StrEnum):
    """A provider's action on a patient (`audit.action`): a decision, or a reply relayed."""

    ACK = "ack"
    CONTINUE = "continue"
    HOLD = "hold"
    BACK = "back"
    PAUSE = "pause"
    MORNING = "morning"
    MESSAGE = "message"


class Awaiting(StrEnum):
    """What the bot waits for from a patient (`patients.awaiting`): an onboarding question, in
    asking order, or a settings change.

    The screening asks SCREEN, then SCREEN_<code> one by one after a yes, for each code of
    `bot.rules.triage.SCREENING`.
    """

    CONSENT = "consent"
    SCREEN = "screen"
    SCREEN_OPIOIDS = "screen_opioids"
    SCREEN_LIVER_KIDNEY = "screen_liver_kidney"
    SCREEN_PSYCHIATRIC = "screen_psychiatric"
    SCREEN_PREGNANCY = "screen_pregnancy"
    SCREEN_THYROID = "screen_thyroid"
    SCREEN_IMMUNE = "screen_immune"
    SCREEN_CANCER = "screen_cancer"
    PLAN = "plan"
    ZONE = "zone"
    ZONE_CONFIRM = "zone_confirm"  # a typed place, to confirm among its matches
    START = "start"
    BEDTIME = "bedtime"
    SUMMARY = "summary"
    # After enrollment
    CHECKIN_WORDS = "checkin_words"  # a check-in's last question: the patient's own words
    SET_BEDTIME = "set_bedtime"
    SET_ZONE = "set_zone"
    SET_ZONE_CONFIRM = "set_zone_confirm"
    SET_MORNING = "set_morning"  # a provider moved the dose to the morning: at what time

    @classmethod
    def screen(cls, code: str) -> Awaiting:
        """The screening question about `code`."""
        return cls(f"screen_{code}")
