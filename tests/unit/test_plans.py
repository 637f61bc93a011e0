"""Unit tests of the titration rules in bot.rules.plans."""

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.rules.plans import (
    BUILTIN_PLANS,
    DEFAULT_MAX_MG,
    MAX_CAPSULES,
    Hold,
    Plan,
    PlanError,
    ScheduledStep,
    Step,
    capsule_change_ahead,
    custom_plan,
    schedule,
    tonight,
    validate_plan,
)

START = date(2026, 3, 2)
D = Decimal
PLAN_05 = BUILTIN_PLANS["builtin-0.5"]
PLAN_15 = BUILTIN_PLANS["builtin-1.5"]


def night(offset: int) -> date:
    return START + timedelta(days=offset)


def starts(plan: Plan, holds=()) -> list[date | None]:
    return [s.start for s in schedule(plan, START, holds)]


def assert_no_floats(value: object) -> None:
    """Fail if a float hides anywhere in a to_dict() result."""
    assert not isinstance(value, float)
    if isinstance(value, dict):
        for item in value.values():
            assert_no_floats(item)
    elif isinstance(value, list):
        for item in value:
            assert_no_floats(item)


def assert_decimal_step(step: Step) -> None:
    assert type(step.dose_mg) is Decimal
    assert type(step.capsule_mg) is Decimal
    assert type(step.capsules) is int


# --- built-in plans -----------------------------------------------------------------------------

# (dose, capsule strength, capsules, days, first night, first night of next step)
BUILTIN_05_TABLE = [
    ("0.5", "0.5", 1, 14, date(2026, 3, 2), date(2026, 3, 16)),
    ("1.0", "0.5", 2, 14, date(2026, 3, 16), date(2026, 3, 30)),
    ("1.5", "0.5", 3, 14, date(2026, 3, 30), date(2026, 4, 13)),
    ("2.0", "0.5", 4, 14, date(2026, 4, 13), date(2026, 4, 27)),
    ("2.5", "0.5", 5, 14, date(2026, 4, 27), date(2026, 5, 11)),
    ("3.0", "0.5", 6, 14, date(2026, 5, 11), date(2026, 5, 25)),
    ("4.5", "1.5", 3, None, date(2026, 5, 25), None),
]
BUILTIN_15_TABLE = [
    ("1.5", "1.5", 1, 10, date(2026, 3, 2), date(2026, 3, 12)),
    ("3.0", "1.5", 2, 10, date(2026, 3, 12), date(2026, 3, 22)),
    ("4.5", "1.5", 3, None, date(2026, 3, 22), None),
]


@pytest.mark.parametrize(
    ("key", "table"), [("builtin-0.5", BUILTIN_05_TABLE), ("builtin-1.5", BUILTIN_15_TABLE)]
)
def test_builtin_plan_reproduces_domain_doses_and_dates(key, table):
    plan = BUILTIN_PLANS[key]
    assert plan.key == key
    assert plan.target_mg == D("4.5")
    scheduled = schedule(plan, START)
    assert len(scheduled) == len(table)
    for number, (got, row) in enumerate(zip(scheduled, table, strict=True), start=1):
        dose, capsule, capsules, days, first, end = row
        assert got.step == Step(number, D(dose), D(capsule), capsules, days)
        assert (got.start, got.end) == (first, end)
        assert_decimal_step(got.step)


def test_builtin_plans_are_exactly_the_two_from_the_domain():
    assert set(BUILTIN_PLANS) == {"builtin-0.5", "builtin-1.5"}
    assert night(84) == date(2026, 5, 25)  # 4.5 mg starts on start+84


@pytest.mark.parametrize("plan", list(BUILTIN_PLANS.values()), ids=list(BUILTIN_PLANS))
def test_builtin_plans_validate(plan):
    validate_plan(plan)


