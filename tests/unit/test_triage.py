"""Triage rules: each clinical rule, its boundary, and how findings are merged."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.rules.findings import Finding, Grade, Stop, Tier
from bot.rules.triage import (
    EFFECTS,
    FLAGS,
    SCREENING,
    THYROID,
    TIPS,
    WITHHOLD_CODES,
    Report,
    Triage,
    combine,
    missed_streak,
    safety_stop,
    screening,
    triage,
)

T0 = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
DOSE = Decimal("1.5")
NONE, MILD, MODERATE, SEVERE = Grade.NONE, Grade.MILD, Grade.MODERATE, Grade.SEVERE


def report(
    day: float = 0,
    dose: str = "1.5",
    flags: tuple[str, ...] = (),
    thyroid: tuple[str, ...] = (),
    words: str | None = None,
    **grades: Grade,
) -> Report:
    return Report(
        T0 + timedelta(days=day), Decimal(dose), grades, frozenset(flags), frozenset(thyroid), words
    )


def reasons(result: Triage) -> list[str]:
    return [f.reason for f in result.findings]


def test_the_agreed_codes() -> None:
    assert EFFECTS == ("sleep", "stomach", "tiredness", "restless", "headache", "mood")
    assert (
        " ".join(FLAGS) == "breathing self_harm opioids surgery withdrawal liver pregnancy allergy"
    )
    assert THYROID == ("racing_heart", "tremor", "heat", "anxiety_insomnia")
    assert " ".join(SCREENING) == "opioids liver_kidney psychiatric pregnancy thyroid immune cancer"
    assert [int(g) for g in Grade] == [0, 1, 2, 3]
    assert [t.name for t in Tier] == ["NONE", "INFO", "ROUTINE", "URGENT", "EMERGENCY"]


# Nothing to say


def test_nothing_reported_is_tier_none() -> None:
    assert triage(report()) == Triage(Tier.NONE, (), ())


def test_every_effect_graded_none_is_tier_none() -> None:
    result = triage(report(**dict.fromkeys(EFFECTS, NONE)))
    assert result == Triage(Tier.NONE, (), ())
    assert not (result.holds or result.alerts or result.emergency)


# Red-flag questions


@pytest.mark.parametrize(
    ("flag", "tier"),
    [
        ("breathing", Tier.EMERGENCY),
        ("self_harm", Tier.EMERGENCY),
        ("opioids", Tier.URGENT),
        ("surgery", Tier.URGENT),
        ("withdrawal", Tier.URGENT),
        ("liver", Tier.URGENT),
        ("pregnancy", Tier.URGENT),
        ("allergy", Tier.URGENT),
    ],
)
def test_each_red_flag_has_its_tier(flag: str, tier: Tier) -> None:
    result = triage(report(flags=(flag,)))
    assert result.tier is tier
    assert result.findings == (Finding(tier, f"flag_{flag}", flag),)
    assert result.holds and result.alerts
    assert result.emergency is (tier is Tier.EMERGENCY)


def test_flags_cover_every_flag_code() -> None:
    assert {f.effect for f in triage(report(flags=FLAGS)).findings} == set(FLAGS)


# Severe effects


@pytest.mark.parametrize("effect", EFFECTS)
def test_any_severe_effect_is_urgent(effect: str) -> None:
    result = triage(report(**{effect: SEVERE}))
    assert result.tier is Tier.URGENT
    assert result.findings[0] == Finding(Tier.URGENT, f"severe_{effect}", effect)
    assert result.tips == ()


@pytest.mark.parametrize("effect", [e for e in EFFECTS if e != "mood"])
def test_a_first_moderate_effect_is_expected_not_alerted(effect: str) -> None:
    result = triage(report(**{effect: MODERATE}))
    assert result.findings == (Finding(Tier.INFO, f"expected_{effect}", effect),)
    assert result.tips == (TIPS[effect],)
    assert not result.holds


# Worse by two grades


def test_worse_by_two_grades_is_routine() -> None:
    result = triage(report(7, stomach=MODERATE), [report(0, stomach=NONE)])
    assert result.tier is Tier.ROUTINE
    assert reasons(result) == ["worse_two_grades_stomach"]
    assert result.tips == ()


def test_worse_by_one_grade_is_not() -> None:
    result = triage(report(7, stomach=MODERATE), [report(0, stomach=MILD)])
    assert reasons(result) == ["expected_stomach"]


def test_worse_by_two_compares_with_the_last_report_that_graded_the_effect() -> None:
    history = [report(0, stomach=NONE), report(7, sleep=MILD), report(10, stomach=MILD)]
    # The last report grading stomach said mild, so moderate now is only one grade worse.
    assert reasons(triage(report(14, stomach=MODERATE), history)) == ["expected_stomach"]
    # Without that report, the last grading was none: two grades worse.
    result = triage(report(14, stomach=MODERATE), history[:2])
    assert reasons(result) == ["worse_two_grades_stomach"]


def test_severe_after_none_is_severe_and_two_grades_worse() -> None:
    result = triage(report(7, headache=SEVERE), [report(0, headache=MILD)])
    assert reasons(result) == ["severe_headache", "worse_two_grades_headache"]


# Moderate twice


@pytest.mark.parametrize("before", [MODERATE, SEVERE])
def test_moderate_after_moderate_or_worse_is_routine(before: Grade) -> None:
    result = triage(report(7, sleep=MODERATE), [report(0, sleep=before)])
    assert result.tier is Tier.ROUTINE
    assert reasons(result) == ["moderate_twice_sleep"]


@pytest.mark.parametrize(("before", "now"), [(MILD, MODERATE), (MODERATE, MILD)])
def test_moderate_only_once_in_two_reports_is_expected(before: Grade, now: Grade) -> None:
    result = triage(report(7, sleep=now), [report(0, sleep=before)])
    assert reasons(result) == ["expected_sleep"]
    assert result.tips == ("tip_sleep",)


# Lasting on the same dose


def test_an_effect_lasting_more_than_28_days_on_one_dose_is_routine() -> None:
    history = [report(0, tiredness=MILD), report(14, tiredness=MODERATE)]
    result = triage(report(28.001, tiredness=MILD), history)
    assert result.tier is Tier.ROUTINE
    assert reasons(result) == ["lasting_tiredness"]


def test_an_effect_lasting_exactly_28_days_is_still_expected() -> None:
    history = [report(0, tiredness=MILD), report(14, tiredness=MILD)]
    assert reasons(triage(report(28, tiredness=MILD), history)) == ["expected_tiredness"]


def test_a_report_of_none_on_the_dose_restarts_the_count() -> None:
    history = [report(0, tiredness=MILD), report(7, tiredness=NONE), report(14, tiredness=MILD)]
    assert reasons(triage(report(30, tiredness=MILD), history)) == ["expected_tiredness"]


def test_a_dose_change_restarts_the_count() -> None:
    history = [report(0, dose="1.0", tiredness=MILD), report(14, dose="1.5", tiredness=MILD)]
    assert reasons(triage(report(30, tiredness=MILD), history)) == ["expected_tiredness"]
    same = [report(0, dose="1.50", tiredness=MILD), report(14, tiredness=MILD)]
    assert reasons(triage(report(30, tiredness=MILD), same)) == ["lasting_tiredness"]


def test_a_report_that_did_not_ask_neither_breaks_nor_extends_the_run() -> None:
    history = [report(0, restless=MILD), report(10, sleep=NONE), report(20, restless=MILD)]
    assert reasons(triage(report(29, restless=MILD), history)) == ["lasting_restless"]
    assert reasons(triage(report(29, restless=MILD), history[1:])) == ["expected_restless"]


def test_an_effect_gone_now_is_not_lasting() -> None:
    history = [report(0, headache=MILD), report(20, headache=MILD)]
    assert triage(report(40, headache=NONE), history).tier is Tier.NONE


# Low mood


def test_a_first_mild_low_mood_is_info_without_a_tip() -> None:
    result = triage(report(mood=MILD))
    assert result.findings == (Finding(Tier.INFO, "mild_mood", "mood"),)
    assert result.tips == ()


def test_a_first_moderate_low_mood_is_routine() -> None:
    result = triage(report(mood=MODERATE))
    assert result.findings == (Finding(Tier.ROUTINE, "moderate_mood", "mood"),)


@pytest.mark.parametrize(
    ("before", "now"), [(MILD, MODERATE), (NONE, MODERATE), (MODERATE, SEVERE)]
)
def test_low_mood_getting_worse_is_urgent(before: Grade, now: Grade) -> None:
    result = triage(report(7, mood=now), [report(0, mood=before)])
    assert result.tier is Tier.URGENT
    assert "mood_worse" in reasons(result)
    assert "moderate_mood" not in reasons(result)


def test_low_mood_worse_but_only_mild_is_not_urgent() -> None:
    result = triage(report(7, mood=MILD), [report(0, mood=NONE)])
    assert reasons(result) == ["mild_mood"]


def test_moderate_low_mood_twice_is_routine_not_urgent() -> None:
    result = triage(report(7, mood=MODERATE), [report(0, mood=MODERATE)])
    assert result.tier is Tier.ROUTINE
    assert reasons(result) == ["moderate_twice_mood"]


def test_low_mood_easing_to_mild_is_info() -> None:
    assert reasons(triage(report(7, mood=MILD), [report(0, mood=MODERATE)])) == ["mild_mood"]


# Thyroid signs


@pytest.mark.parametrize("sign", THYROID)
def test_any_thyroid_sign_is_routine(sign: str) -> None:
    result = triage(report(thyroid=(sign,)))
    assert result.tier is Tier.ROUTINE
    assert result.findings == (Finding(Tier.ROUTINE, "thyroid_over_replacement"),)


# Tips, words, ordering


@pytest.mark.parametrize("effect", [e for e in EFFECTS if e != "mood"])
def test_a_mild_effect_is_expected_with_its_tip(effect: str) -> None:
    result = triage(report(**{effect: MILD}))
    assert result == Triage(
        Tier.INFO, (Finding(Tier.INFO, f"expected_{effect}", effect),), (f"tip_{effect}",)
    )
    assert not (result.holds or result.alerts or result.emergency)


def test_tips_only_for_effects_at_info() -> None:
    history = [report(0, stomach=MODERATE)]
    result = triage(report(7, stomach=MODERATE, sleep=MILD), history)
    assert result.tips == ("tip_sleep",)


def test_the_patients_words_are_scanned() -> None:
    result = triage(report(sleep=MILD, words="honestly I can\u2019t breathe tonight"))
    assert result.tier is Tier.EMERGENCY and result.emergency
    assert result.findings[0] == Finding(Tier.EMERGENCY, "words_breathing", "breathing")
    assert "expected_sleep" in reasons(result)


def test_ordinary_words_add_nothing() -> None:
    assert triage(report(words="thanks, all good")).tier is Tier.NONE


def test_findings_are_most_serious_first() -> None:
    history = [report(0, stomach=NONE)]
    now = report(7, sleep=MILD, stomach=MODERATE, headache=SEVERE, flags=("self_harm",))
    result = triage(now, history)
    assert reasons(result) == [
        "flag_self_harm",
        "severe_headache",
        "worse_two_grades_stomach",
        "expected_sleep",
    ]
    assert result.tier is Tier.EMERGENCY


@pytest.mark.parametrize(
    ("tier", "holds", "emergency"),
    [
        (Tier.NONE, False, False),
        (Tier.INFO, False, False),
        (Tier.ROUTINE, True, False),
        (Tier.URGENT, True, False),
        (Tier.EMERGENCY, True, True),
    ],
)
def test_what_each_tier_sets_in_motion(tier: Tier, holds: bool, emergency: bool) -> None:
    result = Triage(tier, (), ())
    assert (result.holds, result.alerts, result.emergency) == (holds, holds, emergency)


def test_history_is_taken_in_time_order_and_only_before_the_report() -> None:
    later = report(10, stomach=NONE)
    shuffled = [report(5, stomach=MILD), report(0, stomach=NONE), later]
    assert reasons(triage(report(7, stomach=MODERATE), shuffled)) == ["expected_stomach"]


@pytest.mark.parametrize(
    "bad",
    [
        {"grades": {"nausea": MILD}},
        {"flags": frozenset({"chest_pain"})},
        {"thyroid": frozenset({"sweating"})},
    ],
)
def test_unknown_codes_are_refused(bad: dict) -> None:
    fields = {"at": T0, "dose_mg": DOSE, "grades": {}} | bad
    with pytest.raises(ValueError, match="unknown"):
        triage(Report(**fields))


# Screening


@pytest.mark.parametrize(
    ("question", "tier"),
    [
        ("opioids", Tier.URGENT),
        ("pregnancy", Tier.URGENT),
        ("liver_kidney", Tier.ROUTINE),
        ("psychiatric", Tier.ROUTINE),
        ("thyroid", Tier.ROUTINE),
        ("immune", Tier.ROUTINE),
        ("cancer", Tier.ROUTINE),
    ],
)
def test_each_screening_yes_has_its_tier(question: str, tier: Tier) -> None:
    answers = dict.fromkeys(SCREENING, False) | {question: True}
    result = screening(answers)
    assert result == Triage(tier, (Finding(tier, f"screening_{question}", question),), ())


def test_screening_all_no_is_tier_none() -> None:
    assert screening(dict.fromkeys(SCREENING, False)) == Triage(Tier.NONE, (), ())
    assert screening({}) == Triage(Tier.NONE, (), ())


def test_screening_orders_urgent_first() -> None:
    result = screening({"cancer": True, "pregnancy": True, "liver_kidney": True})
    assert reasons(result) == ["screening_pregnancy", "screening_liver_kidney", "screening_cancer"]


def test_screening_refuses_unknown_questions() -> None:
    with pytest.raises(ValueError, match="unknown"):
        screening({"smoking": True})


# Missed nights

M = "missed"


@pytest.mark.parametrize(
    ("statuses", "reported"),
    [
        ([], False),
        ([M, M], False),
        (["taken", M, M], False),
        ([M, M, M], True),
        (["taken", M, M, M], True),
        (["skipped", "taken", M, M, M], True),
        (["snoozed", M, M, M], True),
        ([M, M, M, M], False),  # the same streak, already reported on its third night
        (["taken", M, M, M, M, M], False),
        ([M, M, M, "taken"], False),
        ([M, "skipped", M, M], False),
        ([M, M, "sent"], False),
    ],
)
def test_missed_streak_is_reported_once_on_its_third_night(
    statuses: list[str], reported: bool
) -> None:
    expected = Finding(Tier.ROUTINE, "missed_three") if reported else None
    assert missed_streak(statuses) == expected
    assert missed_streak(tuple(statuses)) == expected


# Combining


def test_combine_takes_the_highest_tier_and_sorts_findings() -> None:
    info = triage(report(stomach=MILD))
    urgent = screening({"opioids": True})
    missed = Triage(Tier.ROUTINE, (missed_streak([M, M, M]),), ())  # type: ignore[arg-type]
    result = combine(info, missed, urgent)
    assert result.tier is Tier.URGENT
    assert reasons(result) == ["screening_opioids", "missed_three", "expected_stomach"]
    assert result.tips == ("tip_stomach",)


def test_combine_drops_repeats() -> None:
    one = triage(report(stomach=MILD, flags=("liver",)))
    result = combine(one, one, triage(report(stomach=MILD, sleep=MILD)))
    assert reasons(result) == ["flag_liver", "expected_stomach", "expected_sleep"]
    assert result.tips == ("tip_stomach", "tip_sleep")


def test_same_reason_for_another_effect_is_not_a_repeat() -> None:
    a = Triage(Tier.URGENT, (Finding(Tier.URGENT, "x", "sleep"),), ())
    b = Triage(Tier.URGENT, (Finding(Tier.URGENT, "x", "mood"),), ())
    assert len(combine(a, b).findings) == 2


def test_combine_of_nothing_is_tier_none() -> None:
    assert combine() == Triage(Tier.NONE, (), ())
    assert combine(Triage(Tier.NONE, (), ())).tier is Tier.NONE


# Withhold or hold: what the patient is told to do while a provider decides


@pytest.mark.parametrize("flag", sorted(FLAGS))
def test_every_red_flag_question_withholds_ldn(flag: str) -> None:
    result = triage(report(flags=(flag,)))
    assert result.stop is Stop.WITHHOLD


def test_an_emergency_withholds_whatever_its_code() -> None:
    assert safety_stop([Finding(Tier.EMERGENCY, "words_x", "not_a_withhold_code")]) is Stop.WITHHOLD


@pytest.mark.parametrize(
    "finding",
    [
        Finding(Tier.URGENT, "severe_stomach", "stomach"),
        Finding(Tier.ROUTINE, "worse_two_grades_sleep", "sleep"),
        Finding(Tier.ROUTINE, "missed_three"),
        Finding(Tier.ROUTINE, "tolerance_unanswered"),
        Finding(Tier.URGENT, "mood_worse", "mood"),
    ],
)
def test_a_tolerability_concern_holds_the_increase_only(finding: Finding) -> None:
    assert safety_stop([finding]) is Stop.HOLD


def test_tips_and_expected_effects_stop_nothing() -> None:
    assert safety_stop([Finding(Tier.INFO, "expected_sleep", "sleep")]) is Stop.NONE
    assert safety_stop([]) is Stop.NONE


def test_a_withhold_code_below_routine_stops_nothing() -> None:
    # A mention that did not alert (an INFO finding) never withholds on its code alone.
    assert safety_stop([Finding(Tier.INFO, "note", "opioids")]) is Stop.NONE


# Every sign DOMAIN.md lists under "Withhold", by its code: removing one must fail here.
WITHHELD_SIGNS = {
    "breathing", "allergy", "self_harm", "opioids", "surgery", "withdrawal", "liver", "pregnancy",
    "overdose", "fainting", "seizure", "vomiting_blood", "vomiting", "chest_pain",
    "hallucinations", "headache_worst", "belly_pain",
}  # fmt: skip


@pytest.mark.parametrize("code", sorted(WITHHELD_SIGNS))
def test_each_sign_of_harm_in_words_withholds_ldn(code: str) -> None:
    assert WITHHELD_SIGNS <= WITHHOLD_CODES
    assert safety_stop([Finding(Tier.URGENT, f"words_{code}", code)]) is Stop.WITHHOLD
