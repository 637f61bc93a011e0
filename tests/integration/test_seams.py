"""Where the parts meet: the intake, alert grouping, pacing and start-up checks, taken together."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.delivery.intake import BATCH
from bot.ui.texts import t
from devtools.simulation import Simulation
from storage.db import Database
from storage.health import DatabaseUnusable, migrate_database
from tests.integration.test_care_loop import PATIENT, alerts, enroll, escalations, invite, settle
from tests.integration.test_intake import database_down, sqlite_locked, texts_since
from tests.integration.test_migrations import _fill, _run
from tests.support.harness import DOCTOR, NURSE, patient_of

OPIOIDS = "they gave me oxycodone at the dentist"
LIVER = "my eyes and skin have turned yellow"
EMERGENCY = t("concern_emergency", emergency="911")


def sends_to(care: Simulation, chat_id: int) -> int:
    """How many new messages (not edits) reached a chat: only these make a phone ring."""
    return sum(1 for c in care.telegram.calls("sendMessage") if int(c.params["chat_id"]) == chat_id)


async def test_a_new_urgent_finding_after_the_alert_was_acknowledged_reaches_a_provider_again(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    await care.say(user, OPIOIDS)
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[0], t("button_decide_ack"))
    [acknowledged] = await escalations(care)
    assert acknowledged.status == "acknowledged"

    # Hours later, a new sign of harm nobody has seen yet.
    await settle(care, 180)
    before = sends_to(care, DOCTOR)
    await care.say(user, LIVER)
    await settle(care, 61)
    assert any(LIVER in (e.words or "") for e in await escalations(care))

    # A silent edit of a message acknowledged hours ago rings no phone: the new finding must
    # reach the provider as a message, and be raised again while nobody acknowledges it.
    assert sends_to(care, DOCTOR) > before


async def test_a_decision_on_an_alert_never_lifts_a_withhold_folded_in_after_the_provider_read_it(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    await care.say(user, OPIOIDS)
    seen = alerts(care, NURSE)[0]
    assert LIVER not in (seen.text or "")

    # A new sign of harm joins the open alert; the nurse's copy is not edited (the group is
    # at its flood limit), so what she reads is the opioids alone.
    care.telegram.fail("editMessageText", status=429, times=10, chat_id=NURSE)
    await care.say(user, LIVER)
    assert LIVER not in (care.telegram.message(NURSE, seen.message_id).text or "")

    await care.tap(care.telegram.user(NURSE), seen, t("button_decide_continue"))

    # Continuing the plan over the opioids she read must not let the patient take LDN
    # against a liver sign she never saw.
    patient = await patient_of(care, user)
    assert patient is not None and patient.withheld_at is not None
    assert not any(t("decided_lifted") in (m.text or "") for m in user.messages())


@pytest.mark.parametrize("failure", ["down", "locked"])
async def test_opioids_typed_while_the_database_fails_are_told_not_to_take_ldn_at_once(
    care: Simulation, tmp_path: object, database_url: str, failure: str
) -> None:
    if failure == "locked" and not database_url.startswith("sqlite"):
        pytest.skip("SQLite's own lock")
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    before = len(user.messages())
    user.send(OPIOIDS)
    if failure == "down":  # the intake cannot store it: only first aid answers
        failing = database_down(care, tmp_path)
    else:  # stored, then its handler meets the lock: the words are kept in memory
        await care.poller.fetch(wait=0)
        failing = sqlite_locked(database_url)
    with failing:
        await care.deliver()
        heard = texts_since(user, before)

    # Naltrexone on top of opioids can bring on withdrawal: saying so needs no database.
    assert t("concern_withhold_kept") in heard, heard

    # Once the database is back: stored once, and the patient hears the same stop, now in force.
    await care.deliver()
    assert [e.tier for e in await escalations(care)] == ["urgent"]
    assert t("concern_withhold") in (user.last().text or "")


async def test_words_typed_right_after_delete_is_confirmed_are_still_answered(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    asking = await care.say(user, "/delete")
    before = len(user.messages())

    # The confirmation, then words typed straight after: more than the worker takes at a time
    # (the real poller also stores new updates while the erasure is being handled).
    user.press(asking, asking.label_starting(t("button_delete_yes")))
    for _ in range(BATCH):
        user.send("ok")
    user.send("I want to kill myself")
    await care.deliver()
    await care.deliver()

    # The erasure takes what the patient said before it, never what is still waiting behind it.
    assert EMERGENCY in texts_since(user, before)


async def test_a_database_whose_upgrade_is_refused_stops_the_migration_in_one_line(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/old.sqlite3"
    db = Database(url)
    try:
        await db.migrate("0001")
        await _run(db, _fill)
    finally:
        await db.dispose()
    # Rows orphaned by a hand edit with foreign keys off: the guarded upgrade refuses them.
    with closing(sqlite3.connect(tmp_path / "old.sqlite3")) as connection:
        connection.execute("DELETE FROM patients")
        connection.commit()

    with pytest.raises(DatabaseUnusable) as refused:
        await migrate_database(url)
    assert "DATABASE_URL" in str(refused.value) and "\n" not in str(refused.value)


async def test_an_emergency_answer_waits_out_a_short_flood_limit_on_the_patients_chat(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    before = len(user.messages())
    # Telegram asks the bot to slow down in this chat for a second, as it does after a burst.
    care.telegram.fail("sendMessage", status=429, retry_after=1, chat_id=PATIENT)

    await care.say(user, "I want to kill myself")

    # A reply to the patient waits out a short flood limit (REPLY): never dropped.
    assert EMERGENCY in texts_since(user, before)