# --- tonight ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "dose", "first", "step_up", "next_dose", "next_on"),
    [
        (0, "0.5", True, False, "1.0", 14),  # first night
        (13, "0.5", False, False, "1.0", 14),  # last night of step 1
        (14, "1.0", False, True, "1.5", 28),  # step-up night
        (15, "1.0", False, False, "1.5", 28),  # the night after a step-up
        (83, "3.0", False, False, "4.5", 84),  # last night on 0.5 mg capsules
        (84, "4.5", False, True, None, None),  # target reached
        (85, "4.5", False, False, None, None),
        (400, "4.5", False, False, None, None),  # long after target: kept at target
    ],
)
def test_tonight_builtin_05(offset, dose, first, step_up, next_dose, next_on):
    t = tonight(PLAN_05, START, night(offset))
    assert t is not None
    assert t.night == night(offset)
    assert t.step.dose_mg == D(dose)
    assert_decimal_step(t.step)
    assert t.is_first_night is first
    assert t.is_step_up is step_up
    assert t.held is False
    if next_dose is None:
        assert t.next_step is None and t.next_step_on is None
    else:
        assert t.next_step is not None and t.next_step.dose_mg == D(next_dose)
        assert t.next_step_on == night(next_on)


def test_tonight_before_start_is_none():
    assert tonight(PLAN_05, START, night(-1)) is None


def test_tonight_builtin_15_steps_up_every_ten_nights():
    doses = [tonight(PLAN_15, START, night(i)).step.dose_mg for i in range(25)]
    assert doses == [D("1.5")] * 10 + [D("3.0")] * 10 + [D("4.5")] * 5
    step_ups = [i for i in range(25) if tonight(PLAN_15, START, night(i)).is_step_up]
    assert step_ups == [10, 20]


# --- holds --------------------------------------------------------------------------------------


@pytest.mark.parametrize("hold_from", [0, 5, 13, 14])
@pytest.mark.parametrize("length", [1, 3, 30])
def test_closed_hold_in_step_one_extends_it_by_its_length_and_keeps_later_lengths(
    hold_from, length
):
    holds = [Hold(night(hold_from), night(hold_from + length))]
    expected = [night(0)] + [night(14 * k + length) for k in range(1, 7)]
    assert starts(PLAN_05, holds) == expected


def test_closed_hold_in_a_later_step_leaves_earlier_steps_alone():
    holds = [Hold(night(30), night(35))]  # five nights during step 3 (nights 28..41)
    assert starts(PLAN_05, holds) == [
        night(0),
        night(14),
        night(28),
        night(47),
        night(61),
        night(75),
        night(89),
    ]


def test_tonight_during_and_after_a_closed_hold():
    holds = [Hold(night(5), night(10))]
    during = tonight(PLAN_05, START, night(7), holds)
    assert during.held is True
    assert during.step.dose_mg == D("0.5")
    assert during.next_step_on == night(19)
    # Night 14 would have been the step-up; the held nights push it to night 19.
    assert tonight(PLAN_05, START, night(14), holds).step.dose_mg == D("0.5")
    after = tonight(PLAN_05, START, night(19), holds)
    assert (after.step.dose_mg, after.is_step_up, after.held) == (D("1.0"), True, False)
    assert tonight(PLAN_05, START, night(10), holds).held is False  # end is exclusive


def test_hold_within_the_last_step_changes_nothing():
    holds = [Hold(night(90), night(120))]
    assert schedule(PLAN_05, START, holds) == schedule(PLAN_05, START)
    t = tonight(PLAN_05, START, night(100), holds)
    assert (t.step.dose_mg, t.held, t.next_step_on) == (D("4.5"), True, None)


def test_open_hold_freezes_dose_and_leaves_later_dates_unknown():
    holds = [Hold(night(20), None)]
    scheduled = schedule(PLAN_05, START, holds)
    assert (scheduled[1].start, scheduled[1].end) == (night(14), None)
    assert all(s.start is None and s.end is None for s in scheduled[2:])
    for offset in (20, 27, 28, 300):
        t = tonight(PLAN_05, START, night(offset), holds)
        assert t.step.dose_mg == D("1.0")
        assert t.held is True
        assert t.is_step_up is False
        assert t.next_step is not None and t.next_step.dose_mg == D("1.5")
        assert t.next_step_on is None


