"""RETENTION_DAYS: a patient out of care is erased as /delete does, that many days after their
last trace, never while in care, and never while an alert about them waits for a decision."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from bot.app.settings import Settings
from bot.ui.texts import t
from devtools.simulation import Simulation
from storage.models import AuditEntry, Dose, Escalation, Report
from tests.integration.test_care_loop import alerts, enroll, invite, report, settle
from tests.integration.test_privacy import _count
from tests.support.harness import DOCTOR, NURSE, patient_of

DAYS = 30


@pytest.fixture
def care_settings(care_settings: Settings) -> Settings:
    return care_settings.model_copy(update={"retention_days": DAYS})


async def at(care: Simulation, moment: timedelta, since: datetime) -> None:
    """Move the clock to `since + moment` and run a dispatcher round there."""
    care.clock.set(since + moment)
    await care.dispatch()


async def test_a_stopped_patient_is_erased_after_retention_days_and_not_before(
    care: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    user = care.telegram.user(3101)
    await enroll(care, user, await invite(care, "RT-1"))
    await report(care, user, grades={"stomach": "grade_3"}, words="my tummy hurts a lot")
    await settle(care)
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[-1], t("button_decide_hold"))
    active = care.telegram.user(3102)
    await enroll(care, active, await invite(care, "RT-2"))
    await care.say(user, "/stop")
    stopped = await patient_of(care, user)
    assert stopped is not None and stopped.reminders_paused
    copies = alerts(care, DOCTOR) + alerts(care, NURSE)
    assert copies
    since = care.clock.now()

    await at(care, timedelta(days=DAYS) - timedelta(hours=1), since)
    assert await patient_of(care, user) is not None

    caplog.set_level(logging.INFO, logger="bot.care.privacy")
    await at(care, timedelta(days=DAYS, hours=1), since)
    assert await patient_of(care, user) is None
    for model in (Dose, Report, Escalation, AuditEntry):
        assert await _count(care, model, stopped.id) == 0
    # The care team's copies lose the words, as after /delete, saying why.
    expired = t("alert_expired", label="RT-1")
    for copy in copies:
        now = care.telegram.message(copy.chat_id, copy.message_id)
        assert now is not None and now.text == expired and not now.buttons()
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.care.privacy"]
    assert line.startswith("Erased the records of 1 patient(s)") and "RT-1" not in line
    # In care all along: kept, whatever the clock says.
    assert await patient_of(care, active) is not None


async def test_a_patient_with_an_alert_undecided_is_kept_until_it_is_decided(
    care: Simulation,
) -> None:
    user = care.telegram.user(3103)
    await enroll(care, user, await invite(care, "RT-3"))
    await report(care, user, grades={"stomach": "grade_3"})
    await settle(care)
    await care.say(user, "/stop")
    since = care.clock.now()

    await at(care, timedelta(days=DAYS * 3), since)
    assert await patient_of(care, user) is not None

    # The decision is a trace of its own: the count starts again from it.
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[-1], t("button_decide_hold"))
    decided = care.clock.now()
    await at(care, timedelta(days=DAYS) - timedelta(hours=1), decided)
    assert await patient_of(care, user) is not None
    await at(care, timedelta(days=DAYS, hours=1), decided)
    assert await patient_of(care, user) is None


async def test_someone_who_never_finished_enrolling_is_erased_after_retention_days(
    care: Simulation,
) -> None:
    user = care.telegram.user(3104)
    await care.say(user, f"/start {await invite(care, 'RT-4')}")  # and no further
    assert await patient_of(care, user) is not None
    since = care.clock.now()
    await at(care, timedelta(days=DAYS) - timedelta(hours=1), since)
    assert await patient_of(care, user) is not None
    await at(care, timedelta(days=DAYS, hours=1), since)
    assert await patient_of(care, user) is None
