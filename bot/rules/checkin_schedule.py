"""When to ask about side effects: a pure rule, with the clinical reason beside each part.

No Telegram, no database, no clock: the night is passed in.
"""

from __future__ import annotations

from datetime import date

from bot.rules.plans import Hold, Plan, schedule, tonight
from bot.rules.states import ReportKind

# A weekly check-in this close (in nights) to another one is left out.
NEAR = 2


def checkin_due(
    plan: Plan,
    start: date,
    holds: list[Hold],
    night: date,
    *,
    after_step_up: int,
    every: int,
    tolerance: int,
) -> tuple[str, int | None] | None:
    """Which check-in falls on `night`: ("tolerance", next step), ("step_up" | "weekly", None)."""
    info = tonight(plan, start, night, holds)
    if info is None:
        return None
    to_increase = (
        (info.next_step_on - night).days
        if info.next_step is not None
        and info.next_step_on is not None
        and info.next_step.dose_mg > info.step.dose_mg
        else None
    )
    # Before each increase: is the current dose tolerated? Unanswered, the increase waits.
    if tolerance and to_increase == tolerance:
        return (ReportKind.TOLERANCE, info.next_step.number if info.next_step else None)
    # A few nights into each new dose (the first one too), when early effects show.
    began = schedule(plan, start, holds)[info.step.number - 1].start
    assert began is not None
    on_dose = (night - began).days
    if after_step_up and on_dose == after_step_up:
        return (ReportKind.STEP_UP, None)
    # Weekly while titrating (DOMAIN.md), counted from the step's first night, and left out when
    # another check-in is a couple of nights away: one question a few nights apart is enough.
    near_other = (after_step_up and abs(on_dose - after_step_up) <= NEAR) or (
        tolerance and to_increase is not None and abs(to_increase - tolerance) <= NEAR
    )
    if every and info.next_step is not None and on_dose > 0 and on_dose % every == 0:
        return None if near_other else (ReportKind.WEEKLY, None)
    return None