def test_open_hold_not_yet_begun_already_makes_next_step_date_unknown():
    t = tonight(PLAN_05, START, night(16), [Hold(night(20), None)])
    assert (t.held, t.next_step_on) == (False, None)


def test_released_hold_resumes_with_the_remaining_nights_of_the_step():
    # Held from night 20, released on night 50: step 2 had 6 nights done and 8 remaining.
    holds = [Hold(night(20), night(50))]
    scheduled = schedule(PLAN_05, START, holds)
    assert scheduled[1].end == night(58)
    assert [s.end - s.start for s in scheduled[2:6]] == [timedelta(days=14)] * 4


def test_closed_hold_on_a_step_up_night_keeps_the_previous_dose():
    holds = [Hold(night(14), night(17))]
    held = tonight(PLAN_05, START, night(14), holds)
    assert (held.step.dose_mg, held.is_step_up, held.held) == (D("0.5"), False, True)
    assert held.next_step_on == night(17)
    resumed = tonight(PLAN_05, START, night(17), holds)
    assert (resumed.step.dose_mg, resumed.is_step_up, resumed.held) == (D("1.0"), True, False)


def test_open_hold_on_a_step_up_night_keeps_the_previous_dose():
    holds = [Hold(night(14), None)]
    t = tonight(PLAN_05, START, night(14), holds)
    assert (t.step.dose_mg, t.is_step_up, t.held, t.next_step_on) == (D("0.5"), False, True, None)
    assert schedule(PLAN_05, START, holds)[0].end is None


@pytest.mark.parametrize(
    "holds",
    [
        [Hold(night(3), night(8)), Hold(night(6), night(10))],  # overlapping
        [Hold(night(6), night(10)), Hold(night(3), night(8))],  # same, out of order
        [Hold(night(3), night(10)), Hold(night(4), night(5))],  # one inside the other
        [Hold(night(3), night(10)), Hold(night(3), night(10))],  # duplicated
    ],
)
def test_overlapping_holds_count_each_held_night_once(holds):
    assert starts(PLAN_05, holds) == starts(PLAN_05, [Hold(night(3), night(10))])
    assert starts(PLAN_05, holds)[1] == night(21)


def test_overlapping_open_and_closed_holds_freeze_from_the_earliest_open_one():
    holds = [Hold(night(30), None), Hold(night(10), night(40)), Hold(night(50), None)]
    scheduled = schedule(PLAN_05, START, holds)
    assert (scheduled[0].start, scheduled[0].end) == (night(0), None)


def test_hold_starting_before_the_plan_counts_only_nights_from_the_start():
    holds = [Hold(night(-5), night(2))]
    assert starts(PLAN_05, holds)[1] == night(16)
    first = tonight(PLAN_05, START, START, holds)
    assert (first.is_first_night, first.held, first.step.number) == (True, True, 1)


def test_hold_entirely_before_the_plan_changes_nothing():
    assert starts(PLAN_05, [Hold(night(-10), night(0))]) == starts(PLAN_05)


# --- capsule change ahead -----------------------------------------------------------------------


@pytest.mark.parametrize("offset", range(77, 84))
def test_capsule_change_fires_one_to_seven_nights_before_the_switch(offset):
    change = capsule_change_ahead(PLAN_05, START, night(offset))
    assert change == ScheduledStep(PLAN_05.steps[6], night(84), None)
    assert change.step.capsule_mg == D("1.5")


@pytest.mark.parametrize("offset", [-3, 0, 13, 14, 70, 76, 84, 85, 200])
def test_capsule_change_does_not_fire_otherwise(offset):
    assert capsule_change_ahead(PLAN_05, START, night(offset)) is None


@pytest.mark.parametrize("offset", range(0, 40))
def test_capsule_change_never_fires_for_builtin_15(offset):
    assert capsule_change_ahead(PLAN_15, START, night(offset)) is None


