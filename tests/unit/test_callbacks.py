"""Button payloads: compact, versioned, within Telegram's 64 bytes, refused when foreign."""

import pytest

from bot.rules.nightly import Answer
from bot.ui import callbacks
from bot.ui.callbacks import CheckinPress, DecisionPress, DosePress, OnboardingPress, SettingsPress


@pytest.mark.parametrize("answer", list(Answer))
def test_dose_payload_round_trip(answer: Answer) -> None:
    data = callbacks.dose(callbacks.MAX_ID, answer)
    assert data.startswith("v1:dose:")
    assert callbacks.parse(data) == DosePress(callbacks.MAX_ID, answer)


def test_onboarding_and_settings_round_trip() -> None:
    zone = "America/Argentina/ComodRivadavia"
    assert callbacks.parse(callbacks.onboarding("zone_confirm", zone)) == OnboardingPress(
        "zone_confirm", zone
    )
    assert callbacks.parse(callbacks.settings("pause")) == SettingsPress("pause")


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "garbage",
        "v0:dose:1:t",  # an older or newer version than this release reads
        "v2:dose:1:t",
        "v1:dose:abc:t",
        "v1:dose:1:x",
        "v1:dose:1",
        "v1:dose:1:t:extra",
        "v1:ob:plan",
        "v1:ob:plan:a b",
        "v1:set:pause:now",
        "v1:unknown:1",
        "v1:dose:" + "9" * 60 + ":t",
        "v1:ci:x:sleep:2",
        "v1:ci:5:sleep",
        "v1:ci:5:sleep:a b",
        "v1:dec:5:approve",  # not a decision a provider can make
        "v1:dec:x:hold",
        "v1:dec:5",
    ],
)
def test_unreadable_payloads_are_refused(data: str | None) -> None:
    assert callbacks.parse(data) is None


def test_payloads_never_exceed_telegram_limit() -> None:
    with pytest.raises(ValueError):
        callbacks.onboarding("zone", "x" * 60)
    assert len(callbacks.dose(2**63 - 1, Answer.SKIPPED).encode()) <= callbacks.MAX_BYTES


def test_checkin_and_decision_round_trip() -> None:
    assert callbacks.parse(callbacks.checkin(42, "stomach", "2")) == CheckinPress(
        42, "stomach", "2"
    )
    for action in callbacks.DECISIONS:
        assert callbacks.parse(callbacks.decision(2**31 - 1, action)) == DecisionPress(
            2**31 - 1, action
        )
