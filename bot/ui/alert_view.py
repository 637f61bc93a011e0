"""An alert as the care team reads it: who, what, the dose, the history, and the decisions.

`bot/care/alerts.py` reads what an alert needs (the escalation and its patient, the providers'
names, tonight's step, the reports before it, the nights' statuses) into an `AlertView`; the view
puts it into words, with the buttons a provider decides with. Pure: nothing read or written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.app.settings import Settings
from bot.rules.findings import CRISIS
from bot.rules.nightly import adherence
from bot.rules.plans import Plan, Tonight
from bot.rules.states import Decision, EscalationStatus, HoldKind, TierCode
from bot.ui import callbacks, messages
from bot.ui.presenters import label_of, percent, reason_text, report_findings, who
from bot.ui.texts import t
from bot.ui.texts_provider import PROVIDER_TEXTS
from bot.ui.views import Button, Reply
from storage.models import Escalation, Patient, Report

# At most this many characters of the patient's words in an alert (all of them in /patient).
WORDS_SHOWN = 1500
# Of a folded finding, at most this many characters of the newest words on the "New" line.
NEW_WORDS_SHOWN = 300


@dataclass(frozen=True)
class AlertView:
    """What an alert shows, as read; `replies` puts it into words."""

    escalation: Escalation
    names: dict[int, str]  # user id -> name, of whoever acknowledged or decided it
    current: Tonight | None  # the patient's step tonight; None until their plan is planned
    plan: Plan | None
    history: tuple[Report, ...]  # the two reports completed last before it, but its own
    statuses: tuple[str, ...]  # the statuses of the patient's last 30 nights, oldest first
    round: int = 1
    admins_only: bool = False  # the providers had it ESCALATION_MAX_RESENDS times again

    def replies(self, settings: Settings) -> list[Reply]:
        return [self.reply(settings)]

    def reply(self, settings: Settings) -> Reply:
        escalation, names = self.escalation, self.names
        lines = [self._header()]
        reasons = [reason_text(code, effect) for code, effect in escalation.reasons]
        lines.append(t("alert_reasons", reasons="\n".join(f"• {r}" for r in reasons)))
        if escalation.words:
            lines.append(t("alert_words", words=_clip(escalation.words)))
        if escalation.folded and escalation.latest:
            lines.append(self._new())
        lines.append(self._told(settings))
        history = self._history()
        if history:
            lines.append(t("alert_history", lines="\n".join(history)))
        statuses = list(self.statuses)
        lines.append(
            t(
                "alert_adherence",
                week=percent(adherence(statuses[-7:])),
                month=percent(adherence(statuses)),
            )
        )
        if self.round > 1:
            lines.append(t("alert_again", round=self.round))
        if self.admins_only:
            lines.append(t("alert_admins_only", times=settings.escalation_max_resends + 1))
        if (
            escalation.status == EscalationStatus.ACKNOWLEDGED
            and escalation.acknowledged_by is not None
        ):
            by, at = who(names, escalation.acknowledged_by), at_utc(escalation.acknowledged_at)
            lines.append(t("alert_acknowledged", who=by, at=at))
        if escalation.status != EscalationStatus.DECIDED:
            lines.append(t("alert_reply_hint"))
        return Reply("\n\n".join(lines), decision_buttons(escalation))

    def _new(self) -> str:
        """The newest finding folded into this alert, and how many reports it gathers."""
        escalation = self.escalation
        latest = escalation.latest or {}
        reasons = "; ".join(reason_text(code, effect) for code, effect in latest.get("reasons", []))
        line = t(
            "alert_new",
            at=at_utc(escalation.folded_at),
            count=escalation.folded + 1,
            reasons=reasons,
        )
        words = latest.get("words")
        if words:
            shown = words if len(words) <= NEW_WORDS_SHOWN else words[:NEW_WORDS_SHOWN] + "…"
            line += "\n" + t("alert_new_words", words=shown)
        return line

    def _header(self) -> str:
        escalation = self.escalation
        patient = escalation.patient
        state = self._state(patient)
        info, plan = self.current, self.plan
        if info is None or plan is None:
            return t("tier_" + escalation.tier) + f" · {label_of(patient)}{state}"
        return t(
            "alert",
            tier=t("tier_" + escalation.tier),
            label=label_of(patient),
            plan=messages.plan_name(plan),
            dose=messages.step_words(info.step),
            step=info.step.number,
            steps=len(plan.steps),
            held=state,
        )

    def _state(self, patient: Patient) -> str:
        """Where this alert stands: decided (by whom), or what waits for a provider meanwhile."""
        escalation = self.escalation
        if escalation.status == EscalationStatus.DECIDED and escalation.decision is not None:
            decided = t(
                "alert_decided",
                decision=t(f"decision_{escalation.decision}"),
                who=who(self.names, escalation.decided_by),
                at=at_utc(escalation.decided_at),
            )
            return "\n" + decided
        if patient.withheld_at is not None:
            return t("cl_alert_withheld")
        if patient.awaiting_clearance:
            return t("alert_waiting")
        open_kinds = {h.kind for h in patient.holds if h.end is None}
        if HoldKind.HOLD in open_kinds:
            return t("alert_held")
        if HoldKind.PROVIDER in open_kinds:
            return t("cl_alert_held_by_provider")
        return ""

    def _told(self, settings: Settings) -> str:
        """What the patient was told to do while this waits, as they were told it."""
        escalation = self.escalation
        stop = escalation.stop or "none"
        told = [PROVIDER_TEXTS.get(f"cl_alert_told_{stop}", stop)]
        if escalation.tier == TierCode.EMERGENCY:
            told.append(t("cl_alert_told_emergency", emergency=settings.emergency_number))
        if {code for reason in escalation.reasons for code in reason if code} & CRISIS:
            told.append(t("cl_alert_told_crisis", crisis=settings.crisis_line))
        what = (
            told[0]
            if len(told) == 1
            else t("cl_alert_told_and", items=", ".join(told[:-1]), last=told[-1])
        )
        return t("cl_alert_told", what=what)

    def _history(self) -> list[str]:
        lines = []
        for report in self.history:
            assert report.completed_at is not None
            findings = report_findings(report, typed=True)
            when = messages.day(report.completed_at.date())
            lines.append(f"{when}: {'; '.join(findings)}")
        return lines


def at_utc(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%H:%M} UTC"


def _clip(words: str) -> str:
    """The patient's words, cut to fit: Telegram's limit is 4096 characters for the whole alert."""
    return words if len(words) <= WORDS_SHOWN else words[:WORDS_SHOWN] + "…"


def decision_buttons(escalation: Escalation) -> tuple[tuple[Button, ...], ...]:
    """Acknowledge (until someone has) and the five decisions, two to a row.

    A plain message offers only Acknowledge. Once decided, every decision is offered again, so
    a provider can pause or step back from a hold; only a plan let go on leaves nothing to press.
    """
    if escalation.tier == TierCode.MESSAGE:
        actions = [Decision.ACK] if escalation.status == EscalationStatus.OPEN else []
    elif escalation.status == EscalationStatus.DECIDED:
        decisions: list[Decision] = [a for a in callbacks.DECISIONS if a != Decision.ACK]
        actions = [] if escalation.decision == Decision.CONTINUE else decisions
    else:
        actions = [
            a
            for a in callbacks.DECISIONS
            if a != Decision.ACK or escalation.status == EscalationStatus.OPEN
        ]
    buttons = [
        Button(t(f"button_decide_{a}"), callbacks.decision(escalation.id, a)) for a in actions
    ]
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
