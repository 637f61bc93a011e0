"""Storage on a real database: migrations, constraints, claims, UTC and the dispatcher's index.

Runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, delete, event, func, insert, inspect, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, StatementError

from bot.rules.states import Awaiting, DoseStatus
from storage import db as storage_db
from storage.db import DATABASE_DOWN, MIGRATIONS, Database
from storage.models import Base, Dose, Patient, PlanHold
from storage.repositories import Repository
from storage.repositories.nights import Sent

NOW = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
NIGHT = date(2026, 3, 4)
TABLES = {
    "patients",
    "plan_holds",
    "doses",
    "invites",
    "reports",
    "escalations",
    "alert_messages",
    "audit",
    "updates",
    "care_team",
    "admin_notices",
    "digests",
    "alembic_version",
}


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _dose(
    patient_id: int, night: date = NIGHT, status: str = "scheduled", **values: object
) -> Dose:
    remind = datetime.combine(night, datetime.min.time(), UTC) + timedelta(hours=27)
    fields: dict[str, object] = {
        "patient_id": patient_id,
        "night": night,
        "step": 1,
        "dose_mg": Decimal("1.5"),
        "capsule_mg": Decimal("1.5"),
        "capsules": 1,
        "step_up": False,
        "status": status,
        "remind_at": remind,
        "cutoff_at": remind + timedelta(hours=4),
        "next_action_at": remind if status == "scheduled" else None,
        "sent_late": False,
        "snoozes": 0,
        "attempts": 0,
    }
    fields.update(values)
    return Dose(**fields)


async def _patient(db: Database, user_id: int = 1001) -> int:
    async with db.session() as session:
        repo = Repository(session)
        patient = await repo.patients.add(user_id, user_id, NOW)
        await repo.commit()
        return patient.id


async def _statuses(db: Database, patient_id: int) -> dict[date, str]:
    async with db.session() as session:
        rows = await session.execute(
            select(Dose.night, Dose.status).where(Dose.patient_id == patient_id)
        )
        return dict(rows.tuples().all())


# Migrations


def _tables_and_version(connection: Connection) -> tuple[set[str], list[str]]:
    tables = set(inspect(connection).get_table_names())
    rows = connection.execute(text("SELECT version_num FROM alembic_version"))
    versions = [row[0] for row in rows]
    return tables, versions


async def test_migrations_apply_on_an_empty_database_and_again_idempotently(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        await db.migrate()
        async with db.engine.connect() as connection:
            tables, versions = await connection.run_sync(_tables_and_version)
        assert tables == TABLES
        assert versions == [_head()]

        patient_id = await _patient(db)
        await db.migrate()
        async with db.engine.connect() as connection:
            tables, versions = await connection.run_sync(_tables_and_version)
        assert tables == TABLES
        assert versions == [_head()]
        async with db.session() as session:
            assert await Repository(session).patients.get(patient_id) is not None
    finally:
        await db.dispose()


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_alembic_head_matches_the_models(db: Database) -> None:
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


# Constraints


async def test_a_second_row_for_the_same_night_is_refused_and_the_first_kept(db: Database) -> None:
    patient_id = await _patient(db)
    async with db.session() as session:
        repo = Repository(session)
        assert await repo.nights.add(_dose(patient_id, step=1)) is True
        assert await repo.nights.add(_dose(patient_id, step=2, dose_mg=Decimal("3.0"))) is False
        # The refused insert rolled back only its savepoint: the session still works.
        assert await repo.nights.add(_dose(patient_id, NIGHT + timedelta(days=1))) is True
        await repo.commit()
    async with db.session() as session:
        first = await Repository(session).nights.on(patient_id, NIGHT)
        count = await session.scalar(select(func.count()).select_from(Dose))
    assert first is not None
    assert (first.step, first.dose_mg, first.status) == (1, Decimal("1.5"), "scheduled")
    assert count == 2


async def test_a_second_row_for_the_same_night_from_another_session_is_refused(
    db: Database,
) -> None:
    patient_id = await _patient(db)
    async with db.session() as first, db.session() as second:
        assert await Repository(first).nights.add(_dose(patient_id, step=1)) is True
        await first.commit()
        assert await Repository(second).nights.add(_dose(patient_id, step=2)) is False
        await second.commit()
    async with db.session() as session:
        first_row = await Repository(session).nights.on(patient_id, NIGHT)
    assert first_row is not None and first_row.step == 1


def _checks(connection: Connection) -> dict[str, set[str]]:
    """Every CHECK constraint of the database: its name, and the words it allows."""
    reflected = inspect(connection)
    return {
        check["name"]: set(re.findall(r"'([^']*)'", check["sqltext"]))
        for table in reflected.get_table_names()
        for check in reflected.get_check_constraints(table)
    }


async def test_every_closed_vocabulary_is_checked_by_the_database_as_the_models_say(
    db: Database,
) -> None:
    declared = {
        constraint.name: set(constraint.info["values"])
        for table in Base.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }
    async with db.engine.connect() as connection:
        checks = await connection.run_sync(_checks)
    assert checks == declared
    assert declared["ck_doses_status"] == set(DoseStatus)
    assert declared["ck_patients_awaiting"] == set(Awaiting)
    assert len(declared) == 11


async def test_a_status_outside_its_vocabulary_is_refused_by_the_database(db: Database) -> None:
    patient_id = await _patient(db)
    async with db.session() as session:
        await Repository(session).nights.add(_dose(patient_id))
        await session.commit()
    # Core statements with the column's plain string type: only the database can refuse them.
    doses = Dose.__table__
    bad_status = doses.update().values(status=text("'lost'"))
    bad_step = Patient.__table__.update().values(awaiting=text("'nap'"))
    for statement in (bad_status, bad_step):
        async with db.session() as session:
            with pytest.raises(IntegrityError, match=r"(?i)check"):
                await session.execute(statement)
    async with db.session() as session:
        with pytest.raises(IntegrityError, match=r"(?i)check"):
            await session.execute(
                text(
                    "INSERT INTO plan_holds (patient_id, start, created_at, kind) "
                    "VALUES (:p, :start, :at, 'nap')"
                ),
                {"p": patient_id, "start": NIGHT, "at": NOW},
            )
    # What the bot writes is kept, and read back as the enum's member.
    async with db.session() as session:
        await session.execute(update(Dose).values(status=DoseStatus.MISSED))
        await session.commit()
    async with db.session() as session:
        status = await session.scalar(select(Dose.status))
    assert status is DoseStatus.MISSED
    assert await _statuses(db, patient_id) == {NIGHT: "missed"}


async def test_deleting_a_patient_removes_their_doses_and_holds(db: Database) -> None:
    keep = await _patient(db, 1)
    gone = await _patient(db, 2)
    async with db.session() as session:
        repo = Repository(session)
        for patient_id in (keep, gone):
            await repo.nights.add(_dose(patient_id))
            patient = await repo.patients.get(patient_id)
            assert patient is not None
            await repo.patients.add_hold(patient, NIGHT, NOW)
        await repo.commit()
    async with db.session() as session:
        # Core delete: the database's ON DELETE CASCADE does the work, not the ORM.
        await session.execute(delete(Patient).where(Patient.id == gone))
        await session.commit()
    async with db.session() as session:
        doses = (await session.execute(select(Dose.patient_id))).scalars().all()
        holds = (await session.execute(select(PlanHold.patient_id))).scalars().all()
    assert doses == [keep]
    assert holds == [keep]


# Claims


async def test_claim_moves_a_row_only_from_the_expected_status(db: Database) -> None:
    patient_id = await _patient(db)
    async with db.session() as session:
        repo = Repository(session)
        await repo.nights.add(dose := _dose(patient_id))
        await repo.commit()
        assert await repo.claim(Dose, dose.id, {"status": "sent"}, status="taken") is False
        assert await repo.claim(Dose, dose.id, {"status": "scheduled"}, status="sending") is True
        assert await repo.claim(Dose, dose.id, {"status": "scheduled"}, status="sending") is False
        await repo.commit()
    assert await _statuses(db, patient_id) == {NIGHT: "sending"}


async def test_claim_from_concurrent_sessions_has_exactly_one_winner(db: Database) -> None:
    patient_id = await _patient(db)
    async with db.session() as session:
        await Repository(session).nights.add(dose := _dose(patient_id))
        await session.commit()

    async def claim(message_id: int) -> bool:
        async with db.session() as session:
            repo = Repository(session)
            won = await repo.claim(
                Dose,
                dose.id,
                {"status": "scheduled"},
                status="sent",
                reminder_message_id=message_id,
            )
            await repo.commit()
            return won

    results = await asyncio.gather(*(claim(n) for n in range(1, 5)))
    assert sorted(results) == [False, False, False, True]
    async with db.session() as session:
        row = await Repository(session).nights.get(dose.id)
    assert row is not None and row.status == "sent"
    assert row.reminder_message_id == results.index(True) + 1


async def test_record_sent_records_each_row_its_own_values_and_only_rows_still_sending(
    db: Database,
) -> None:
    """Reminders out recorded together (a group commit): one statement, each row its own."""
    first, second, third, fourth = [await _patient(db, 1001 + n) for n in range(4)]
    async with db.session() as session:
        repo = Repository(session)
        at = NOW - timedelta(minutes=20)
        mine = _dose(first, status="sending", reminder_message_id=7, attempts=1)
        snoozed = _dose(second, status="sending", sent_at=at, sent_late=True)
        taken_over = _dose(third, status="taken")
        on_time = _dose(fourth, status="sending", attempts=3)
        for dose in (mine, snoozed, taken_over, on_time):
            await repo.nights.add(dose)
        await repo.commit()
        later = NOW + timedelta(minutes=30)
        recorded = await repo.nights.record_sent(
            [
                Sent(mine.id, NOW, later, message_id=None, late=True),
                Sent(snoozed.id, at, later + timedelta(hours=1), message_id=12, late=False),
                Sent(taken_over.id, NOW, later, message_id=13, late=False),
                Sent(on_time.id, NOW, later, message_id=14, late=False),
            ]
        )
        await repo.commit()
    assert recorded == {mine.id, snoozed.id, on_time.id}
    async with db.session() as session:
        ids = [mine.id, snoozed.id, taken_over.id, on_time.id]
        rows = {d.id: d for d in await Repository(session).nights.many(ids)}
    # Failed tries start again from zero once a reminder is out.
    assert [rows[mine.id].attempts, rows[snoozed.id].attempts, rows[on_time.id].attempts] == [0] * 3
    # One on time is not late.
    assert (rows[on_time.id].reminder_message_id, rows[on_time.id].sent_late) == (14, False)
    # A send that may have arrived (no message id) keeps the id on record; a late one is late.
    assert (rows[mine.id].status, rows[mine.id].sent_at, rows[mine.id].next_action_at) == (
        "sent",
        NOW,
        later,
    )
    assert (rows[mine.id].reminder_message_id, rows[mine.id].sent_late) == (7, True)
    # A snoozed night keeps its first sending and its lateness, and gets its new message.
    assert (rows[snoozed.id].sent_at, rows[snoozed.id].next_action_at) == (
        at,
        later + timedelta(hours=1),
    )
    assert (rows[snoozed.id].reminder_message_id, rows[snoozed.id].sent_late) == (12, True)
    # A row no longer "sending" is left as it is.
    assert (rows[taken_over.id].status, rows[taken_over.id].reminder_message_id) == ("taken", None)


# The holds `_hold_twice` gives a patient, in order of start: one closed, one open.
HELD = [(NIGHT - timedelta(days=3), NIGHT), (NIGHT + timedelta(days=2), None)]


async def _hold_twice(repo: Repository, patient_id: int) -> None:
    """Give the patient the holds of HELD, the open one first: reads must order them."""
    patient = await repo.patients.get(patient_id)
    assert patient is not None
    for start, end in reversed(HELD):
        await repo.patients.add_hold(patient, start, NOW, end=end)


async def test_for_planning_many_reads_each_patient_as_for_planning_reads_one(
    db: Database,
) -> None:
    held, quiet, planned = [await _patient(db, 2001 + n) for n in range(3)]
    async with db.session() as session:
        repo = Repository(session)
        await _hold_twice(repo, held)
        await repo.nights.add(_dose(held, NIGHT - timedelta(days=1), status="taken"))
        await repo.nights.add(_dose(held, NIGHT, status="sent"))
        await repo.nights.add(_dose(planned, NIGHT))
        await repo.commit()
    async with db.session() as session:
        nights = Repository(session).nights
        many = await nights.for_planning_many([held, quiet, planned, 999_999])
        one = {p: await nights.for_planning(p) for p in (held, quiet, planned)}
    assert set(many) == {held, quiet, planned}  # a patient not found is left out

    def seen(read: tuple[Patient, Dose | None, bool] | None) -> object:
        assert read is not None
        patient, newest, unsent = read
        holds = [(h.start, h.end, h.kind) for h in patient.holds]
        night = None if newest is None else (newest.night, newest.status)
        return patient.id, patient.telegram_user_id, holds, night, unsent

    assert (
        seen(many[held])
        == seen(one[held])
        == (
            held,
            2001,
            [(NIGHT - timedelta(days=3), NIGHT, "hold"), (NIGHT + timedelta(days=2), None, "hold")],
            (NIGHT, "sent"),
            False,
        )
    )
    assert seen(many[quiet]) == seen(one[quiet]) == (quiet, 2002, [], None, False)
    assert (
        seen(many[planned])
        == seen(one[planned])
        == (
            planned,
            2003,
            [],
            (NIGHT, "scheduled"),
            True,
        )
    )


async def test_plan_many_inserts_every_night_once_and_leaves_one_planned_first(
    db: Database,
) -> None:
    patients = [await _patient(db, 3001 + n) for n in range(4)]
    async with db.session() as session:
        repo = Repository(session)
        await repo.nights.add(_dose(patients[0], step=2))  # planned first, by another worker
        await repo.commit()
        await repo.nights.plan_many([_dose(p, step=1) for p in patients])
        await repo.nights.plan_many([_dose(patients[1], NIGHT + timedelta(days=1))])
        await repo.commit()
    async with db.session() as session:
        rows = await session.execute(select(Dose.patient_id, Dose.night, Dose.step))
        assert sorted(rows.tuples().all()) == [
            (patients[0], NIGHT, 2),
            (patients[1], NIGHT, 1),
            (patients[1], NIGHT + timedelta(days=1), 1),
            (patients[2], NIGHT, 1),
            (patients[3], NIGHT, 1),
        ]


async def test_many_reads_each_night_with_its_patient_and_their_holds_in_order(
    db: Database,
) -> None:
    """The dispatcher's read of a batch of reminders: one statement, rows apart from the session."""
    held, plain = [await _patient(db, 4001 + n) for n in range(2)]
    async with db.session() as session:
        repo = Repository(session)
        await _hold_twice(repo, held)
        doses = [
            _dose(held, NIGHT - timedelta(days=1), status="taken"),
            _dose(held, NIGHT, status="sending"),
            _dose(plain, NIGHT, status="sending"),
            _dose(plain, NIGHT + timedelta(days=1)),
        ]
        for dose in doses:
            await repo.nights.add(dose)
        await repo.commit()
        ids = [dose.id for dose in doses]
    async with db.session() as session:
        nights = Repository(session).nights
        read = {dose.id: dose for dose in await nights.many(ids[:3] + [999_999])}
        taken = await nights.latest_before_each(ids, ("taken",))
        before = await nights.latest_before_each(ids)
    assert sorted(read) == ids[:3]
    seen = {
        dose_id: (
            dose.night,
            dose.status,
            dose.patient.telegram_user_id,
            [(h.start, h.end) for h in dose.patient.holds],
        )
        for dose_id, dose in read.items()
    }
    assert seen == {
        ids[0]: (NIGHT - timedelta(days=1), "taken", 4001, HELD),
        ids[1]: (NIGHT, "sending", 4001, HELD),
        ids[2]: (NIGHT, "sending", 4002, []),
    }
    assert read[ids[0]].patient is read[ids[1]].patient  # one patient, read once
    assert {i: d.id for i, d in taken.items()} == {ids[1]: ids[0]}
    assert {i: d.id for i, d in before.items()} == {ids[1]: ids[0], ids[3]: ids[2]}


