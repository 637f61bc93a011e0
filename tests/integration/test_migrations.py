"""Migrations lose nothing: every earlier schema, filled, goes up to head and back, every row kept.

Generic: the rows are made from the schema reflected at each revision, so a new migration is
tested here without a line written for it. Runs on SQLite, and on PostgreSQL when
TEST_DATABASE_URL is set (each test in a database of its own).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Column, MetaData, Table, func, insert, select
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, make_url

from bot.app.settings import Settings
from bot.rules.plans import BUILTIN_PLANS
from bot.rules.timing import night_cutoff, reminder_at
from devtools.simulation import VirtualClock, migrate, running
from fake_telegram.core import FakeTelegram
from storage.db import ALEMBIC_INI, Database, MigrationError, alembic_config, guarded
from storage.models import Base

ROWS = 4  # rows per table: enough for children to point at different parents
SCRIPTS = ScriptDirectory.from_config(alembic_config())
# Oldest first.
REVISIONS = [script.revision for script in reversed(list(SCRIPTS.walk_revisions()))]
# The values a column of a closed vocabulary may hold (a status, a kind...), as the models
# declare them: the rows use those, whatever the revision, for the way up to head.
VOCABULARIES: dict[tuple[str, str], tuple[str, ...]] = {
    (table.name, constraint.info["column"]): constraint.info["values"]
    for table in Base.metadata.tables.values()
    for constraint in table.constraints
    if isinstance(constraint, CheckConstraint) and "values" in constraint.info
}


# Rows made from the reflected schema


def _value(column: Column[Any], i: int, made: dict[str, list[dict[str, Any]]]) -> object:
    """Row `i`'s value for `column`: a parent's key, a word it allows, or a value unique to it."""
    for key in column.foreign_keys:
        parents = made[key.column.table.name]
        return parents[(i - 1) % len(parents)][key.column.name]
    allowed = VOCABULARIES.get((column.table.name, column.name))
    if allowed:
        return allowed[i % len(allowed)]
    kind = column.type
    if isinstance(kind, sqltypes.Boolean):
        return i % 2 == 0
    if isinstance(kind, sqltypes.Integer):
        return i
    if isinstance(kind, sqltypes.Numeric):
        return Decimal(i) / 2
    if isinstance(kind, sqltypes.DateTime):
        moment = datetime(2026, 1, 1, 20, 30, tzinfo=UTC) + timedelta(days=i)
        return moment if kind.timezone else moment.replace(tzinfo=None)
    if isinstance(kind, sqltypes.Date):
        return date(2026, 1, 1) + timedelta(days=i)
    if isinstance(kind, sqltypes.Time):
        return time(20, i % 60)
    if isinstance(kind, sqltypes.JSON):
        return {"row": i}
    if isinstance(kind, sqltypes.String):
        return f"{column.name}-{i}"[: kind.length or None]
    raise AssertionError(f"no test value for {column.table.name}.{column.name} ({kind!r})")


def _fill(connection: Connection) -> dict[str, int]:
    """Put ROWS rows in every table, parents first, each child pointing at a parent."""
    metadata = MetaData()
    metadata.reflect(connection)
    made: dict[str, list[dict[str, Any]]] = {}
    for table in metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        rows = [
            {column.name: _value(column, i, made) for column in table.columns}
            for i in range(1, ROWS + 1)
        ]
        connection.execute(insert(table), rows)
        made[table.name] = rows
    return {name: len(rows) for name, rows in made.items()}


def _counts(connection: Connection) -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(connection)
    return {
        table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
        for table in metadata.sorted_tables
        if table.name != "alembic_version"
    }


async def _run(db: Database, work: Any) -> Any:
    async with db.engine.begin() as connection:
        return await connection.run_sync(work)


@pytest.mark.parametrize("revision", REVISIONS[:-1])
async def test_every_row_survives_an_upgrade_to_head_and_the_way_back(
    empty_url: str, revision: str
) -> None:
    db = Database(empty_url)
    try:
        await db.migrate(revision)
        filled = await _run(db, _fill)
        assert filled and all(count == ROWS for count in filled.values())

        await db.migrate()
        after = await _run(db, _counts)
        assert {name: after.get(name) for name in filled} == filled, "lost on the way up"

        steps = [s.revision for s in SCRIPTS.walk_revisions(revision, "heads")]  # head first
        for step in steps[1:]:
            await db.downgrade(step)
            now = await _run(db, _counts)
            kept = {name: now[name] for name in filled if name in now}
            assert kept == {name: filled[name] for name in kept}, f"lost going down to {step}"
        assert await _run(db, _counts) == filled
    finally:
        await db.dispose()


# The guard itself


async def test_a_migration_that_would_orphan_rows_is_refused_and_rolled_back(
    empty_url: str,
) -> None:
    if make_url(empty_url).get_backend_name() != "sqlite":
        pytest.skip("on PostgreSQL the server enforces every foreign key as it goes")
    db = Database(empty_url)
    try:
        await db.migrate("0001")
        before = await _run(db, _fill)

        def orphaning(connection: Connection) -> None:
            connection.exec_driver_sql("ALTER TABLE patients ADD COLUMN note TEXT")
            connection.exec_driver_sql("DELETE FROM patients")

        with pytest.raises(MigrationError, match="doses, plan_holds"):
            async with db.engine.connect() as connection:
                await connection.run_sync(guarded, orphaning)
        assert await _run(db, _counts) == before
        columns = await _run(db, lambda c: Table("patients", MetaData(), autoload_with=c).c)
        assert "note" not in columns
        # Foreign keys are back on for everyone else afterwards.
        async with db.engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await db.dispose()


async def test_a_migration_may_not_cascade(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        await db.migrate()

        def cascading(connection: Connection) -> None:
            connection.exec_driver_sql("DROP TABLE patients CASCADE")

        with pytest.raises(MigrationError, match="may not cascade"):
            async with db.engine.connect() as connection:
                await connection.run_sync(guarded, cascading)
        assert "patients" in await _run(db, _counts)
    finally:
        await db.dispose()


# The finding as it was seen: the first release's database, opened by today's bot


FIRST_NIGHT = date(2026, 2, 25)
TONIGHT = date(2026, 3, 4)
NEW_YORK = ZoneInfo("America/New_York")
BEDTIME = time(22, 0)
HELD_AT = datetime(2026, 3, 2, 15, tzinfo=UTC)


def _first_release_patients(connection: Connection) -> None:
    """Three patients of release 0001, a week into the 1.5 mg plan, with a held increase each."""
    metadata = MetaData()
    metadata.reflect(connection)
    patients, doses, holds = (metadata.tables[n] for n in ("patients", "doses", "plan_holds"))
    plan = BUILTIN_PLANS["builtin-1.5"]
    for user_id in (701, 702, 703):
        patient_id = connection.execute(
            insert(patients).returning(patients.c.id),
            {
                "telegram_user_id": user_id,
                "chat_id": user_id,
                "enrolled_at": datetime(2026, 2, 24, 18, tzinfo=UTC),
                "consent_at": datetime(2026, 2, 24, 18, tzinfo=UTC),
                "plan": plan.to_dict(),
                "start_date": FIRST_NIGHT,
                "bedtime": BEDTIME,
                "timezone": "America/New_York",
                "reminders_paused": False,
                "blocked_bot": False,
                "created_at": datetime(2026, 2, 24, 18, tzinfo=UTC),
            },
        ).scalar_one()
        night = FIRST_NIGHT
        while night <= TONIGHT:
            remind = reminder_at(night, BEDTIME, NEW_YORK)
            past = night < TONIGHT
            connection.execute(
                insert(doses),
                {
                    "patient_id": patient_id,
                    "night": night,
                    "step": 1,
                    "dose_mg": Decimal("1.5"),
                    "capsule_mg": Decimal("1.5"),
                    "capsules": 1,
                    "step_up": night == FIRST_NIGHT,
                    "status": "taken" if past else "scheduled",
                    "remind_at": remind,
                    "cutoff_at": night_cutoff(night, BEDTIME, NEW_YORK, 4),
                    "next_action_at": None if past else remind,
                    "sent_at": remind if past else None,
                    "sent_late": False,
                    "snoozes": 0,
                    "attempts": 0,
                    "answered_at": remind + timedelta(minutes=5) if past else None,
                },
            )
            night += timedelta(days=1)
        connection.execute(
            insert(holds),
            {"patient_id": patient_id, "start": date(2026, 3, 2), "created_at": HELD_AT},
        )


async def test_a_first_release_database_keeps_every_night_and_hold_and_its_patients_reminded(
    empty_url: str, settings: Settings, clock: VirtualClock
) -> None:
    old = Database(empty_url)
    await old.migrate("0001")
    await _run(old, _first_release_patients)
    before = await _run(old, _counts)
    await old.dispose()
    assert before == {"patients": 3, "doses": 24, "plan_holds": 3}

    telegram = FakeTelegram(clock=clock.now)
    users = [telegram.user(user_id) for user_id in (701, 702, 703)]
    for user in users:
        user.send("/start")  # they wrote to the bot under the first release
    telegram.take_updates()
    today = settings.model_copy(update={"database_url": empty_url})
    await migrate(empty_url)  # as `ldn-bot migrate` does before the bot is started again
    async with running(today, clock, telegram) as bot:
        after = await _run(bot.services.db, _counts)
        assert (after["patients"], after["doses"], after["plan_holds"]) == (3, 24, 3)
        await bot.run_until(datetime.combine(TONIGHT, time(22, 5), NEW_YORK))
        reminded = [user.id for user in users if bot.reminders_to(user)]
    assert reminded == [701, 702, 703]
    assert telegram.client_errors() == []


# By hand: storage/alembic.ini


def _alembic(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    # From an empty folder, with the bot's own DATABASE_URL in the environment, as an admin would.
    return subprocess.run(
        [str(Path(sys.executable).with_name("alembic")), "-c", str(ALEMBIC_INI), *args],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _sqlite(path: Path, statement: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as connection, connection:
        return connection.execute(statement).fetchall()


def test_an_admin_upgrades_and_downgrades_by_hand_under_the_same_guard(tmp_path: Path) -> None:
    path = tmp_path / "by-hand.sqlite3"
    url = f"sqlite:///{path}"
    assert _alembic(tmp_path, url, "upgrade", "0001").returncode == 0
    _sqlite(path, "INSERT INTO patients VALUES (1, 7, 7, NULL, NULL, NULL, NULL, NULL, NULL, "
                  "NULL, 0, 0, '2026-01-01 00:00:00')")  # fmt: skip
    _sqlite(path, "INSERT INTO plan_holds VALUES (1, 1, '2026-01-02', NULL, '2026-01-01')")

    done = _alembic(tmp_path, url, "upgrade", "head")
    assert done.returncode == 0, done.stderr
    assert _sqlite(path, "SELECT version_num FROM alembic_version") == [(REVISIONS[-1],)]
    assert _sqlite(path, "SELECT patient_id FROM plan_holds") == [(1,)]

    done = _alembic(tmp_path, url, "downgrade", "base")
    assert done.returncode == 0, done.stderr
    tables = _sqlite(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    assert tables == [("alembic_version",)]
