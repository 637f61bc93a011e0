"""The database: one async engine, a session per update or job, migrations at start-up."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, CursorResult, Result, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor, ExecutionContext
from sqlalchemy.exc import InterfaceError, OperationalError
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

# A statement that would take rows or constraints of other tables with it.
_CASCADING = re.compile(r"^\s*(DROP\b.*\bCASCADE\b|TRUNCATE\b)", re.IGNORECASE | re.DOTALL)


class MigrationError(Exception):
    """A migration that would have lost data; it was rolled back, nothing was changed."""


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

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to the newest migration (or to `revision`), losing no row."""
        await self._alembic(lambda config: command.upgrade(config, revision))

    async def downgrade(self, revision: str) -> None:
        """Take the schema back to `revision`, losing no row of the tables that stay."""
        await self._alembic(lambda config: command.downgrade(config, revision))

    async def _alembic(self, run: Callable[[Config], None]) -> None:
        _ensure_sqlite_folder(
            self.url.database if self.url.get_backend_name() == "sqlite" else None
        )
        async with self.engine.connect() as connection:
            await connection.run_sync(guarded, lambda c: run(alembic_config(c)))

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


def guarded(connection: Connection, migrate: Callable[[Connection], None]) -> None:
    """Run `migrate` on `connection` in one transaction that cannot lose a row.

    A migration that rebuilds a table (SQLite's batch mode: create a copy, drop the original,
    rename) would, with foreign keys on, cascade the drop into every child table: migration
    0002 once deleted every night and plan hold that way. So on SQLite foreign keys are off
    while migrations run (SQLite's own procedure for altering a table), and checked after:
    one orphaned row and everything is rolled back. On PostgreSQL the server checks every
    constraint as it goes, so only a cascading DROP or a TRUNCATE could lose rows: refused.
    """
    event.listen(connection, "before_cursor_execute", _refuse_cascades)
    try:
        if connection.dialect.name == "sqlite":
            _guarded_sqlite(connection, migrate)
        else:
            with connection.begin():
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
    try:
        connection.exec_driver_sql("BEGIN")
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
        return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
    in_memory = parsed.database in (None, "", ":memory:")
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