UNFOLLOWED = {"status": "sent", "followup_sent_at": None}


async def test_claim_followup_happens_once(db: Database) -> None:
    patient_id = await _patient(db)
    async with db.session() as session:
        repo = Repository(session)
        await repo.nights.add(dose := _dose(patient_id, status="sent"))
        assert await repo.claim(Dose, dose.id, UNFOLLOWED, followup_sent_at=NOW) is True
        assert await repo.claim(Dose, dose.id, UNFOLLOWED, followup_sent_at=NOW) is False
        await repo.commit()


# The dispatcher's queries


async def test_due_dose_ids_returns_due_rows_oldest_first_within_the_limit(db: Database) -> None:
    patient_id = await _patient(db)
    offsets = {0: -30, 1: 0, 2: -90, 3: 1, 4: -5, 5: None}  # minutes from NOW; None: nothing due
    async with db.session() as session:
        repo = Repository(session)
        ids = {}
        for day, minutes in offsets.items():
            due = None if minutes is None else NOW + timedelta(minutes=minutes)
            row = _dose(patient_id, NIGHT + timedelta(days=day), next_action_at=due)
            await repo.nights.add(row)
            ids[day] = row.id
        await repo.commit()
        assert await repo.nights.due_ids(NOW, 10) == [ids[2], ids[0], ids[4], ids[1]]
        assert await repo.nights.due_ids(NOW, 2) == [ids[2], ids[0]]
        assert await repo.nights.due_ids(NOW - timedelta(hours=2), 10) == []
        # Another zone, same instant: the answer does not change.
        assert await repo.nights.due_ids(NOW.astimezone(ZoneInfo("Asia/Tokyo")), 10) == [
            ids[2],
            ids[0],
            ids[4],
            ids[1],
        ]


