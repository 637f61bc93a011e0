"""The care team's read-only views in words: /patients, /patient <label>, /escalations, /stats.

`bot/care/caseload.py` decides who may see what and reads it; the views here hold what it read
(rows, counts, where each patient is on their plan) and put it into the provider texts catalog's
sentences, cut into as few Telegram messages as fit. Pure: nothing read or written.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.settings import Settings
from bot.rules.nightly import adherence
from bot.rules.parsing import zone_city
from bot.rules.plans import Plan, ScheduledStep, Tonight
from bot.rules.states import DoseStatus, EscalationStatus, HoldKind, TierCode
from bot.rules.timing import local_today
from bot.ui import messages
from bot.ui.presenters import (
    age,
    label_of,
    percent,
    reason_text,
    report_lines,
    split,
    tier_word,
    who,
    word,
)
from bot.ui.presenters import (
    provider_text as _t,
)
from bot.ui.views import Reply
from storage.models import AuditEntry, Escalation, Invite, Patient, Report

NIGHT_MARKS: dict[str, str] = {
    DoseStatus.TAKEN: "✅",
    DoseStatus.SKIPPED: "⏭",
    DoseStatus.MISSED: "❌",
}
PENDING = "⏳"  # a night not answered yet (planned, being sent, or sent)
NO_REMINDER = "▫"
TIERS = (TierCode.EMERGENCY, TierCode.URGENT, TierCode.ROUTINE)


@dataclass(frozen=True)
class Course:
    """Where a patient is on their plan on a given day (a patient with no plan has none)."""

    plan: Plan
    start: date
    tonight: Tonight | None  # None before the first night
    steps: tuple[ScheduledStep, ...]  # the plan's steps with their dates


@dataclass(frozen=True)
class Enrolled:
    """One enrolled patient as the caseload lists them: their own day, and their course."""

    patient: Patient
    today: date
    course: Course | None


@dataclass(frozen=True)
class PatientsView:
    """/patients: every enrolled patient, and who is prescribed for but not enrolled yet."""

    now: datetime
    patients: tuple[Enrolled, ...]
    nights: dict[int, dict[date, str]]
    opened: dict[int, int]
    links: tuple[Invite, ...]
    enrolling: tuple[Patient, ...]

    def replies(self, settings: Settings) -> list[Reply]:
        waiting = _waiting(self.links, self.enrolling, self.now)
        if not self.patients:
            return [Reply(chunk) for chunk in split([_t("cl_patients_none"), *waiting])]
        lines = [_t("cl_patients_header", count=len(self.patients))]
        for row in sorted(
            self.patients,
            key=lambda r: (
                r.patient.label is None,
                (r.patient.label or "").casefold(),
                r.patient.id,
            ),
        ):
            p, today = row.patient, row.today
            own = self.nights.get(p.id, {})
            lines.append(
                _t(
                    "cl_patient_line",
                    label=label_of(p),
                    dose=_dose(p, row.course, today),
                    week=percent(adherence(window(own, today, 7))),
                    month=percent(adherence(window(own, today, 30))),
                    open=_t("cl_line_open", count=self.opened[p.id])
                    if self.opened.get(p.id)
                    else "",
                    markers="".join(f" · {m}" for m in _markers(p, today)),
                )
            )
        return [Reply(chunk) for chunk in split(lines + waiting)]


@dataclass(frozen=True)
class PatientView:
    """/patient <label>: one patient in full."""

    patient: Patient
    today: date
    course: Course | None
    nights: dict[date, str]
    reports: tuple[Report, ...]  # newest first
    audit: tuple[AuditEntry, ...]  # newest first
    names: dict[int, str]
    opened: int

    def replies(self, settings: Settings) -> list[Reply]:
        p, today, nights = self.patient, self.today, self.nights
        lines = [_t("cl_patient_title", label=label_of(p))]
        if markers := _markers(p, today):
            lines.append(_t("cl_patient_status", markers=" · ".join(markers)))
        lines += _plan_lines(p, self.course, today)
        strip = "".join(_mark(nights.get(today - timedelta(days=i))) for i in range(13, -1, -1))
        lines += [
            _t("cl_patient_nights", strip=strip),
            _t("cl_patient_nights_legend"),
        ]
        week, month = (percent(adherence(window(nights, today, n))) for n in (7, 30))
        lines.append(_t("cl_patient_adherence", week=week, month=month))
        if self.opened:
            lines.append(_t("cl_patient_open", count=self.opened))
        lines.append(_t("cl_patient_reports") if self.reports else _t("cl_patient_no_reports"))
        for report in reversed(self.reports):
            lines += report_lines(report, today)
        lines.append(_t("cl_patient_audit") if self.audit else _t("cl_patient_no_audit"))
        for entry in reversed(self.audit):
            at = f"{messages.day(entry.at.date(), today)} {entry.at:%H:%M}"
            action = entry.action.replace("_", " ")
            actor = who(self.names, entry.actor_user_id)
            lines.append(_t("cl_audit_line", at=at, actor=actor, action=action))
        return [Reply(chunk) for chunk in split(lines)]


@dataclass(frozen=True)
class EscalationsView:
    """/escalations: escalations not yet decided, oldest first, with their patient's label."""

    now: datetime
    rows: tuple[Any, ...]  # (escalation, label)

    def replies(self, settings: Settings) -> list[Reply]:
        if not self.rows:
            return [Reply(_t("cl_escalations_none"))]
        blocks = [_t("cl_escalations_header", count=len(self.rows))]
        for e, label in self.rows:
            head = _t(
                "cl_escalation_line",
                id=e.id,
                tier=tier_word(e.tier),
                label=label or f"#{e.patient_id}",
                age=age(self.now - e.created_at),
                status=word(f"cl_status_{e.status}", e.status),
            )
            reasons = "; ".join(
                reason_text(str(r[0]), r[1] if len(r) > 1 else None) for r in e.reasons
            )
            blocks.append(
                f"{head}\n{_t('cl_escalation_reasons', reasons=reasons)}" if reasons else head
            )
        return [Reply(chunk) for chunk in split(blocks)]