def test_capsule_change_follows_holds():
    holds = [Hold(night(80), night(85))]  # the switch moves from night 84 to night 89
    assert capsule_change_ahead(PLAN_05, START, night(81), holds) is None
    assert capsule_change_ahead(PLAN_05, START, night(82), holds).start == night(89)
    assert capsule_change_ahead(PLAN_05, START, night(80), [Hold(night(75), None)]) is None


def test_capsule_change_window_is_configurable():
    assert capsule_change_ahead(PLAN_05, START, night(74), within_days=10).start == night(84)
    assert capsule_change_ahead(PLAN_05, START, night(82), within_days=1) is None
    assert capsule_change_ahead(PLAN_05, START, night(83), within_days=1) is not None


# --- custom plans -------------------------------------------------------------------------------


def test_custom_one_mg_weekly_to_4_5_is_refused_as_unreachable():
    with pytest.raises(PlanError, match=r"4\.5 mg cannot be reached exactly"):
        custom_plan(1, 1, 7, "4.5", ["0.5", "1.5"])


def test_custom_half_mg_every_two_weeks_to_3_works():
    plan = custom_plan(D("0.5"), D("0.5"), 14, D("3.0"), [D("0.5")])
    assert plan.key == "custom"
    assert plan.target_mg == D("3.0")
    assert [(s.dose_mg, s.capsules, s.days) for s in plan.steps] == [
        (D("0.5"), 1, 14),
        (D("1.0"), 2, 14),
        (D("1.5"), 3, 14),
        (D("2.0"), 4, 14),
        (D("2.5"), 5, 14),
        (D("3.0"), 6, None),
    ]
    assert all(s.capsule_mg == D("0.5") for s in plan.steps)


@pytest.mark.parametrize(
    "args",
    [
        (D("1.5"), D("1.5"), 10, D("4.5"), [D("1.5")]),
        ("1.5", "1.5", 10, "4.5", ["1.5"]),
        (1.5, 1.5, 10, 4.5, [1.5]),  # floats are turned into exact decimals via str()
    ],
    ids=["decimal", "str", "float"],
)
def test_custom_matching_builtin_15_accepts_decimal_str_and_float(args):
    plan = custom_plan(*args)
    assert plan.steps == PLAN_15.steps
    for s in plan.steps:
        assert_decimal_step(s)


def test_custom_accepts_int_inputs():
    plan = custom_plan(1, 1, 7, 3, [1])
    assert [s.dose_mg for s in plan.steps] == [D(1), D(2), D(3)]
    for s in plan.steps:
        assert_decimal_step(s)


def test_custom_picks_the_smallest_capsule_that_fits_in_max_capsules():
    plan = custom_plan("1.5", "1.5", 10, "4.5", ["1.5", "0.5"])
    assert [(s.capsule_mg, s.capsules) for s in plan.steps] == [
        (D("0.5"), 3),
        (D("0.5"), 6),
        (D("1.5"), 3),
    ]
    assert all(s.capsules <= MAX_CAPSULES for s in plan.steps)


def test_custom_single_step_plan_when_start_is_target():
    plan = custom_plan("1.5", "0.5", 14, "1.5", ["1.5"])
    assert plan.steps == (Step(1, D("1.5"), D("1.5"), 1, None),)


