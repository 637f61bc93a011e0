"""The care team's read-only views: the caseload, one patient, open escalations, clinic figures.

Nothing here changes a plan or commits: one session per view, read and rendered.
"""

from __future__ import annotations

import logging
import statistics
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.care.reminders import holds_of, plan_of
from bot.rules.nightly import adherence
from bot.rules.parsing import zone_city
from bot.rules.plans import Plan, schedule, tonight
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
from storage.caseload import CaseloadQueries
from storage.db import Database
from storage.models import Invite, Patient

log = logging.getLogger(__name__)

NIGHT_MARKS: dict[str, str] = {
    DoseStatus.TAKEN: "✅",
    DoseStatus.SKIPPED: "⏭",
    DoseStatus.MISSED: "❌",
}
PENDING = "⏳"  # a night not answered yet (planned, being sent, or sent)
NO_REMINDER = "▫"
TIERS = (TierCode.EMERGENCY, TierCode.URGENT, TierCode.ROUTINE)


def _window(nights: dict[date, str], today: date, n: int) -> list[str]:
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


class Caseload:
    """What the care team sees of its patients; never a change to a plan."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def refusal(
        self, user_id: int, chat_id: int, view: str, *, admins: bool = False
    ) -> Reply | None:
        """None when the user may see `view` in this chat, else a refusal that reveals nothing."""
        s = self.settings
        admin = user_id in s.admin_user_ids
        provider = admin or user_id in s.provider_user_ids
        # Patients' details go to a provider's own chat or a configured care-team group only.
        here = chat_id == user_id or chat_id in s.provider_chat_ids
        if provider and here and (admin or not admins):
            return None
        log.warning("Refused the %s view to user %s", view, user_id)
        return Reply(_t("cl_refused_admin" if provider and here else "cl_refused"))

    async def patients(self, user_id: int, chat_id: int) -> list[Reply]:
        """One line per enrolled patient, by label: dose, step, adherence, open escalations."""
        if refused := self.refusal(user_id, chat_id, "patients"):
            return [refused]
        now = self.clock.now()
        async with self.db.session() as session:
            q = CaseloadQueries(session)
            patients = await q.enrolled()
            nights = await q.nights_since(now.date() - timedelta(days=32))
            opened = await q.open_counts()
            waiting = self._waiting(await q.links_waiting(now), await q.enrolling(), now)
        if not patients:
            return [Reply(chunk) for chunk in split([_t("cl_patients_none"), *waiting])]
        lines = [_t("cl_patients_header", count=len(patients))]
        for p in sorted(
            patients, key=lambda p: (p.label is None, (p.label or "").casefold(), p.id)
        ):
            today = local_today(now, _zone(p, self.settings))
            own = nights.get(p.id, {})
            lines.append(
                _t(
                    "cl_patient_line",
                    label=label_of(p),
                    dose=self._dose(p, today),
                    week=percent(adherence(_window(own, today, 7))),
                    month=percent(adherence(_window(own, today, 30))),
                    open=_t("cl_line_open", count=opened[p.id]) if opened.get(p.id) else "",
                    markers="".join(f" · {m}" for m in _markers(p, today)),
                )
            )
        return [Reply(chunk) for chunk in split(lines + waiting)]

    def _waiting(self, links: list[Invite], enrolling: list[Patient], now: datetime) -> list[str]:
        """Who is prescribed for but not enrolled yet: links not used, enrollments not finished."""
        if not links and not enrolling:
            return []
        lines = ["", _t("cl_waiting_header", count=len(links) + len(enrolling))]
        lines += [self._link(i) for i in links]
        lines += [
            _t(
                "cl_waiting_enrolling",
                label=label_of(p),
                date=messages.day(p.created_at.date(), now.date()),
            )
            for p in enrolling
        ]
        return lines + ([_t("cl_waiting_revoke")] if links else [])

    def _link(self, invite: Invite) -> str:
        """A link not used yet; where the patient starts when a provider named their dose."""
        expires = f"{invite.expires_at:%Y-%m-%d %H:%M}"
        plan = Plan.from_dict(invite.plan)
        if plan.start_step == 1:
            return _t("cl_waiting_link", label=invite.label, expires=expires)
        first = plan.steps[plan.start_step - 1]
        mg = messages.mg(first.dose_mg)
        return _t(
            "cl_waiting_link_from", label=invite.label, expires=expires, step=first.number, mg=mg
        )

    def _dose(self, patient: Patient, today: date) -> str:
        if patient.plan is None or patient.start_date is None:
            return _t("cl_none")
        plan = plan_of(patient)
        info = tonight(plan, patient.start_date, today, holds_of(patient))
        if info is None:
            return _t("cl_dose_not_started", date=messages.day(patient.start_date, today))
        mg = messages.mg(info.step.dose_mg)
        return _t("cl_dose_step", mg=mg, step=info.step.number, steps=len(plan.steps))

    async def patient(self, user_id: int, chat_id: int, label: str) -> list[Reply]:
        """One patient in full: plan, dose, holds, reminder, nights, check-ins, recent actions."""
        if refused := self.refusal(user_id, chat_id, "patient"):
            return [refused]
        label = label.strip()
        if not label:
            return [Reply(_t("cl_patient_usage"))]
        now = self.clock.now()
        async with self.db.session() as session:
            q = CaseloadQueries(session)
            p = await q.enrolled_by_label(label)
            if p is None:
                return [Reply(_t("cl_patient_unknown", label=label[:64]))]
            today = local_today(now, _zone(p, self.settings))
            nights = (await q.nights_since(today - timedelta(days=29), p.id)).get(p.id, {})
            reports = await q.done_reports(p.id, 3)
            audit = await q.audit(p.id, 5)
            names = await q.names([entry.actor_user_id for entry in audit])
            opened = (await q.open_counts()).get(p.id, 0)
        lines = [_t("cl_patient_title", label=label_of(p))]
        if markers := _markers(p, today):
            lines.append(_t("cl_patient_status", markers=" · ".join(markers)))
        lines += self._plan_lines(p, today)
        strip = "".join(_mark(nights.get(today - timedelta(days=i))) for i in range(13, -1, -1))
        lines += [
            _t("cl_patient_nights", strip=strip),
            _t("cl_patient_nights_legend"),
        ]
        week, month = (percent(adherence(_window(nights, today, n))) for n in (7, 30))
        lines.append(_t("cl_patient_adherence", week=week, month=month))
        if opened:
            lines.append(_t("cl_patient_open", count=opened))
        lines.append(_t("cl_patient_reports") if reports else _t("cl_patient_no_reports"))
        for report in reversed(reports):
            lines += report_lines(report, today)
        lines.append(_t("cl_patient_audit") if audit else _t("cl_patient_no_audit"))
        for entry in reversed(audit):
            at = f"{messages.day(entry.at.date(), today)} {entry.at:%H:%M}"
            action = entry.action.replace("_", " ")
            actor = who(names, entry.actor_user_id)
            lines.append(_t("cl_audit_line", at=at, actor=actor, action=action))
        return [Reply(chunk) for chunk in split(lines)]

    def _plan_lines(self, p: Patient, today: date) -> list[str]:
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
        if p.plan is None or p.start_date is None:
            return lines
        plan = plan_of(p)
        info = tonight(plan, p.start_date, today, holds_of(p))
        head = [_t("cl_patient_plan", plan=messages.plan_name(plan))]
        if info is None:
            dose = messages.step_words(plan.steps[plan.start_step - 1])
            head.append(
                _t("cl_patient_before_start", date=messages.day(p.start_date, today), dose=dose)
            )
        else:
            dose = messages.step_words(info.step)
            head.append(
                _t("cl_patient_now", dose=dose, step=info.step.number, steps=len(plan.steps))
            )
        steps = schedule(plan, p.start_date, holds_of(p))
        current = info.step.number if info else None
        return [
            *head,
            *lines,
            _t("cl_patient_steps"),
            *messages.plan_lines(steps, current, today),
        ]

    async def escalations(self, user_id: int, chat_id: int) -> list[Reply]:
        """Escalations not yet decided, oldest first."""
        if refused := self.refusal(user_id, chat_id, "escalations"):
            return [refused]
        now = self.clock.now()
        async with self.db.session() as session:
            rows = await CaseloadQueries(session).undecided_with_labels()
        if not rows:
            return [Reply(_t("cl_escalations_none"))]
        blocks = [_t("cl_escalations_header", count=len(rows))]
        for e, label in rows:
            head = _t(
                "cl_escalation_line",
                id=e.id,
                tier=tier_word(e.tier),
                label=label or f"#{e.patient_id}",
                age=age(now - e.created_at),
                status=word(f"cl_status_{e.status}", e.status),
            )
            reasons = "; ".join(
                reason_text(str(r[0]), r[1] if len(r) > 1 else None) for r in e.reasons
            )
            blocks.append(
                f"{head}\n{_t('cl_escalation_reasons', reasons=reasons)}" if reasons else head
            )
        return [Reply(chunk) for chunk in split(blocks)]

    async def stats(self, user_id: int, chat_id: int) -> list[Reply]:
        """Clinic-wide figures for admins."""
        if refused := self.refusal(user_id, chat_id, "stats", admins=True):
            return [refused]
        now = self.clock.now()
        since = now - timedelta(days=30)
        async with self.db.session() as session:
            q = CaseloadQueries(session)
            patients = await q.enrolled()
            nights = await q.nights_since(now.date() - timedelta(days=32))
            escalations = await q.escalations_since(since)
            undelivered = await q.undelivered_alerts()
            invites = await q.invites_waiting(now)
        statuses = [
            s
            for p in patients
            for s in _window(nights.get(p.id, {}), local_today(now, _zone(p, self.settings)), 30)
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
            undelivered=undelivered,
            invites=invites,
        )
        return [Reply(chunk) for chunk in split([text])]
