"""The database: one async engine, a session per update or job, migrations under one lock."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, CursorResult, Result, make_url
from sqlalchemy.engine.interfaces import (
    AdaptedConnection,
    DBAPIConnection,
    DBAPICursor,
    ExecutionContext,
)
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
ALEMBIC_INI = Path(__file__).with_name("alembic.ini")

# The key of the PostgreSQL advisory lock an upgrade holds for its transaction: any fixed number,
# the same in every version, so that two processes migrating one database take turns.
MIGRATION_LOCK = 7_460_215_038
# How long an upgrade on SQLite waits for another process's upgrade (or any writer) to finish.
SQLITE_LOCK_WAIT_MS = 10 * 60 * 1000

# PostgreSQL connections kept open per process, and how many more a burst may open (closed again
# once handed back). The work in flight at once: the dispatcher's reminders (8) and their claim,
# the intake's handlers (32), alerts, check-ins and /healthz. A pool smaller than that opens and
# closes a connection for nearly every row in a busy round, a few milliseconds each (a reminder
# round went 40% faster with these). Two instances stay within the server's usual 100.
POOL_SIZE = 20
POOL_OVERFLOW = 20
# A connection handed back to the pool this many seconds ago or more is checked before it is
# used again (a server restarted meanwhile closed it). One in steady use is not: the check costs
# a round trip, and should its server be gone, its next statement fails as DATABASE_DOWN
# (the work is kept and tried again) and the pool drops every connection opened before.
PING_IDLE_SECONDS = 2.0
PING_TIMEOUT_SECONDS = 5.0

# A statement that would take rows or constraints of other tables with it.
_CASCADING = re.compile(r"^\s*(DROP\b.*\bCASCADE\b|TRUNCATE\b)", re.IGNORECASE | re.DOTALL)


class MigrationError(Exception):
    """A migration that would have lost data; it was rolled back, nothing was changed."""


@dataclass(frozen=True)
class Migrated:
    """The revision a database was at before an upgrade, and after (None: an empty database)."""

    before: str | None
    after: str | None


class Database:
    """Own the engine and hand out sessions; nothing here commits on anyone's behalf."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.engine = _create_engine(url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Open a session that rolls back whatever its user did not commit."""
        async with self._sessions() as session:
            yield session

    async def migrate(self, revision: str = "head") -> Migrated:
        """Bring the schema up to the newest migration (or to `revision`), losing no row.

        Several processes may start at once: the upgrade takes the lock (see `guarded`), then
        reads where the database is, so whoever waited finds nothing left to do. A database at
        the newest revision already is only read: no write lock is taken.
        """
        before = await self.revision(create=True)
        if revision == "head" and before == head_revision():
            return Migrated(before, before)
        seen: dict[str, str | None] = {}

        def upgrade(connection: Connection) -> None:
            seen["before"] = current_revision(connection)
            command.upgrade(alembic_config(connection), revision)
            seen["after"] = current_revision(connection)

        await self._alembic(upgrade)
        return Migrated(seen["before"], seen["after"])

    async def downgrade(self, revision: str) -> None:
        """Take the schema back to `revision`, losing no row of the tables that stay."""
        await self._alembic(lambda c: command.downgrade(alembic_config(c), revision))

    async def revision(self, *, create: bool = False) -> str | None:
        """The revision the database is at; None when it has none (empty, or a new file).

        `create`: make a SQLite file's folder first, as an upgrade must.
        """
        if create:
            _ensure_sqlite_folder(self._sqlite_file)
        async with self.engine.connect() as connection:
            return await connection.run_sync(current_revision)

    async def _alembic(self, run: Callable[[Connection], None]) -> None:
        _ensure_sqlite_folder(self._sqlite_file)
        async with self.engine.connect() as connection:
            await connection.run_sync(guarded, run)

    @property
    def one_connection(self) -> bool:
        """Whether every session shares one connection (an in-memory SQLite database): their
        transactions would mix, so work on it goes one row at a time."""
        return _in_memory(self.url)

    @property
    def _sqlite_file(self) -> str | None:
        return self.url.database if self.url.get_backend_name() == "sqlite" else None

    async def scrub(self, tables: Sequence[str]) -> None:
        """Take what was just deleted from `tables` out of the database's files; never raises.

        PostgreSQL keeps a deleted row's bytes in its page after a DELETE, and after a plain
        VACUUM too (it only marks the space free); VACUUM FULL writes the table anew without
        them. It cannot run in a transaction, so it runs after the deletion's commit, on a
        connection of its own, waiting at most a few seconds for the table's lock. On SQLite,
        `secure_delete` zeroed the rows where they lay; the write-ahead log still holds the
        pages as they were before, until a checkpoint empties it.
        """
        try:
            async with self.engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                if self.url.get_backend_name() != "postgresql":
                    result = await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    busy = result.first()
                    if busy is not None and busy[0]:
                        log.warning("Deleted rows stay in the SQLite log until its next checkpoint")
                    return
                await connection.exec_driver_sql("SET lock_timeout = '5s'")
                try:
                    for table in tables:
                        await connection.exec_driver_sql(f'VACUUM (FULL) "{table}"')
                finally:
                    await connection.exec_driver_sql("RESET lock_timeout")
        except Exception as exc:
            # The deletion itself is committed; what is left are free pages, taken at the next
            # vacuum. Not a reason to tell the patient their data was not deleted.
            log.warning("Could not vacuum after a deletion: %s", type(exc).__name__)

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, from `alembic.ini`, running on `connection` when one is given."""
    config = Config(str(ALEMBIC_INI))
    # Wherever the package is installed, and whatever the working directory.
    config.set_main_option("script_location", str(MIGRATIONS))
    # That is for alembic run by hand; inside the app, everything is importable already.
    config.set_main_option("prepend_sys_path", "")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this version of the bot knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "storage/migrations has no revision"
    return head


def known_revision(revision: str) -> bool:
    """Whether this version of the bot has `revision` among its migrations."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return any(script.revision == revision for script in scripts.walk_revisions())