def test_custom_max_mg_can_be_raised_by_a_clinic():
    plan = custom_plan("1.5", "1.5", 10, "6.0", ["1.5"], max_mg="6.0")
    assert plan.target_mg == D("6.0")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("0.5", "0.5", 14, "4.5", ["0.5", "1.5"]), r"3\.5 mg in 6 capsules or fewer"),
        (("0.5", "0.5", 14, "5.0", ["0.5"]), r"5\.0 mg is above the maximum of 4\.5 mg"),
        (("1.5", "1.5", 10, "4.5", ["1.5"], "3.0"), r"4\.5 mg is above the maximum of 3\.0 mg"),
        (("3.0", "0.5", 14, "1.5", ["0.5"]), r"below the start"),
        (("0", "0.5", 14, "3.0", ["0.5"]), r"above 0 mg"),
        (("0.5", "0", 14, "3.0", ["0.5"]), r"above 0 mg"),
        (("0.5", "-0.5", 14, "3.0", ["0.5"]), r"above 0 mg"),
        (("0.5", "0.5", 0, "3.0", ["0.5"]), r"at least one night"),
        (("0.5", "0.5", 14, "3.0", []), r"capsule strengths"),
        (("0.5", "0.5", 14, "3.0", ["0"]), r"capsule strengths"),
        (("abc", "0.5", 14, "3.0", ["0.5"]), r"not an amount in mg"),
        (("0.5", "0.5", 14, "NaN", ["0.5"]), r"not an amount in mg"),
    ],
    ids=[
        "no-capsule-fits",
        "above-max",
        "above-clinic-max",
        "target-below-start",
        "zero-start",
        "zero-step",
        "negative-step",
        "zero-days",
        "no-strengths",
        "zero-strength",
        "not-a-number",
        "nan",
    ],
)
def test_custom_plan_refused(args, reason):
    with pytest.raises(PlanError, match=reason):
        custom_plan(*args)


# --- validate_plan ------------------------------------------------------------------------------


def _with(index: int, **changes) -> Plan:
    """Return builtin-0.5 with one step changed."""
    steps = list(PLAN_05.steps)
    steps[index] = replace(steps[index], **changes)
    return Plan("custom", tuple(steps))


@pytest.mark.parametrize(
    ("plan", "reason"),
    [
        (Plan("custom", ()), r"no steps"),
        (_with(0, dose_mg=D("0"), capsules=0), r"Step 1 has a dose of 0\.0 mg; a dose must be"),
        (_with(0, dose_mg=D("-0.5"), capsules=-1), r"Step 1 has a dose of -0\.5 mg"),
        (
            _with(6, dose_mg=D("4.6"), capsule_mg=D("4.6"), capsules=1),
            r"Step 7: 4\.6 mg is above the maximum of 4\.5 mg",
        ),
        (_with(1, dose_mg=D("1.2")), r"Step 2: 1\.2 mg cannot be made of 0\.5 mg capsules"),
        (_with(1, capsule_mg=D("0")), r"Step 2: 1\.0 mg cannot be made of 0\.0 mg capsules"),
        (_with(1, capsules=3), r"Step 2: 1\.0 mg is 2 capsules of 0\.5 mg, not 3"),
        (_with(2, days=0), r"Step 3 lasts 0 nights"),
        (_with(2, days=-14), r"Step 3 lasts -14 nights"),
        (_with(2, dose_mg=D("0.5"), capsules=1), r"Step 3 \(0\.5 mg\) is lower than step 2"),
        (_with(3, days=None), r"Step 4 has no length"),
        (_with(6, days=14), r"last step \(step 7\) must have no length"),
        (_with(3, number=5), r"Step 4 is numbered 5; steps must be numbered 1 to 7"),
        (_with(0, number=0), r"Step 1 is numbered 0"),
        (_with(0, dose_mg=0.5), r"floats"),  # type: ignore[arg-type]
    ],
    ids=[
        "no-steps",
        "zero-dose",
        "negative-dose",
        "above-max",
        "not-a-multiple",
        "zero-capsule",
        "capsule-count",
        "zero-days",
        "negative-days",
        "goes-down",
        "middle-open-ended",
        "last-has-days",
        "misnumbered",
        "zero-numbered",
        "float-dose",
    ],
)
def test_validate_plan_refuses_with_a_reason(plan, reason):
    with pytest.raises(PlanError, match=reason) as err:
        validate_plan(plan)
    message = str(err.value)
    assert message[0].isupper() and message.endswith(".")


