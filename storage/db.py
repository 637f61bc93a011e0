"""The database: one async engine, a session per update or job, migrations at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).with_name("migrations")


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

    async def migrate(self) -> None:
        """Bring the schema up to the newest migration."""
        _ensure_sqlite_folder(
            self.url.database if self.url.get_backend_name() == "sqlite" else None
        )
        async with self.engine.begin() as connection:
            await connection.run_sync(_upgrade)

    async def dispose(self) -> None:
        await self.engine.dispose()


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
    def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Foreign keys are off by default in SQLite; WAL lets a reader and the writer overlap.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return engine


def _ensure_sqlite_folder(database: str | None) -> None:
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


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