async def test_next_due_at_is_the_earliest_pending_moment(db: Database) -> None:
    patient_id = await _patient(db)
    async with db.session() as session:
        repo = Repository(session)
        assert await repo.next_due_at() is None
        await repo.nights.add(_dose(patient_id, NIGHT, status="taken"))
        assert await repo.next_due_at() is None
        for day, hours in ((1, 3), (2, 1)):
            due = NOW + timedelta(hours=hours)
            await repo.nights.add(
                _dose(patient_id, NIGHT + timedelta(days=day), next_action_at=due)
            )
        await repo.commit()
        earliest = await repo.next_due_at()
    assert earliest == NOW + timedelta(hours=1)
    assert earliest is not None and earliest.utcoffset() == timedelta(0)


async def test_forget_unsent_drops_only_this_patients_scheduled_rows(db: Database) -> None:
    patient_id = await _patient(db, 1)
    other_id = await _patient(db, 2)
    statuses = [
        "scheduled",
        "sending",
        "sent",
        "snoozed",
        "taken",
        "skipped",
        "missed",
        "scheduled",
    ]
    async with db.session() as session:
        repo = Repository(session)
        for day, status in enumerate(statuses):
            await repo.nights.add(_dose(patient_id, NIGHT + timedelta(days=day), status=status))
        await repo.nights.add(_dose(other_id))
        await repo.forget_unsent(patient_id)
        await repo.commit()
    left = await _statuses(db, patient_id)
    assert sorted(left.values()) == sorted(s for s in statuses if s != "scheduled")
    assert await _statuses(db, other_id) == {NIGHT: "scheduled"}