@dataclass(frozen=True)
class DigestView:
    """The care team's daily digest: who enrolled since the day before, the alerts waiting for a
    decision, and who took fewer than half of their doses over the last 7 nights."""

    now: datetime
    day: date
    enrolled: tuple[str, ...]  # labels, in the order they enrolled
    waiting: tuple[Escalation, ...]  # not decided yet, oldest first
    low: tuple[tuple[str, int], ...]  # (label, percent taken), lowest first

    def replies(self, settings: Settings) -> list[Reply]:
        lines = [_t("digest_header", day=messages.day(self.day))]
        if self.enrolled:
            labels = ", ".join(self.enrolled)
            lines.append(_t("digest_enrolled", count=len(self.enrolled), labels=labels))
        else:
            lines.append(_t("digest_enrolled_none"))
        if self.waiting:
            urgent = sum(e.tier in (TierCode.URGENT, TierCode.EMERGENCY) for e in self.waiting)
            oldest = age(self.now - self.waiting[0].created_at)
            lines.append(
                _t("digest_waiting", count=len(self.waiting), urgent=urgent, oldest=oldest)
            )
        else:
            lines.append(_t("digest_waiting_none"))
        if self.low:
            rows = [_t("digest_low_line", label=label, percent=percent(n)) for label, n in self.low]
            lines.append(_t("digest_low", lines="\n".join(rows)))
        else:
            lines.append(_t("digest_low_none"))
        lines.append(_t("digest_footer"))
        # A blank line between the parts; a long list of labels goes on in a second message.
        blocks = [f"{line}\n" for line in lines[:-1]] + lines[-1:]
        return [Reply(chunk) for chunk in split(blocks)]


@dataclass(frozen=True)
class StatsView:
    """/stats: the clinic's figures over the last 30 days."""

    now: datetime
    patients: tuple[Patient, ...]
    nights: dict[int, dict[date, str]]
    escalations: tuple[Escalation, ...]
    undelivered: int
    invites: int

    def replies(self, settings: Settings) -> list[Reply]:
        now, patients, escalations = self.now, self.patients, self.escalations
        statuses = [
            s
            for p in patients
            for s in window(self.nights.get(p.id, {}), local_today(now, _zone(p, settings)), 30)
        ]
        tiers = {tier: 0 for tier in TIERS}
        for e in escalations:
            tiers[e.tier] = tiers.get(e.tier, 0) + 1
        # The first response, acknowledgement or decision, is what a waiting patient feels.
        answered = [(e, [m for m in (e.acknowledged_at, e.decided_at) if m]) for e in escalations]
        waits = [(min(m) - e.created_at).total_seconds() / 60 for e, m in answered if m]
        median = (
            _t("cl_stats_minutes", n=round(statistics.median(waits))) if waits else _t("cl_none")
        )
        text = _t(
            "cl_stats",
            now=f"{messages.day(now.date())} {now:%H:%M}",
            enrolled=len(patients),
            receiving=sum(p.receives_reminders for p in patients),
            paused=sum(p.reminders_paused or p.provider_paused for p in patients),
            blocked=sum(p.blocked_bot for p in patients),
            clearance=sum(p.awaiting_clearance for p in patients),
            taken=statuses.count(DoseStatus.TAKEN),
            skipped=statuses.count(DoseStatus.SKIPPED),
            missed=statuses.count(DoseStatus.MISSED),
            adherence=percent(adherence(statuses)),
            escalations=len(escalations),
            tiers=" · ".join(
                _t("cl_stats_tier", tier=tier_word(k), count=n) for k, n in tiers.items()
            ),
            decided=sum(e.status == EscalationStatus.DECIDED for e in escalations),
            median=median,
            undelivered=self.undelivered,
            invites=self.invites,
        )
        return [Reply(chunk) for chunk in split([text])]


