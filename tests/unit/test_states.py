"""The stored vocabularies: every value the rules can produce has its member, and back."""

from __future__ import annotations

from bot.rules.findings import Stop, Tier
from bot.rules.states import Awaiting, StopCode, TierCode
from bot.rules.triage import SCREENING


def test_every_screening_question_is_a_step_the_database_takes() -> None:
    steps = [s for s in Awaiting if s.startswith("screen_")]
    assert steps == [Awaiting.screen(code) for code in SCREENING]
    assert [s.removeprefix("screen_") for s in steps] == list(SCREENING)


def test_a_tier_and_a_stop_are_stored_as_their_names_and_read_back() -> None:
    for tier in Tier:
        assert TierCode.of(tier) == tier.name.lower()
        assert TierCode.of(tier).tier is tier
    assert StopCode.of(Stop.NONE) is None
    for stop in (Stop.HOLD, Stop.WITHHOLD):
        code = StopCode.of(stop)
        assert code == stop.name.lower() and code is not None and code.stop is stop