# UTC


async def test_an_aware_datetime_comes_back_aware_utc_and_equal(db: Database) -> None:
    written = datetime(2026, 7, 1, 22, 15, 30, 123456, tzinfo=ZoneInfo("America/New_York"))
    async with db.session() as session:
        repo = Repository(session)
        patient = await repo.patients.add(7, 7, written)
        await repo.nights.add(_dose(patient.id, remind_at=written, next_action_at=written))
        await repo.commit()
    async with db.session() as session:
        repo = Repository(session)
        patient = await repo.patients.by_user(7)
        assert patient is not None
        dose = await repo.nights.on(patient.id, NIGHT)
        assert dose is not None
        raw = await session.scalar(select(Dose.next_action_at))
    for value in (patient.created_at, dose.remind_at, dose.next_action_at, raw):
        assert value is not None
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
        assert value == written
    assert dose.remind_at.hour == 2  # 22:15 in New York in July is 02:15 UTC


async def test_a_naive_datetime_is_refused(db: Database) -> None:
    async with db.session() as session:
        repo = Repository(session)
        with pytest.raises(StatementError) as error:
            await repo.patients.add(8, 8, datetime(2026, 3, 4, 17, 0))
        assert isinstance(error.value.orig, ValueError)
        assert "naive" in str(error.value.orig)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Patient)) == 0


