"""Forged button data: random text at the parser, random presses through the real handler.

Anyone can send any callback data (a modified client). The parser is fed random text; the real
Application (fake Telegram, real database, virtual clock) is fed forged presses. Nothing may raise,
every press is answered, and a press the bot cannot read gets the kind toast.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.rules.nightly import Answer
from bot.ui import callbacks
from bot.ui.callbacks import MAX_ID
from bot.ui.texts import t
from devtools.simulation import Simulation
from fake_telegram.core import FakeUser
from tests.integration.test_commands import enroll

# Every character, lone surrogates ("\ud800") and control characters included.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
DIGITS_THAT_ARE_NOT_ASCII = ["²", "٣", "১", "𝟗", "Ⅻ", "½"]
KINDS = ["dose", "ob", "set", "ci", "dec", "rep", "unknown", ""]


def _piece() -> st.SearchStrategy[str]:
    """One field of a payload: ids around every column limit, odd digits, or anything at all."""
    limits = [2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 10**30]
    return st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(limits).map(str),
        st.sampled_from(DIGITS_THAT_ARE_NOT_ASCII),
        st.sampled_from(["1\n", " 1", "01", "+1", "1_0", "0", "t", "z", "k", "hold", "pause"]),
        st.sampled_from(list(callbacks.DECISIONS) + list(callbacks.SETTINGS_ACTIONS)),
        st.text(ANY_CHAR, max_size=12),
    )


FORGED = st.one_of(
    st.text(ANY_CHAR, max_size=80),
    st.builds(
        lambda version, kind, parts: ":".join([version, kind, *parts]),
        st.sampled_from(["v1", "v0", "v2", "V1", "v1 "]),
        st.sampled_from(KINDS),
        st.lists(_piece(), min_size=0, max_size=4),
    ),
)

# Every payload the bot itself builds.
BUILT = st.one_of(
    st.builds(callbacks.dose, st.integers(1, MAX_ID), st.sampled_from(list(Answer))),
    st.builds(callbacks.decision, st.integers(1, MAX_ID), st.sampled_from(callbacks.DECISIONS)),
    st.builds(callbacks.reply, st.integers(1, MAX_ID)),
    st.builds(callbacks.settings, st.sampled_from(callbacks.SETTINGS_ACTIONS)),
    st.builds(
        callbacks.checkin,
        st.integers(1, MAX_ID),
        st.sampled_from(sorted(callbacks.CHECKIN_QUESTIONS)),
        st.from_regex(r"[a-z0-9_]{1,10}", fullmatch=True),
    ),
    st.builds(
        callbacks.onboarding,
        st.from_regex(r"[a-z_]{1,16}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9_./+-]{1,24}", fullmatch=True),
    ),
)


@given(data=st.one_of(FORGED, st.none()))
@settings(max_examples=2000, deadline=None, derandomize=True)
def test_the_parser_never_raises_and_refuses_ids_beyond_the_columns(data: str | None) -> None:
    press = callbacks.parse(data)
    for field in ("dose_id", "report_id", "escalation_id"):
        value = getattr(press, field, None)
        assert value is None or 1 <= value <= MAX_ID


@given(data=BUILT)
@settings(max_examples=500, deadline=None, derandomize=True)
def test_every_payload_the_bot_builds_reads_back_as_itself(data: str) -> None:
    press = callbacks.parse(data)
    assert press is not None
    rebuilt = {
        callbacks.DosePress: lambda p: callbacks.dose(p.dose_id, p.answer),
        callbacks.DecisionPress: lambda p: callbacks.decision(p.escalation_id, p.action),
        callbacks.ReplyPress: lambda p: callbacks.reply(p.escalation_id),
        callbacks.SettingsPress: lambda p: callbacks.settings(p.action),
        callbacks.CheckinPress: lambda p: callbacks.checkin(p.report_id, p.question, p.value),
        callbacks.OnboardingPress: lambda p: callbacks.onboarding(p.step, p.value),
    }[type(press)](press)
    assert rebuilt == data


@pytest.mark.parametrize(
    "data",
    [
        "v1:dose:²:t",  # "²".isdigit() is True, int("²") raises
        "v1:ci:٣:intro:start",
        "v1:dec:𝟗:hold",
        "v1:dose:1\ud800:t",  # a lone surrogate cannot be encoded
        "v1:set:pause\n",  # a trailing newline slips past a `$` anchor
        f"v1:dose:{2**31}:t",  # beyond PostgreSQL's integer
        f"v1:dec:{2**63}:hold",  # beyond SQLite's integer
        f"v1:rep:{2**64}",
        "v1:dose:0:t",
        "v1:dose:01:t",
        "v1:set:launch",  # not an action the bot offers
        "v1:ci:5:anything:2",  # not a question the bot asks
    ],
)
def test_malformed_payloads_are_refused(data: str) -> None:
    assert callbacks.parse(data) is None


# Through the real handler


async def _press(sim: Simulation, user: FakeUser, message_id: int, data: str) -> dict:
    update = user.forge_press(message_id, data)
    await sim.deliver()
    answer = sim.telegram.callback_answer(update["callback_query"]["id"])
    assert answer is not None, "the press was never answered (the button keeps spinning)"
    return answer


@pytest.fixture
async def patient(harness: Simulation) -> FakeUser:
    user = harness.telegram.user(4242)
    await enroll(harness, user)
    return user


@given(data=FORGED)
@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never fails by chance
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
async def test_a_forged_press_is_answered_and_logs_no_error(
    harness: Simulation,
    patient: FakeUser,
    caplog: pytest.LogCaptureFixture,
    data: str,
) -> None:
    caplog.set_level(logging.INFO)
    message = patient.last()
    answer = await _press(harness, patient, message.message_id, data)
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == [], [r.getMessage() for r in errors]
    assert harness.telegram.client_errors() == []
    if callbacks.parse(data) is None:
        assert answer.get("text") == t("toast_unknown")
        # The refusal is logged, but never with what was pressed: the user's id is all it says.
        refusals = [r for r in caplog.records if r.name == "handlers.buttons"]
        assert all(r.args == (patient.id,) for r in refusals)


@pytest.mark.parametrize(
    "data",
    [
        "v1:dose:²:t",
        f"v1:dose:{2**31}:t",
        f"v1:dose:{2**63}:k",
        f"v1:ci:{2**40}:intro:start",
        "v1:dose:1\ud800:t",
    ],
)
async def test_a_forged_press_gets_the_kind_toast(
    harness: Simulation, patient: FakeUser, caplog: pytest.LogCaptureFixture, data: str
) -> None:
    answer = await _press(harness, patient, patient.last().message_id, data)
    assert answer.get("text") == t("toast_unknown")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
