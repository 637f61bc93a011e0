"""The patient's own commands: tonight's dose, the whole plan, settings, pausing and stopping.

And /whoami, for anyone: the Telegram ids a clinic's admin puts in `.env`.
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
from bot.ui.texts import t
from bot.ui.views import Button, Reply
from storage.db import Database
from storage.models import Patient
from storage.repositories import Repository


class Care:
    """Read-mostly views of a patient's plan, and their own reminder settings."""

    def __init__(
        self, db: Database, reminders: Reminders, clock: Clock, settings: Settings
    ) -> None:
        self.db = db
        self.reminders = reminders
        self.clock = clock
        self.settings = settings

    def whoami(self, user_id: int, chat_id: int, private: bool) -> Reply | None:
        """Anyone's own id in a private chat; a group's id, to its providers and admins only."""
        if private:
            return Reply(t("whoami", user=user_id))
        if user_id in self.settings.provider_user_ids or user_id in self.settings.admin_user_ids:
            return Reply(t("whoami_group", chat=chat_id, user=user_id))
        # A group is not ours to talk in, except to the care team that set it up.
        return None

    async def today(self, user_id: int) -> Reply:
        """Tonight's dose, whether it is recorded, and the next step."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await _enrolled(repo, user_id)
            if patient is None:
                return Reply(t("not_enrolled"))
            notice = stop_notice(patient, self.settings)
            if notice is not None:
                # No dose for tonight and no reminder time: there is no LDN tonight.
                return Reply(notice)
            assert patient.start_date is not None and patient.bedtime is not None
            plan, night = plan_of(patient), local_today(self.clock.now(), zone_of(patient))
            info = tonight(plan, patient.start_date, night, holds_of(patient))
            if info is None:
                first = plan.steps[plan.start_step - 1]  # a provider may start them further on
                lines = [
                    t(
                        "today_before_start",
                        date=messages.day(patient.start_date, night),
                        dose=messages.step_words(first),
                    )
                ]
            else:
                lines = [
                    t(
                        "today",
                        night=messages.day(night),
                        dose=messages.step_words(info.step),
                        step=info.step.number,
                        steps=len(plan.steps),
                    )
                ]
                dose = await repo.dose_on(patient.id, night)
                if dose is not None and dose.status in (
                    DoseStatus.TAKEN,
                    DoseStatus.SKIPPED,
                    DoseStatus.MISSED,
                ):
                    lines.append(t("today_status", status=t(f"status_{dose.status}")))
                if info.next_step is not None and info.next_step_on is not None:
                    lines.append(
                        t(
                            "today_next",
                            dose=messages.step_words(info.next_step),
                            date=messages.day(info.next_step_on, night),
                        )
                    )
                elif info.next_step is not None:
                    lines.append(self._held_next(patient))
                else:
                    lines.append(t("today_last_step"))
            lines.append(
                t("today_paused")
                if patient.reminders_paused
                else t("today_reminder_at", bedtime=messages.clock(patient.bedtime))
            )
            return Reply("\n".join(lines))

    async def plan(self, user_id: int) -> Reply:
        """The whole plan with dates, marking where the patient is."""
        async with self.db.session() as session:
            patient = await _enrolled(Repository(session), user_id)
            if patient is None:
                return Reply(t("not_enrolled"))
            assert patient.start_date is not None
            plan, today = plan_of(patient), local_today(self.clock.now(), zone_of(patient))
            info = tonight(plan, patient.start_date, today, holds_of(patient))
            notice = stop_notice(patient, self.settings)
            lines = [] if notice is None else [notice, ""]
            lines.append(t("plan_header", plan=messages.plan_name(plan)))
            lines += messages.plan_lines(
                schedule(plan, patient.start_date, holds_of(patient)),
                info.step.number if info else None,
                today,
            )
            if info is not None:
                lines.append(t("plan_legend"))
            return Reply("\n".join(lines))

    async def settings_menu(self, user_id: int) -> Reply:
        async with self.db.session() as session:
            patient = await _enrolled(Repository(session), user_id)
            if patient is None:
                return Reply(t("not_enrolled"))
            return self._menu(patient)

    async def set_paused(self, user_id: int, paused: bool, *, stop: bool = False) -> Reply:
        """Pause or resume reminders; the plan and history stay."""
        async with self.db.session() as session:
            repo = Repository(session)
            patient = await _enrolled(repo, user_id)
            if patient is None:
                return Reply(t("not_enrolled"))
            patient.reminders_paused = paused
            patient.awaiting = None
            gap = await self.reminders.replan(repo, patient)
            long_gap = await self.reminders.resumed(repo, patient, gap)
            await repo.commit()
            notice = stop_notice(patient, self.settings)
            if notice is not None:
                # The patient's own pause is theirs to set, but it never lifts the care team's stop.
                own = t("own_paused_stopped") if paused else t("own_resumed_stopped")
                return Reply(f"{own}\n\n{notice}")
            if stop:
                return Reply(t("stopped"))
            if paused:
                return Reply(t("paused"))
            assert patient.bedtime is not None
            lines = [t("resumed", bedtime=messages.clock(patient.bedtime))]
            if long_gap:
                lines.append(messages.clinic_text("resume_after_gap", self.settings))
            return Reply("\n\n".join(lines))

    def _menu(self, patient: Patient) -> Reply:
        assert patient.bedtime is not None and patient.timezone is not None
        bedtime, zone = messages.clock(patient.bedtime), zone_city(patient.timezone)
        notice = stop_notice(patient, self.settings)
        if notice is not None:
            # No "Reminders: on", and no button that would seem to turn them back on.
            text = t(
                "settings_stopped",
                bedtime=bedtime,
                zone=zone,
                state=t("settings_off_own" if patient.reminders_paused else "settings_off_team"),
                stop=notice,
            )
            resume = t("button_resume_own")
        else:
            state = t("settings_off") if patient.reminders_paused else t("settings_on")
            text = t("settings", bedtime=bedtime, zone=zone, state=state)
            resume = t("button_resume")
        toggle = ("resume", resume) if patient.reminders_paused else ("pause", t("button_pause"))
        return Reply(
            text,
            (
                (Button(t("button_change_bedtime"), callbacks.settings("bedtime")),),
                (Button(t("button_change_zone"), callbacks.settings("zone")),),
                (Button(toggle[1], callbacks.settings(toggle[0])),),
            ),
        )

    def _held_next(self, patient: Patient) -> str:
        """Why the next step waits: "your provider" only when a provider held it."""
        if any(h.end is None and h.kind == HoldKind.PROVIDER for h in patient.holds):
            return t("today_held_next")
        return messages.clinic_text("today_held_next_bot", self.settings)


def stop_notice(patient: Patient, settings: Settings) -> str | None:
    """What to tell a patient whom the care team stopped, or the bot withheld; None if neither.

    A provider's "Pause LDN" is said as theirs. A withhold (a concern waiting for a provider) and
    the wait for clearance before the first dose are the bot's: "until your care team replies".
    """
    if patient.provider_paused:
        return t("stop_paused")
    if patient.withheld_at is not None or patient.awaiting_clearance:
        return messages.clinic_text("stop_withheld", settings)
    return None


async def _enrolled(repo: Repository, user_id: int) -> Patient | None:
    patient = await repo.patient_by_user(user_id)
    return patient if patient is not None and patient.enrolled else None
