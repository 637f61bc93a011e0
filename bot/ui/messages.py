"""Compose what the patient reads from plan facts and the texts catalog."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

from bot.app.settings import Settings
from bot.rules.nightly import Answer
from bot.rules.plans import Plan, ScheduledStep, Step
from bot.ui import callbacks
from bot.ui.texts import TEXTS, t
from bot.ui.views import Button

# A text that says the care team was told, or will look, has an honest `<key>_no_team` variant
# for a bot run with ALLOW_NO_CARE_TEAM: nobody receives its alerts, so none may claim otherwise.
NO_TEAM = "_no_team"


def team_text(key: str, settings: Settings, **values: object) -> str:
    """The text for `key`; its `_no_team` variant, if it has one, when nobody receives alerts."""
    if not settings.has_care_team and key + NO_TEAM in TEXTS:
        key += NO_TEAM
    return t(key, **values)


def clinic_text(key: str, settings: Settings, **values: object) -> str:
    """A text that names the clinic, how to reach it, and the emergency number."""
    return team_text(
        key,
        settings,
        clinic=settings.clinic_name,
        contact=settings.clinic_contact,
        emergency=settings.emergency_number,
        **values,
    )


def mg(value: Decimal) -> str:
    """Write milligrams the way a prescription does: 0.5, 1, 4.5."""
    return format(value.normalize(), "f")


def dose_words(dose_mg: Decimal, capsules: int, capsule_mg: Decimal) -> str:
    word = t("capsule_one") if capsules == 1 else t("capsule_many")
    return t("dose", mg=mg(dose_mg), count=capsules, capsule=mg(capsule_mg), capsule_word=word)


def step_words(step: Step) -> str:
    return dose_words(step.dose_mg, step.capsules, step.capsule_mg)


def day(value: date, today: date | None = None) -> str:
    """A short date: 'Mon 1 Dec', with the year when it is not this year's."""
    text = f"{value:%a} {value.day} {value:%b}"
    return text if today is None or value.year == today.year else f"{text} {value.year}"


def nights_ahead(days: int) -> str:
    """'Tomorrow night' or 'In 5 nights'."""
    return t("tomorrow_night") if days == 1 else t("in_nights", days=days)


def clock(value: time) -> str:
    return value.strftime("%H:%M")


def plan_name(plan: Plan) -> str:
    return t(f"plan_name_{plan.key}", target=mg(plan.target_mg))


def plan_lines(schedule: list[ScheduledStep], current: int | None, today: date) -> list[str]:
    """One line per step, with its dates, marking where the patient is."""
    lines = []
    dated = False
    for entry in schedule:
        dated = dated or entry.start is not None
        if entry.start is None and not dated:
            when = t("plan_before")  # before the step a provider started the patient on
        elif entry.start is None:
            when = t("plan_waiting")
        elif entry.end is None:
            when = t("plan_from", start=day(entry.start, today))
        else:
            last_night = date.fromordinal(entry.end.toordinal() - 1)
            when = t("plan_from_to", start=day(entry.start, today), end=day(last_night, today))
        marker = "▶" if entry.step.number == current else "•"
        lines.append(
            t(
                "plan_line",
                marker=marker,
                step=entry.step.number,
                dose=step_words(entry.step),
                when=when,
            )
        )
    return lines


def dose_buttons(dose_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (Button(t("button_taken"), callbacks.dose(dose_id, Answer.TAKEN)),),
        (
            Button(t("button_snooze"), callbacks.dose(dose_id, Answer.SNOOZE)),
            Button(t("button_skip"), callbacks.dose(dose_id, Answer.SKIPPED)),
        ),
    )


def took_it_buttons(dose_id: int) -> tuple[tuple[Button, ...], ...]:
    """A missed night's one button: the patient took it after all (said the next day)."""
    return ((Button(t("button_took_it"), callbacks.dose(dose_id, Answer.TAKEN)),),)
