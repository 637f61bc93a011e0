"""Time the dispatcher's query and its per-row work on a clinic-sized database.

    python -m bench.dispatcher --patients 10000 [--database-url postgresql://...]

Always runs on a fresh SQLite file; also on PostgreSQL when given its URL, inside a schema of its
own (`ldn_bench`, dropped at the end) so that nothing else in that database is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event, insert, text

from bench.harness import FixedClock, StubNotifier
from bot.app.application import build_services
from bot.app.settings import Settings
from bot.rules.plans import BUILTIN_PLANS
from storage.db import Database
from storage.models import Dose, Patient
from storage.repositories import Repository

SCHEMA = "ldn_bench"
INDEX = "ix_doses_next_action_at"
PAST_NIGHTS = 30
CHUNK = 20_000


@dataclass
class Result:
    backend: str
    dose_rows: int
    due_rows: int
    setup_s: float
    query_ms: float
    query_noindex_ms: float
    plan: str
    dispatched: int
    dispatch_s: float
    dispatch_cpu_s: float
    statements: int


async def fresh_database(url: str) -> Database:
    db = Database(url)
    if db.url.get_backend_name() == "postgresql":

        @event.listens_for(db.engine.sync_engine, "connect")
        def _search_path(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute(f"SET search_path TO {SCHEMA}")
            cursor.close()

        async with db.engine.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            await connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    await db.migrate()
    return db


async def fill(db: Database, patients: int, due_fraction: float, now: datetime) -> tuple[int, int]:
    """Each patient: PAST_NIGHTS finished nights and tonight's scheduled row, some due now."""
    rng = random.Random(42)
    plan = BUILTIN_PLANS["builtin-1.5"].to_dict()
    today = now.date()
    base = {
        "step": 3,
        "dose_mg": Decimal("4.5"),
        "capsule_mg": Decimal("1.5"),
        "capsules": 3,
        "step_up": False,
        "sent_late": False,
        "snoozes": 0,
        "attempts": 0,
    }
    due = 0
    rows: list[dict[str, object]] = []
    async with db.engine.begin() as connection:
        await connection.execute(
            insert(Patient),
            [
                {
                    "id": p,
                    "telegram_user_id": 10_000_000 + p,
                    "chat_id": 10_000_000 + p,
                    "enrolled_at": now - timedelta(days=60),
                    "consent_at": now - timedelta(days=60),
                    "plan": plan,
                    "start_date": today - timedelta(days=40),
                    "bedtime": clock_time(22, 0),
                    "timezone": "UTC",
                    "reminders_paused": False,
                    "blocked_bot": False,
                    "created_at": now - timedelta(days=60),
                }
                for p in range(1, patients + 1)
            ],
        )
        for p in range(1, patients + 1):
            for back in range(PAST_NIGHTS, 0, -1):
                remind = now - timedelta(days=back, minutes=rng.randint(0, 600))
                rows.append(
                    base
                    | {
                        "patient_id": p,
                        "night": today - timedelta(days=back),
                        "status": "taken",
                        "remind_at": remind,
                        "cutoff_at": remind + timedelta(hours=4),
                        "next_action_at": None,
                        "sent_at": remind,
                        "answered_at": remind,
                    }
                )
            if rng.random() < due_fraction:
                due += 1
                remind = now - timedelta(minutes=rng.randint(1, 9))
            else:
                remind = now + timedelta(minutes=rng.randint(1, 23 * 60))
            rows.append(
                base
                | {
                    "patient_id": p,
                    "night": today,
                    "status": "scheduled",
                    "remind_at": remind,
                    "cutoff_at": remind + timedelta(hours=4),
                    "next_action_at": remind,
                    "sent_at": None,
                    "answered_at": None,
                }
            )
            if len(rows) >= CHUNK:
                await connection.execute(insert(Dose.__table__), rows)
                rows.clear()
        if rows:
            await connection.execute(insert(Dose.__table__), rows)
        if db.url.get_backend_name() == "postgresql":
            await connection.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('patients', 'id'), "
                    "(SELECT max(id) FROM patients))"
                )
            )
    await analyze(db)
    return patients * (PAST_NIGHTS + 1), due


async def analyze(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("ANALYZE"))


async def time_due_query(db: Database, now: datetime, repeat: int) -> float:
    """Median milliseconds of the dispatcher's query, warm cache, one open session."""
    timings = []
    async with db.session() as session:
        repo = Repository(session)
        await repo.nights.due_ids(now, 500)
        for _ in range(repeat):
            start = time.perf_counter()
            await repo.nights.due_ids(now, 500)
            timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