# The dispatcher's index


async def _fill_for_plans(db: Database) -> None:
    """Many finished rows (no next action) and a few due ones, as a running clinic has."""
    patients = [
        {
            "telegram_user_id": n,
            "chat_id": n,
            "created_at": NOW,
            "reminders_paused": False,
            "blocked_bot": False,
        }
        for n in range(1, 201)
    ]
    template = _dose(0)
    columns = {c.key: getattr(template, c.key) for c in Dose.__table__.columns if c.key != "id"}
    doses = [
        columns
        | {
            "patient_id": p,
            "night": NIGHT - timedelta(days=d),
            "status": "taken",
            "next_action_at": NOW - timedelta(minutes=p) if d == 0 and p % 20 == 0 else None,
        }
        for p in range(1, 201)
        for d in range(30)
    ]
    async with db.engine.begin() as connection:
        await connection.execute(insert(Patient), patients)
        await connection.execute(insert(Dose.__table__), doses)
        await connection.execute(text("ANALYZE"))


async def _plan_of_due_query(db: Database) -> str:
    """Run the repository's own query once, then ask the database how it ran it."""
    captured: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with db.session() as session:
            assert len(await Repository(session).nights.due_ids(NOW, 500)) == 10
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    ((statement, parameters),) = [c for c in captured if "next_action_at" in c[0]]
    postgres = db.url.get_backend_name() == "postgresql"
    explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    async with db.engine.connect() as connection:
        rows = await connection.exec_driver_sql(explain + statement, parameters)  # type: ignore[arg-type]
        return "\n".join(str(row[-1]) for row in rows)