def test_validate_plan_honours_a_lower_clinic_maximum():
    with pytest.raises(PlanError, match=r"4\.5 mg is above the maximum of 3\.0 mg"):
        validate_plan(PLAN_05, Decimal("3.0"))
    validate_plan(PLAN_05, DEFAULT_MAX_MG)


def test_validate_plan_allows_a_dose_repeated_on_other_capsules():
    steps = (Step(1, D("1.5"), D("0.5"), 3, 14), Step(2, D("1.5"), D("1.5"), 1, None))
    validate_plan(Plan("custom", steps))


def test_plan_error_is_a_value_error():
    assert issubclass(PlanError, ValueError)


# --- storage ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plan",
    [PLAN_05, PLAN_15, custom_plan("0.25", "0.25", 7, "1.5", ["0.25", "1.5"])],
    ids=["builtin-0.5", "builtin-1.5", "custom"],
)
def test_to_dict_from_dict_round_trip_is_exact(plan):
    data = plan.to_dict()
    assert_no_floats(data)
    assert Plan.from_dict(data) == plan
    restored = Plan.from_dict(json.loads(json.dumps(data)))
    assert restored == plan
    # Exact, not merely equal: "3.0" must not come back as "3" or 3.0.
    assert [str(s.dose_mg) for s in restored.steps] == [str(s.dose_mg) for s in plan.steps]
    for s in restored.steps:
        assert_decimal_step(s)


def test_to_dict_shape():
    data = PLAN_05.to_dict()
    assert data["key"] == "builtin-0.5"
    assert data["steps"][5] == {
        "number": 6,
        "dose_mg": "3.0",
        "capsule_mg": "0.5",
        "capsules": 6,
        "days": 14,
    }
    assert data["steps"][6]["days"] is None


@pytest.mark.parametrize("step_number", [1, 2, 4, 7])
def test_a_plan_started_at_a_step_gives_that_step_on_its_first_night(step_number: int) -> None:
    plan = BUILTIN_PLANS["builtin-0.5"].starting_at(step_number)
    night = date(2026, 5, 20)
    holds = [Hold(night, None)]
    info = tonight(plan, night, night, holds)
    assert info is not None and info.step.number == step_number
    # A provider's step or start is never a step-up: the patient is on that dose already.
    assert not info.is_step_up
    later = tonight(plan, night, night + timedelta(days=60), holds)
    assert later is not None and later.step.number == step_number and later.held
    assert tonight(plan, night, night - timedelta(days=1)) is None


def test_a_plan_started_at_a_later_step_goes_on_up_from_there() -> None:
    plan = BUILTIN_PLANS["builtin-1.5"].starting_at(2)
    steps = schedule(plan, date(2026, 5, 20))
    assert [(s.step.number, s.start, s.end) for s in steps] == [
        (1, None, None),
        (2, date(2026, 5, 20), date(2026, 5, 30)),
        (3, date(2026, 5, 30), None),
    ]
    up = tonight(plan, date(2026, 5, 20), date(2026, 5, 30))
    assert up is not None and up.is_step_up and up.step.number == 3


def test_starting_at_a_step_the_plan_lacks_is_refused() -> None:
    with pytest.raises(PlanError):
        BUILTIN_PLANS["builtin-1.5"].starting_at(4)
    with pytest.raises(PlanError):
        validate_plan(replace(BUILTIN_PLANS["builtin-1.5"], start_step=0))


def test_a_start_step_survives_the_round_trip_and_old_plans_start_at_step_one() -> None:
    plan = BUILTIN_PLANS["builtin-0.5"].starting_at(3)
    assert Plan.from_dict(plan.to_dict()) == plan
    old = {k: v for k, v in plan.to_dict().items() if k != "start_step"}
    assert Plan.from_dict(old).start_step == 1


def test_a_step_is_found_by_its_dose() -> None:
    plan = BUILTIN_PLANS["builtin-0.5"]
    assert plan.step_for("2").number == 4
    with pytest.raises(PlanError, match="no step of 2.2 mg"):
        plan.step_for("2.2")
