"""Titration plans: the doses a provider prescribes and the nights they fall on.

Pure rules: no Telegram, no database, no clock. Milligrams are always `Decimal`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.rules.states import HoldKind

MAX_CAPSULES = 6
DEFAULT_MAX_MG = Decimal("4.5")
_NIGHT = timedelta(days=1)


class PlanError(ValueError):
    """A plan that cannot be prescribed; str(err) is a clear one-sentence reason for a provider."""


@dataclass(frozen=True)
class Step:
    """One dose of a plan, taken for `days` nights (None: until a provider changes the plan)."""

    number: int
    dose_mg: Decimal
    capsule_mg: Decimal
    capsules: int
    days: int | None


@dataclass(frozen=True)
class Plan:
    """A provider's titration plan: steps in order, the last one kept open-ended.

    `start_step` is where the patient begins with the bot: step 1 for a new patient; a later step
    only when a provider says so (a patient already on LDN, or a provider's step back).
    """

    key: str
    steps: tuple[Step, ...]
    start_step: int = 1

    @property
    def target_mg(self) -> Decimal:
        """Return the dose of the last step."""
        return self.steps[-1].dose_mg

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form, milligrams as strings."""
        return {
            "key": self.key,
            "start_step": self.start_step,
            "steps": [
                {
                    "number": s.number,
                    "dose_mg": str(s.dose_mg),
                    "capsule_mg": str(s.capsule_mg),
                    "capsules": s.capsules,
                    "days": s.days,
                }
                for s in self.steps
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """Rebuild a plan stored with to_dict."""
        steps = tuple(
            Step(
                int(s["number"]),
                _mg(s["dose_mg"]),
                _mg(s["capsule_mg"]),
                int(s["capsules"]),
                None if s["days"] is None else int(s["days"]),
            )
            for s in data["steps"]
        )
        return cls(key=data["key"], steps=steps, start_step=int(data.get("start_step", 1)))

    def starting_at(self, step_number: int) -> Plan:
        """The same plan, begun at another step (a provider's decision, never the bot's)."""
        if not 1 <= step_number <= len(self.steps):
            raise PlanError(f"The plan has no step {step_number}.")
        return replace(self, start_step=step_number)

    def step_for(self, dose_mg: object) -> Step:
        """The step giving `dose_mg`, or PlanError naming the doses the plan has."""
        mg = _mg(dose_mg)
        for s in self.steps:
            if s.dose_mg == mg:
                return s
        doses = ", ".join(_fmt(s.dose_mg) for s in self.steps)
        raise PlanError(f"The plan has no step of {_fmt(mg)}; its doses are {doses}.")


# The kinds of stretch that do not count toward a step. A provider's hold and the bot's hold (a
# concern waiting for a provider) keep the patient at the current dose; nights off are nights the
# patient did not take LDN (skipped, missed, paused, withheld): a step counts nights on its dose.
HELD = (HoldKind.HOLD, HoldKind.PROVIDER)
OFF = HoldKind.OFF


@dataclass(frozen=True)
class Hold:
    """Nights that do not count toward a step: [start, end), open while end is None."""

    start: date
    end: date | None
    kind: str = HoldKind.HOLD

    @property
    def holds_dose(self) -> bool:
        """Say whether these nights keep the patient at the current dose (not merely nights off)."""
        return self.kind in HELD


def _mg(value: object) -> Decimal:
    """Convert a Decimal, str or int to milligrams, refusing what is not a finite number."""
    try:
        mg = Decimal(str(value))
    except InvalidOperation:
        raise PlanError(f"{value!r} is not an amount in mg.") from None
    if not mg.is_finite():
        raise PlanError(f"{value!r} is not an amount in mg.")
    return mg


def _fmt(mg: Decimal) -> str:
    """Render milligrams for a provider: 4.5 mg, 3.0 mg, 0.25 mg."""
    n = mg.normalize()
    exponent = n.as_tuple().exponent  # a letter only for NaN and infinity, never a plan's dose
    return f"{n:f} mg" if isinstance(exponent, int) and exponent < 0 else f"{n:.1f} mg"


def _above_max(mg: Decimal, max_mg: Decimal) -> str:
    return f"{_fmt(mg)} is above the maximum of {_fmt(max_mg)}"


def validate_plan(plan: Plan, max_mg: Decimal = DEFAULT_MAX_MG) -> None:
    """Raise PlanError with the first reason the plan cannot be prescribed."""
    max_mg = _mg(max_mg)
    if not plan.steps:
        raise PlanError("The plan has no steps.")
    last = len(plan.steps)
    if not 1 <= plan.start_step <= last:
        raise PlanError(f"The plan starts at step {plan.start_step}, which it does not have.")
    for i, s in enumerate(plan.steps, start=1):
        dose, cap = s.dose_mg, s.capsule_mg
        if s.number != i:
            raise PlanError(f"Step {i} is numbered {s.number}; steps must be numbered 1 to {last}.")
        if not (isinstance(dose, Decimal) and isinstance(cap, Decimal)):
            raise PlanError(f"Step {i} gives milligrams as floats; they must be exact decimals.")
        if dose <= 0:
            raise PlanError(f"Step {i} has a dose of {_fmt(dose)}; a dose must be above 0 mg.")
        if dose > max_mg:
            raise PlanError(f"Step {i}: {_above_max(dose, max_mg)}.")
        if cap <= 0 or dose % cap != 0:
            raise PlanError(f"Step {i}: {_fmt(dose)} cannot be made of {_fmt(cap)} capsules.")
        if s.capsules != dose / cap:
            raise PlanError(
                f"Step {i}: {_fmt(dose)} is {dose / cap:f} capsules of {_fmt(cap)}, "
                f"not {s.capsules}."
            )
        if s.days is None and i < last:
            raise PlanError(f"Step {i} has no length in nights; only the last step is open-ended.")
        if s.days is not None and i == last:
            # The last dose is kept until the provider changes the plan; the bot never ends it.
            raise PlanError(f"The last step (step {i}) must have no length in nights.")
        if s.days is not None and s.days <= 0:
            raise PlanError(f"Step {i} lasts {s.days} nights; a step must last at least one night.")
        if i > 1 and dose < plan.steps[i - 2].dose_mg:
            raise PlanError(
                f"Step {i} ({_fmt(dose)}) is lower than step {i - 1} "
                f"({_fmt(plan.steps[i - 2].dose_mg)}); a titration plan only goes up."
            )


def custom_plan(
    start_mg: object,
    step_mg: object,
    days_per_step: int,
    target_mg: object,
    capsule_strengths: Iterable[object],
    max_mg: object = DEFAULT_MAX_MG,
) -> Plan:
    """Build a plan from start_mg up by step_mg every days_per_step nights to exactly target_mg."""
    start, step, target, max_mg = _mg(start_mg), _mg(step_mg), _mg(target_mg), _mg(max_mg)
    strengths = sorted({_mg(c) for c in capsule_strengths})
    if start <= 0 or step <= 0:
        raise PlanError("The starting dose and the step must both be above 0 mg.")
    if days_per_step < 1:
        raise PlanError(f"Each step must last at least one night, not {days_per_step}.")
    if target > max_mg:
        raise PlanError(f"The target of {_above_max(target, max_mg)}.")
    if target < start:
        raise PlanError(f"The target of {_fmt(target)} is below the start of {_fmt(start)}.")
    if not strengths or strengths[0] <= 0:
        raise PlanError("The capsule strengths must be one or more amounts above 0 mg.")
    doses = [start]
    while doses[-1] < target:
        doses.append(doses[-1] + step)
    if doses[-1] != target:
        # Overshooting or stopping short would change the provider's target; refuse instead.
        raise PlanError(
            f"{_fmt(target)} cannot be reached exactly from {_fmt(start)} in steps of "
            f"{_fmt(step)} (the doses go {_fmt(doses[-2])}, then {_fmt(doses[-1])})."
        )
    steps = []
    for number, dose in enumerate(doses, start=1):
        fitting = [c for c in strengths if dose % c == 0 and dose / c <= MAX_CAPSULES]
        if not fitting:
            choices = ", ".join(_fmt(c) for c in strengths)
            raise PlanError(
                f"No capsule strength among {choices} makes {_fmt(dose)} in "
                f"{MAX_CAPSULES} capsules or fewer."
            )
        days = days_per_step if number < len(doses) else None
        steps.append(Step(number, dose, fitting[0], int(dose / fitting[0]), days))
    plan = Plan(key="custom", steps=tuple(steps))
    validate_plan(plan, max_mg)
    return plan


@dataclass(frozen=True)
class ScheduledStep:
    """A step with its first night and the first night of the next step (None when unknown)."""

    step: Step
    start: date | None
    end: date | None


def _held_nights(holds: Sequence[Hold], start: date) -> tuple[set[date], date | None]:
    """Return the closed held nights from `start` on, and the first night of any open hold."""
    closed: set[date] = set()
    open_from: date | None = None
    for h in holds:
        if h.end is None:
            open_from = h.start if open_from is None else min(open_from, h.start)
            continue
        night = max(h.start, start)
        while night < h.end:
            closed.add(night)
            night += _NIGHT
    return closed, open_from


def schedule(plan: Plan, start: date, holds: Sequence[Hold] = ()) -> list[ScheduledStep]:
    """Place each step of the plan on the calendar, from its start step on `start`.

    Nights in `holds` do not count toward a step. Steps before the start step were before the
    patient began with the bot: they have no dates.
    """
    closed, open_from = _held_nights(holds, start)
    result: list[ScheduledStep] = [
        ScheduledStep(s, None, None) for s in plan.steps[: plan.start_step - 1]
    ]
    first: date | None = start
    for s in plan.steps[plan.start_step - 1 :]:
        if first is None or s.days is None:
            result.append(ScheduledStep(s, first, None))
            first = None
            continue
        # A hold keeps the patient on the step in progress, however long it lasts: only the
        # provider, never the bot, moves a patient up, so held nights extend the step rather
        # than use it up. The step-up comes on the first night not held after `days` nights.
        night, counted = first, 0
        end: date | None = None  # stays None while an open hold freezes this step
        while open_from is None or night < open_from:
            if night not in closed:
                if counted == s.days:
                    end = night
                    break
                counted += 1
            night += _NIGHT
        result.append(ScheduledStep(s, first, end))
        first = end
    return result


def _current(steps: list[ScheduledStep], night: date) -> int:
    """Return the index of the step taken on `night` (on or after the plan's start)."""
    return max(i for i, s in enumerate(steps) if s.start is not None and s.start <= night)


@dataclass(frozen=True)
class Tonight:
    """What the patient takes on one night, and what comes next."""

    night: date
    step: Step
    is_first_night: bool
    is_step_up: bool
    held: bool
    next_step: Step | None
    next_step_on: date | None


def tonight(plan: Plan, start: date, night: date, holds: Sequence[Hold] = ()) -> Tonight | None:
    """Return the dose for `night`, or None before the plan starts."""
    if night < start:
        return None
    steps = schedule(plan, start, holds)
    i = _current(steps, night)
    current = steps[i]
    closed, open_from = _held_nights([h for h in holds if h.holds_dose], start)
    step_up = (
        i >= plan.start_step
        and night == current.start
        and current.step.dose_mg > steps[i - 1].step.dose_mg
    )
    following = steps[i + 1] if i + 1 < len(steps) else None
    held = night in closed or (open_from is not None and night >= open_from)
    return Tonight(
        night,
        current.step,
        night == start,
        step_up,
        held,
        following.step if following else None,
        following.start if following else None,
    )


def capsule_change_ahead(
    plan: Plan, start: date, night: date, holds: Sequence[Hold] = (), within_days: int = 7
) -> ScheduledStep | None:
    """Return the next step on new capsules if it starts 1..within_days nights after `night`."""
    # A new capsule strength means a new pharmacy fill, which takes days: warn ahead of time.
    if night < start:
        return None
    steps = schedule(plan, start, holds)
    i = _current(steps, night)
    capsule = steps[i].step.capsule_mg
    change = next((s for s in steps[i + 1 :] if s.step.capsule_mg != capsule), None)
    if change is None or change.start is None:
        return None
    return change if 1 <= (change.start - night).days <= within_days else None


def _builtin(key: str, rows: Sequence[tuple[str, str, int, int | None]]) -> Plan:
    """Build a built-in plan from (dose, capsule strength, capsules, nights) rows."""
    steps = tuple(
        Step(n, Decimal(dose), Decimal(capsule), capsules, days)
        for n, (dose, capsule, capsules, days) in enumerate(rows, start=1)
    )
    plan = Plan(key=key, steps=steps)
    validate_plan(plan)
    return plan


BUILTIN_PLANS: dict[str, Plan] = {
    # One more 0.5 mg capsule every 14 nights to 3.0 mg, then 1.5 mg capsules for 4.5 mg.
    "builtin-0.5": _builtin(
        "builtin-0.5",
        [
            ("0.5", "0.5", 1, 14),
            ("1.0", "0.5", 2, 14),
            ("1.5", "0.5", 3, 14),
            ("2.0", "0.5", 4, 14),
            ("2.5", "0.5", 5, 14),
            ("3.0", "0.5", 6, 14),
            ("4.5", "1.5", 3, None),
        ],
    ),
    # One more 1.5 mg capsule every 10 nights to 4.5 mg.
    "builtin-1.5": _builtin(
        "builtin-1.5",
        [
            ("1.5", "1.5", 1, 10),
            ("3.0", "1.5", 2, 10),
            ("4.5", "1.5", 3, None),
        ],
    ),
}
