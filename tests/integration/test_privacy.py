"""A patient's own data: /mydata hands over everything kept, /delete erases it (rule 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import MetaData, event, func, select, text
from sqlalchemy.engine import Connection

from bot.ui.texts import t
from devtools.simulation import Simulation
from storage.models import AlertMessage, AuditEntry, Dose, Escalation, Invite, Patient, Report
from tests.integration.test_care_loop import PATIENT, alerts, enroll, invite, report, settle
from tests.support.harness import DOCTOR, NURSE, patient_of

WORDS = "my ankles have been a bit swollen"


async def _patient_with_history(care: Simulation, user_id: int = PATIENT, label: str = "AB-1"):
    user = care.telegram.user(user_id)
    await enroll(care, user, await invite(care, label))
    await report(care, user, grades={"stomach": "grade_3"}, words=WORDS)
    await settle(care)
    await care.tap(care.telegram.user(DOCTOR), alerts(care, DOCTOR)[-1], t("button_decide_hold"))
    return user


async def _count(care: Simulation, model: type, patient_id: int) -> int:
    async with care.services.db.session() as session:
        query = select(func.count()).select_from(model).where(model.patient_id == patient_id)
        return (await session.execute(query)).scalar_one()


async def test_mydata_sends_everything_kept_about_the_patient_and_nothing_else(
    care: Simulation,
) -> None:
    user = await _patient_with_history(care)
    other = await _patient_with_history(care, PATIENT + 1, "ZZ-9")
    await care.say(other, "nothing to see")

    await care.say(user, "/mydata")

    sent = user.last()
    assert sent.kind == "document" and sent.caption == t("mydata_sent")
    data = json.loads(sent.document or b"")
    assert data["patient"]["label"] == "AB-1"
    assert data["patient"]["telegram_user_id"] == PATIENT
    assert [r["words"] for r in data["side_effect_reports"]] == [WORDS]
    assert [e["decision"] for e in data["escalations"]] == ["hold"]
    assert [(a["actor_user_id"], a["action"]) for a in data["care_team_actions"]] == [
        (DOCTOR, "hold")
    ]
    assert data["plan_holds"] and data["nights"]
    assert "ZZ-9" not in sent.document.decode()  # type: ignore[union-attr]


async def test_mydata_from_someone_the_bot_does_not_know(care: Simulation) -> None:
    stranger = care.telegram.user(PATIENT + 5)
    assert (await care.say(stranger, "/mydata")).text == t("mydata_none")


async def test_delete_asks_first_and_keep_changes_nothing(care: Simulation) -> None:
    user = await _patient_with_history(care)
    question = await care.say(user, "/delete")
    assert question.buttons() == [t("button_delete_yes"), t("button_delete_no")]
    assert (await care.tap(user, question, t("button_delete_no"))).text == t("delete_kept")
    assert await patient_of(care, user) is not None


async def test_delete_erases_every_row_and_the_words_on_the_providers_copies(
    care: Simulation,
) -> None:
    user = await _patient_with_history(care)
    patient = await patient_of(care, user)
    assert patient is not None
    copies = alerts(care, DOCTOR) + alerts(care, NURSE)
    assert copies and all(WORDS in copy.text for copy in copies)

    question = await care.say(user, "/delete")
    done = await care.tap(user, question, t("button_delete_yes"))

    assert done.text == t("deleted", clinic="Test Clinic", contact="+1 555 0100", emergency="911")
    assert await patient_of(care, user) is None
    for model in (Dose, Report, Escalation, AuditEntry):
        assert await _count(care, model, patient.id) == 0, model.__name__
    async with care.services.db.session() as session:
        assert (
            await session.execute(select(func.count()).select_from(AlertMessage))
        ).scalar_one() == 0
        # The invitation that enrolled them went too: its label is often a chart number.
        assert (await session.execute(select(func.count()).select_from(Invite))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(Patient))).scalar_one() == 0
    for copy in copies:
        now = care.telegram.message(copy.chat_id, copy.message_id)
        assert now is not None and WORDS not in (now.text or "") and now.buttons() == []
        assert now.text == t("alert_erased", label="AB-1")
    for provider in (DOCTOR, NURSE):
        assert care.telegram.messages(provider)[-1].text == t("patient_left", label="AB-1")


async def test_deleting_with_an_alert_still_open_tells_the_care_team_it_was_open(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care))
    await report(care, user, grades={"stomach": "grade_3"})  # stored, not yet decided

    await care.tap(user, await care.say(user, "/delete"), t("button_delete_yes"))

    expected = (
        t("patient_left", label="AB-1") + "\n\n" + t("patient_left_open", count=1, tiers="urgent")
    )
    for provider in (DOCTOR, NURSE):
        assert care.telegram.messages(provider)[-1].text == expected


# Nothing left behind, anywhere in the database


CHART = "CH-48213"
TYPED = "my neighbour Quentin drove me to the pharmacy"
SOMEONE = 880011223  # the patient's user id, and their private chat's


async def _patient_who_typed(care: Simulation) -> None:
    doctor = care.telegram.user(DOCTOR)
    await care.say(doctor, f"/invite {CHART} 1.5")  # a first link, withdrawn
    assert (await care.say(doctor, f"/revoke {CHART}")).text == t("revoked", label=CHART)
    user = await _patient_with_history(care, SOMEONE, CHART)
    await care.say(user, TYPED)  # words the bot passes on to the care team
    await care.tap(user, await care.say(user, "/delete"), t("button_delete_yes"))


def _every_value(connection: Connection) -> list[tuple[str, object]]:
    metadata = MetaData()
    metadata.reflect(connection)
    return [
        (table.name, value)
        for table in metadata.sorted_tables
        for row in connection.execute(select(table))
        for value in row
    ]


async def test_after_delete_no_table_holds_the_patients_ids_label_or_words(
    care: Simulation,
) -> None:
    await _patient_who_typed(care)

    async with care.services.db.engine.connect() as connection:
        values = await connection.run_sync(_every_value)
    assert values, "the providers' own rows stay"
    left = []
    for table, value in values:
        if isinstance(value, dict | list):
            value = json.dumps(value)
        if value == SOMEONE or (
            isinstance(value, str) and any(w in value for w in (CHART, WORDS, TYPED, "Quentin"))
        ):
            left.append((table, value))
    assert left == []


async def _database_files(care: Simulation) -> dict[str, bytes]:
    """Every byte of the database's files as they are on disk now, by file or relation."""
    db = care.services.db
    if db.url.get_backend_name() == "sqlite":
        path = Path(db.url.database or "")
        files = [path, path.with_name(path.name + "-wal")]
        return {f.name: f.read_bytes() for f in files if f.exists()}
    async with db.engine.connect() as connection:
        await connection.execute(text("CHECKPOINT"))  # what is in memory, written to the files
        relations = await connection.execute(
            text(
                "SELECT relname, pg_read_binary_file(pg_relation_filepath(oid)) FROM pg_class "
                "WHERE relkind IN ('r', 'i', 't') "
                "AND relnamespace IN ('public'::regnamespace, 'pg_toast'::regnamespace)"
            )
        )
        return {name: data or b"" for name, data in relations}


def _holding(files: dict[str, bytes], *secrets: str) -> list[tuple[str, str]]:
    return [(name, s) for name, data in files.items() for s in secrets if s.encode() in data]


def _secure_delete_off(dbapi_connection, _record):  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=OFF")
    cursor.close()


async def test_deleted_words_and_label_are_gone_from_the_database_files(
    care: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    db = care.services.db
    if db.url.get_backend_name() == "sqlite":
        # Debian builds SQLite with secure_delete on, most other builds (Python.org's among them)
        # with it off: start every connection from off, as they do, before the bot's own settings.
        event.listen(db.engine.sync_engine, "connect", _secure_delete_off, insert=True)
        await db.engine.dispose()
    user = await _patient_with_history(care, SOMEONE, CHART)
    await care.say(user, TYPED)
    before = _holding(await _database_files(care), TYPED, CHART)
    assert {s for _, s in before} == {TYPED, CHART}, "the test would prove nothing"

    await care.tap(user, await care.say(user, "/delete"), t("button_delete_yes"))

    assert _holding(await _database_files(care), TYPED, WORDS, CHART) == []
    assert "Could not vacuum" not in caplog.text