def current_revision(connection: Connection) -> str | None:
    """The revision the database on `connection` is at; None when it has none."""
    return MigrationContext.configure(connection).get_current_revision()


def guarded(connection: Connection, migrate: Callable[[Connection], None]) -> None:
    """Run `migrate` on `connection` in one transaction that cannot lose a row.

    A migration that rebuilds a table (SQLite's batch mode: create a copy, drop the original,
    rename) would, with foreign keys on, cascade the drop into every child table: migration
    0002 once deleted every night and plan hold that way. So on SQLite foreign keys are off
    while migrations run (SQLite's own procedure for altering a table), and checked after:
    one orphaned row and everything is rolled back. On PostgreSQL the server checks every
    constraint as it goes, so only a cascading DROP or a TRUNCATE could lose rows: refused.

    One process at a time: on PostgreSQL the transaction first takes an advisory lock that it
    holds until it ends; on SQLite it begins IMMEDIATE, taking the write lock at once. Another
    process migrating the same database waits for the first one's commit (on SQLite up to 10
    minutes), then sees the schema as that one left it.
    """
    event.listen(connection, "before_cursor_execute", _refuse_cascades)
    try:
        if connection.dialect.name == "sqlite":
            _guarded_sqlite(connection, migrate)
        else:
            with connection.begin():
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
                migrate(connection)
    finally:
        event.remove(connection, "before_cursor_execute", _refuse_cascades)


def _guarded_sqlite(connection: Connection, migrate: Callable[[Connection], None]) -> None:
    # The driver must not open transactions of its own: PRAGMA foreign_keys is ignored inside
    # one, and the migration's BEGIN and COMMIT are ours, so that DDL rolls back with the rest.
    connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar() != 0:
        raise MigrationError("SQLite kept its foreign keys on; no migration was run")
    waited = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    try:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_LOCK_WAIT_MS}")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            migrate(connection)
            orphans = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if orphans:
                tables = sorted({row[0] for row in orphans})
                raise MigrationError(
                    f"the migration would leave {len(orphans)} rows pointing at nothing "
                    f"(in {', '.join(tables)}); it was rolled back"
                )
        except BaseException:
            connection.exec_driver_sql("ROLLBACK")
            raise
        connection.exec_driver_sql("COMMIT")
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(waited or 0)}")
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()  # ends SQLAlchemy's own record of a transaction; SQLite has none


def _refuse_cascades(
    _conn: Connection,
    _cursor: DBAPICursor,
    statement: str,
    _params: object,
    _context: ExecutionContext | None,
    _many: bool,
) -> None:
    if _CASCADING.match(statement):
        raise MigrationError(f"a migration may not cascade: {statement.split()[0]} ... refused")


def _create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_async_engine(
            url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, hide_parameters=True
        )
        _ping_when_idle(engine)
        return engine
    in_memory = _in_memory(parsed)
    engine = create_async_engine(
        url,
        # Error messages then never carry the values of a statement into the logs.
        hide_parameters=True,
        poolclass=StaticPool if in_memory else None,
        connect_args={"check_same_thread": False} if in_memory else {},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Foreign keys are off by default in SQLite; WAL lets a reader and the writer overlap.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # A deleted row's bytes are overwritten with zeros, not left in a free page of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Check a pooled connection before its use when it has lain idle PING_IDLE_SECONDS."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _handed_back(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _check_if_idle(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object
    ) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return
        try:
            # One round trip: the driver's own ping wraps its query in BEGIN and ROLLBACK (three),
            # and this one runs on a quiet clinic's every message. A plain query outside a
            # transaction, unprepared, is safe behind a transaction-pooling PgBouncer too.
            # A server gone without closing the socket would hold the checkout: 5 s at most.
            cast(AdaptedConnection, dbapi_connection).run_async(
                lambda c: c.execute("SELECT 1", timeout=PING_TIMEOUT_SECONDS)
            )
        except Exception as exc:
            # The pool closes it and opens another (three tries), as its own pre-ping would.
            raise DisconnectionError() from exc


def _in_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _ensure_sqlite_folder(database: str | None) -> None:
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


# What a database that is down, locked or unreachable raises, as opposed to a bug in a query:
# the work is kept and tried again, never dropped. asyncpg's own errors reach us unwrapped only
# while connecting (a server shutting down, a database missing, a password refused).
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    SATimeoutError,
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched.

    SQLAlchemy 2.0 types what a session executes as a `Result`; for these statements it is the
    `CursorResult` that counts them (2.1 types it so).
    """
    return cast("CursorResult[Any]", result).rowcount
