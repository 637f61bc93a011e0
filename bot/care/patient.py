"""The patient's own commands: tonight's dose, the whole plan, settings, pausing and stopping.

And /whoami, for anyone: the Telegram ids a clinic's admin puts in `.env`. What each says is
returned as data (`bot.ui.views`); the handlers put it into words with `bot.ui.render`.
"""

from __future__ import annotations

from bot.app.clock import Clock
from bot.app.settings import Settings
from bot.care.reminders import Reminders, holds_of, plan_of, zone_of
from bot.rules.parsing import zone_city
from bot.rules.plans import schedule, tonight
from bot.rules.states import DoseStatus, HoldKind
from bot.rules.timing import local_today
from bot.ui import callbacks, messages
from bot.ui.views import Choice, Lines, PlanLines, Say, Show
from storage.db import Database
from storage.models import Patient
from storage.repositories import Repository

NOT_ENROLLED = Say("not_enrolled")


class Care:
    """Read-mostly views of a patient's plan, and their own reminder settings."""

    def __init__(
        self, db: Database, reminders: Reminders, clock: Clock, settings: Settings
    ) -> None:
        self.db = db
        self.reminders = reminders
        self.clock = clock
        self.settings = settings

    def whoami(self, user_id: int, chat_id: int, private: bool) -> Say | None:
        """Anyone's own id in a private chat; a group's id, to its providers and admins only."""
        if private:
            return Say("whoami", {"user": user_id})
        if user_id in self.settings.provider_user_ids or user_id in self.settings.admin_user_ids:
            return Say("whoami_group", {"chat": chat_id, "user": user_id})
        # A group is not ours to talk in, except to the care team that set it up.
        return None

    async def today(self, user_id: int) -> Say | Lines:
        """Tonight's dose, whether it is recorded, and the next step."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await _enrolled(repo, user_id)
            if patient is None:
                return NOT_ENROLLED
            notice = stopped(patient)
            if notice is not None:
                # No dose for tonight and no reminder time: there is no LDN tonight.
                return notice
            assert patient.start_date is not None and patient.bedtime is not None
            plan, night = plan_of(patient), local_today(self.clock.now(), zone_of(patient))
            info = tonight(plan, patient.start_date, night, holds_of(patient))
            lines: list[Say] = []
            if info is None:
                first = plan.steps[plan.start_step - 1]  # a provider may start them further on
                lines.append(
                    Say(
                        "today_before_start",
                        {"date": messages.day(patient.start_date, night), "dose": first},
                    )
                )
            else:
                lines.append(
                    Say(
                        "today",
                        {
                            "night": messages.day(night),
                            "dose": info.step,
                            "step": info.step.number,
                            "steps": len(plan.steps),
                        },
                    )
                )
                dose = await repo.nights.on(patient.id, night)
                if dose is not None and dose.status in (
                    DoseStatus.TAKEN,
                    DoseStatus.SKIPPED,
                    DoseStatus.MISSED,
                ):
                    lines.append(Say("today_status", {"status": Say(f"status_{dose.status}")}))
                if info.next_step is not None and info.next_step_on is not None:
                    when = messages.day(info.next_step_on, night)
                    lines.append(Say("today_next", {"dose": info.next_step, "date": when}))
                elif info.next_step is not None:
                    lines.append(self._held_next(patient))
                else:
                    lines.append(Say("today_last_step"))
            lines.append(
                Say("today_paused")
                if patient.reminders_paused
                else Say("today_reminder_at", {"bedtime": messages.clock(patient.bedtime)})
            )
            return Lines(tuple(lines))

    async def plan(self, user_id: int) -> Say | Lines:
        """The whole plan with dates, marking where the patient is."""
        async with self.db.session() as session:
            patient = await _enrolled(Repository(session), user_id)
            if patient is None:
                return NOT_ENROLLED
            assert patient.start_date is not None
            plan, today = plan_of(patient), local_today(self.clock.now(), zone_of(patient))
            info = tonight(plan, patient.start_date, today, holds_of(patient))
            notice = stopped(patient)
            parts: list[Say | PlanLines | str] = [] if notice is None else [notice, ""]
            parts.append(Say("plan_header", {"plan": plan}))
            steps = schedule(plan, patient.start_date, holds_of(patient))
            parts.append(PlanLines(tuple(steps), info.step.number if info else None, today))
            if info is not None:
                parts.append(Say("plan_legend"))
            return Lines(tuple(parts))

    async def settings_menu(self, user_id: int) -> Say | Show:
        async with self.db.session() as session:
            patient = await _enrolled(Repository(session), user_id)
            if patient is None:
                return NOT_ENROLLED
            return self._menu(patient)

    async def set_paused(self, user_id: int, paused: bool, *, stop: bool = False) -> Say | Lines:
        """Pause or resume reminders; the plan and history stay."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await _enrolled(repo, user_id)
            if patient is None:
                return NOT_ENROLLED
            patient.reminders_paused = paused
            patient.awaiting = None
            gap = await self.reminders.replan(repo, patient)
            long_gap = await self.reminders.resumed(repo, patient, gap)
            await repo.commit()
            notice = stopped(patient)
            if notice is not None:
                # The patient's own pause is theirs to set, but it never lifts the care team's stop.
                own = Say("own_paused_stopped") if paused else Say("own_resumed_stopped")
                return Lines((own, notice), "\n\n")
            if stop:
                return Say("stopped")
            if paused:
                return Say("paused")
            assert patient.bedtime is not None
            lines = [Say("resumed", {"bedtime": messages.clock(patient.bedtime)})]
            if long_gap:
                lines.append(Say("resume_after_gap", clinic=True))
            return Lines(tuple(lines), "\n\n")

    def _menu(self, patient: Patient) -> Show:
        assert patient.bedtime is not None and patient.timezone is not None
        bedtime, zone = messages.clock(patient.bedtime), zone_city(patient.timezone)
        notice = stopped(patient)
        if notice is not None:
            # No "Reminders: on", and no button that would seem to turn them back on.
            state = Say("settings_off_own" if patient.reminders_paused else "settings_off_team")
            text = Say(
                "settings_stopped",
                {"bedtime": bedtime, "zone": zone, "state": state, "stop": notice},
            )
            resume = Say("button_resume_own")
        else:
            state = Say("settings_off") if patient.reminders_paused else Say("settings_on")
            text = Say("settings", {"bedtime": bedtime, "zone": zone, "state": state})
            resume = Say("button_resume")
        toggle = ("resume", resume) if patient.reminders_paused else ("pause", Say("button_pause"))
        return Show(
            text,
            (
                (Choice(Say("button_change_bedtime"), callbacks.settings("bedtime")),),
                (Choice(Say("button_change_zone"), callbacks.settings("zone")),),
                (Choice(toggle[1], callbacks.settings(toggle[0])),),
            ),
        )

    def _held_next(self, patient: Patient) -> Say:
        """Why the next step waits: "your provider" only when a provider held it."""
        if any(h.end is None and h.kind == HoldKind.PROVIDER for h in patient.holds):
            return Say("today_held_next")
        return Say("today_held_next_bot", clinic=True)


def stopped(patient: Patient) -> Say | None:
    """What to tell a patient whom the care team stopped, or the bot withheld; None if neither.

    A provider's "Pause LDN" is said as theirs. A withhold (a concern waiting for a provider) and
    the wait for clearance before the first dose are the bot's: "until your care team replies".
    """
    if patient.provider_paused:
        return Say("stop_paused")
    if patient.withheld_at is not None or patient.awaiting_clearance:
        return Say("stop_withheld", clinic=True)
    return None


async def _enrolled(repo: Repository, user_id: int) -> Patient | None:
    patient = await repo.patients.by_user(user_id)
    return patient if patient is not None and patient.enrolled else None