def window(nights: dict[date, str], today: date, n: int) -> list[str]:
    """Statuses of the `n` nights up to `today`, oldest first (nights without a row left out)."""
    days = (today - timedelta(days=i) for i in range(n - 1, -1, -1))
    return [nights[d] for d in days if d in nights]


def _mark(status: str | None) -> str:
    if status is None:
        return NO_REMINDER
    return NIGHT_MARKS.get(status, PENDING)


def _held(patient: Patient, today: date) -> bool:
    # Nights off (skipped, missed, paused, withheld) are not a hold on the dose.
    return any(
        h.kind != HoldKind.OFF and (h.end is None or h.start <= today < h.end)
        for h in patient.holds
    )


def _markers(patient: Patient, today: date) -> list[str]:
    flags = (
        (patient.withheld_at is not None, "cl_marker_withheld"),
        (patient.provider_paused, "cl_marker_provider_paused"),
        (patient.reminders_paused, "cl_marker_paused"),
        (patient.blocked_bot, "cl_marker_blocked"),
        (patient.awaiting_clearance, "cl_marker_clearance"),
        (_held(patient, today), "cl_marker_held"),
        (patient.morning_dose, "cl_marker_morning"),
    )
    return [_t(key) for on, key in flags if on]


def _zone(patient: Patient, settings: Settings) -> ZoneInfo:
    return ZoneInfo(patient.timezone or settings.default_timezone)


def _waiting(links: tuple[Invite, ...], enrolling: tuple[Patient, ...], now: datetime) -> list[str]:
    """Who is prescribed for but not enrolled yet: links not used, enrollments not finished."""
    if not links and not enrolling:
        return []
    lines = ["", _t("cl_waiting_header", count=len(links) + len(enrolling))]
    lines += [_link(i) for i in links]
    lines += [
        _t(
            "cl_waiting_enrolling",
            label=label_of(p),
            date=messages.day(p.created_at.date(), now.date()),
        )
        for p in enrolling
    ]
    return lines + ([_t("cl_waiting_revoke")] if links else [])


def _link(invite: Invite) -> str:
    """A link not used yet; where the patient starts when a provider named their dose."""
    expires = f"{invite.expires_at:%Y-%m-%d %H:%M}"
    plan = Plan.from_dict(invite.plan)
    if plan.start_step == 1:
        return _t("cl_waiting_link", label=invite.label, expires=expires)
    first = plan.steps[plan.start_step - 1]
    mg = messages.mg(first.dose_mg)
    return _t("cl_waiting_link_from", label=invite.label, expires=expires, step=first.number, mg=mg)


def _dose(patient: Patient, course: Course | None, today: date) -> str:
    if course is None:
        return _t("cl_none")
    info = course.tonight
    if info is None:
        return _t("cl_dose_not_started", date=messages.day(course.start, today))
    mg = messages.mg(info.step.dose_mg)
    return _t("cl_dose_step", mg=mg, step=info.step.number, steps=len(course.plan.steps))


def _plan_lines(p: Patient, course: Course | None, today: date) -> list[str]:
    lines = []
    if p.bedtime is not None and p.timezone is not None:
        time, city = messages.clock(p.bedtime), zone_city(p.timezone)
        lines.append(_t("cl_patient_reminder", time=time, city=city, zone=p.timezone))
    holds = [
        _t("cl_hold_open", start=messages.day(h.start, today))
        if h.end is None
        else _t(
            "cl_hold_closed",
            start=messages.day(h.start, today),
            end=messages.day(h.end - timedelta(days=1), today),
        )
        for h in p.holds
        if h.kind != HoldKind.OFF
    ]
    lines.append(
        _t("cl_patient_holds", holds="; ".join(holds)) if holds else _t("cl_patient_no_holds")
    )
    if course is None:
        return lines
    plan, info = course.plan, course.tonight
    head = [_t("cl_patient_plan", plan=messages.plan_name(plan))]
    if info is None:
        dose = messages.step_words(plan.steps[plan.start_step - 1])
        head.append(
            _t("cl_patient_before_start", date=messages.day(course.start, today), dose=dose)
        )
    else:
        dose = messages.step_words(info.step)
        head.append(_t("cl_patient_now", dose=dose, step=info.step.number, steps=len(plan.steps)))
    current = info.step.number if info else None
    return [
        *head,
        *lines,
        _t("cl_patient_steps"),
        *messages.plan_lines(list(course.steps), current, today),
    ]
