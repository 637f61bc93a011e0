"""The care team's read-only views: the caseload, one patient, open escalations, clinic figures.

Nothing here changes a plan or commits: one session per view, read, and returned as a view
object of `bot/ui/caseload_view.py`, which puts it into words (or a refusal, as a `Say`).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.care.reminders import holds_of, plan_of
from bot.rules.plans import schedule, tonight
from bot.rules.timing import local_today
from bot.ui.caseload_view import (
    Course,
    Enrolled,
    EscalationsView,
    PatientsView,
    PatientView,
    StatsView,
)
from bot.ui.views import Say
from storage.caseload import CaseloadQueries
from storage.db import Database
from storage.models import Patient

log = logging.getLogger(__name__)


def course(patient: Patient, today: date) -> Course | None:
    """Where the patient is on their plan today; None without a plan or a first night."""
    if patient.plan is None or patient.start_date is None:
        return None
    plan, holds = plan_of(patient), holds_of(patient)
    return Course(
        plan=plan,
        start=patient.start_date,
        tonight=tonight(plan, patient.start_date, today, holds),
        steps=tuple(schedule(plan, patient.start_date, holds)),
    )


def _zone(patient: Patient, settings: Settings) -> ZoneInfo:
    return ZoneInfo(patient.timezone or settings.default_timezone)


class Caseload:
    """What the care team sees of its patients; never a change to a plan."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def refusal(self, user_id: int, chat_id: int, view: str, *, admins: bool = False) -> Say | None:
        """None when the user may see `view` in this chat, else a refusal that reveals nothing."""
        s = self.settings
        admin = user_id in s.admin_user_ids
        provider = admin or user_id in s.provider_user_ids
        # Patients' details go to a provider's own chat or a configured care-team group only.
        here = chat_id == user_id or chat_id in s.provider_chat_ids
        if provider and here and (admin or not admins):
            return None
        log.warning("Refused the %s view to user %s", view, user_id)
        return Say("cl_refused_admin" if provider and here else "cl_refused")

    async def patients(self, user_id: int, chat_id: int) -> PatientsView | Say:
        """One line per enrolled patient, by label: dose, step, adherence, open escalations."""
        if refused := self.refusal(user_id, chat_id, "patients"):
            return refused
        now = self.clock.now()
        async with self.db.session() as session:
            q = CaseloadQueries(session)
            patients = await q.enrolled()
            nights = await q.nights_since(now.date() - timedelta(days=32))
            opened = await q.open_counts()
            links, enrolling = await q.links_waiting(now), await q.enrolling()
        rows = []
        for p in patients:
            today = local_today(now, _zone(p, self.settings))
            rows.append(Enrolled(p, today, course(p, today)))
        return PatientsView(now, tuple(rows), nights, opened, tuple(links), tuple(enrolling))

    async def patient(self, user_id: int, chat_id: int, label: str) -> PatientView | Say:
        """One patient in full: plan, dose, holds, reminder, nights, check-ins, recent actions."""
        if refused := self.refusal(user_id, chat_id, "patient"):
            return refused
        label = label.strip()
        if not label:
            return Say("cl_patient_usage")
        now = self.clock.now()
        async with self.db.session() as session:
            q = CaseloadQueries(session)
            p = await q.enrolled_by_label(label)
            if p is None:
                return Say("cl_patient_unknown", {"label": label[:64]})
            today = local_today(now, _zone(p, self.settings))
            nights = (await q.nights_since(today - timedelta(days=29), p.id)).get(p.id, {})
            reports = await q.done_reports(p.id, 3)
            audit = await q.audit(p.id, 5)
            names = await q.names([entry.actor_user_id for entry in audit])
            opened = (await q.open_counts()).get(p.id, 0)
        return PatientView(
            patient=p,
            today=today,
            course=course(p, today),
            nights=nights,
            reports=tuple(reports),
            audit=tuple(audit),
            names=names,
            opened=opened,
        )

    async def escalations(self, user_id: int, chat_id: int) -> EscalationsView | Say:
        """Escalations not yet decided, oldest first."""
        if refused := self.refusal(user_id, chat_id, "escalations"):
            return refused
        now = self.clock.now()
        async with self.db.session() as session:
            rows = await CaseloadQueries(session).undecided_with_labels()
        return EscalationsView(now, tuple(rows))

    async def stats(self, user_id: int, chat_id: int) -> StatsView | Say:
        """Clinic-wide figures for admins."""
        if refused := self.refusal(user_id, chat_id, "stats", admins=True):
            return refused
        now = self.clock.now()
        since = now - timedelta(days=30)
        async with self.db.session() as session:
            q = CaseloadQueries(session)
            patients = await q.enrolled()
            nights = await q.nights_since(now.date() - timedelta(days=32))
            escalations = await q.escalations_since(since)
            undelivered = await q.undelivered_alerts()
            invites = await q.invites_waiting(now)
        return StatsView(now, tuple(patients), nights, tuple(escalations), undelivered, invites)