async def query_plan(db: Database, now: datetime) -> str:
    captured: list[tuple[str, object]] = []

    def capture(_c, _cur, statement, parameters, _ctx, _many):  # type: ignore[no-untyped-def]
        captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    async with db.session() as session:
        await Repository(session).nights.due_ids(now, 500)
    event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    postgres = db.url.get_backend_name() == "postgresql"
    async with db.engine.connect() as connection:
        rows = await connection.exec_driver_sql(
            ("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement,
            parameters,  # type: ignore[arg-type]
        )
        lines = [str(row[-1]) for row in rows]
    # The plan's nodes without PostgreSQL's cost estimates, on one line.
    return " / ".join(line.strip().removeprefix("->  ").split("  (cost=")[0] for line in lines)


async def run(
    url: str, patients: int, due_fraction: float, repeat: int, checkins: bool = True
) -> Result:
    now = datetime.now(UTC).replace(microsecond=0)
    db = await fresh_database(url)
    try:
        started = time.perf_counter()
        dose_rows, due = await fill(db, patients, due_fraction, now)
        setup = time.perf_counter() - started

        with_index = await time_due_query(db, now, repeat)
        plan = await query_plan(db, now)
        async with db.engine.begin() as connection:
            await connection.execute(text(f"DROP INDEX {INDEX}"))
        await analyze(db)
        without_index = await time_due_query(db, now, repeat)
        async with db.engine.begin() as connection:
            await connection.execute(text(f"CREATE INDEX {INDEX} ON doses (next_action_at)"))
        await analyze(db)

        settings = Settings(_env_file=None, bot_token="123456:bench", database_url=url)  # type: ignore[call-arg]
        if not checkins:
            off = {"checkin_after_step_up_days": 0, "checkin_every_days": 0}
            settings = settings.model_copy(update={**off, "tolerance_check_days": 0})
        notifier = StubNotifier()
        clock = FixedClock(now)
        # The production wiring: each reminder also plans the night's check-in, if one is due.
        dispatcher = build_services(settings, db, clock, notifier).dispatcher
        statements = 0

        def count(*_args: object) -> None:
            nonlocal statements
            statements += 1

        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        started, cpu = time.perf_counter(), time.process_time()
        dispatched = 0
        while looked_at := await dispatcher.dispatch():
            dispatched += looked_at
        dispatch_s = time.perf_counter() - started
        dispatch_cpu_s = time.process_time() - cpu
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        assert notifier.sent == due, f"sent {notifier.sent} reminders for {due} due rows"
        return Result(
            db.url.get_backend_name(),
            dose_rows,
            due,
            setup,
            with_index,
            without_index,
            plan,
            dispatched,
            dispatch_s,
            dispatch_cpu_s,
            statements,
        )
    finally:
        if db.url.get_backend_name() == "postgresql":
            async with db.engine.begin() as connection:
                await connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await db.dispose()


def report(results: list[Result], patients: int, repeat: int) -> None:
    print(f"\n{patients} patients, due_dose_ids(now, 500): median of {repeat} runs\n")
    header = (
        "backend",
        "dose rows",
        "due",
        "setup s",
        "query ms",
        "no index ms",
        "ratio",
        "dispatch ms/row",
        "CPU ms/row",
        "SQL/row",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in results:
        per_row = r.dispatch_s * 1000 / max(r.dispatched, 1)
        cpu_per_row = r.dispatch_cpu_s * 1000 / max(r.dispatched, 1)
        print(
            f"| {r.backend} | {r.dose_rows:,} | {r.due_rows} | {r.setup_s:.1f} | "
            f"{r.query_ms:.2f} | {r.query_noindex_ms:.2f} | "
            f"{r.query_noindex_ms / r.query_ms:.0f}x | {per_row:.2f} | {cpu_per_row:.2f} | "
            f"{r.statements / max(r.dispatched, 1):.1f} |"
        )
    print()
    for r in results:
        print(f"{r.backend} plan: {r.plan}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dispatcher", description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument(
        "--due-fraction",
        type=float,
        default=0.05,
        help="share of patients whose reminder is due now (default 0.05)",
    )
    parser.add_argument("--repeat", type=int, default=30, help="query runs to take the median of")
    parser.add_argument("--database-url", help="also run on this PostgreSQL database")
    parser.add_argument(
        "--no-checkins",
        action="store_true",
        help="plan no side-effect check-ins (to see what planning them costs)",
    )
    args = parser.parse_args()

    async def all_backends() -> list[Result]:
        with tempfile.TemporaryDirectory() as folder:
            sqlite = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
            urls = [sqlite] + ([args.database_url] if args.database_url else [])
            results = []
            for url in urls:
                url = Settings(_env_file=None, database_url=url).database_url  # type: ignore[call-arg]
                results.append(
                    await run(
                        url, args.patients, args.due_fraction, args.repeat, not args.no_checkins
                    )
                )
            return results

    report(asyncio.run(all_backends()), args.patients, args.repeat)


if __name__ == "__main__":
    main()