async def test_the_due_query_uses_ix_doses_next_action_at(db: Database) -> None:
    await _fill_for_plans(db)
    plan = await _plan_of_due_query(db)
    if db.url.get_backend_name() == "postgresql":
        used = r"(Index Scan using|Index Only Scan using|Bitmap Index Scan on) "
        used += "ix_doses_next_action_at"
        assert re.search(used, plan), plan
        assert "Seq Scan" not in plan, plan
    else:
        used = r"SEARCH doses USING (COVERING )?INDEX ix_doses_next_action_at"
        assert re.search(used, plan), plan
        assert "TEMP B-TREE" not in plan, plan


async def test_a_busy_round_reuses_its_connections_rather_than_opening_new_ones(
    db: Database,
) -> None:
    """As many sessions at once as the dispatcher and the intake run, twice: the second time opens
    no connection, and none is closed between (on PostgreSQL; SQLite has one file, no pool)."""
    if db.url.get_backend_name() != "postgresql":
        pytest.skip("a pool of server connections is PostgreSQL's")
    opened = 0

    def count(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(db.engine.sync_engine, "connect", count)

    async def busy() -> None:
        async with db.session() as session:
            await session.execute(text("SELECT pg_sleep(0.05)"))

    await asyncio.gather(*(busy() for _ in range(16)))
    first = opened
    await asyncio.gather(*(busy() for _ in range(16)))
    assert first > 0
    assert opened == first


async def _kill_pooled_connection(db: Database) -> None:
    """Use one connection, hand it back, then have the server end it (as a restart would)."""
    async with db.session() as session:
        pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    killer = Database(db.url.render_as_string(hide_password=False))
    async with killer.session() as session:
        await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await killer.dispose()
    await asyncio.sleep(0.1)  # the server closes the socket


async def test_a_pooled_connection_that_died_while_idle_is_replaced_unseen(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle PING_IDLE_SECONDS or more, a connection is checked first: the work never sees it."""
    if db.url.get_backend_name() != "postgresql":
        pytest.skip("a pool of server connections is PostgreSQL's")
    monkeypatch.setattr(storage_db, "PING_IDLE_SECONDS", 0.0)
    await _kill_pooled_connection(db)
    async with db.session() as session:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1


async def test_a_connection_in_steady_use_that_died_fails_once_as_the_database_down(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not checked (it was in use a moment ago): its statement fails as DATABASE_DOWN, which
    every caller keeps and tries again, and the next session gets a new connection."""
    if db.url.get_backend_name() != "postgresql":
        pytest.skip("a pool of server connections is PostgreSQL's")
    monkeypatch.setattr(storage_db, "PING_IDLE_SECONDS", 3600.0)
    await _kill_pooled_connection(db)
    with pytest.raises(DATABASE_DOWN):
        async with db.session() as session:
            await session.execute(text("SELECT 1"))
    async with db.session() as session:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
