"""The start-up check and the upgrade: the database answers, is at our revision, takes a write.

Run before polling starts, so that a database the bot cannot use stops it with one line naming
DATABASE_URL and what failed, instead of tracebacks or a bot that runs on and fails every update.
Starting never migrates (`ldn-bot migrate` does, or `ldn-bot` alone, the single-process start).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from storage.db import Database, Migrated, MigrationError, head_revision, known_revision

# Long enough for a database server that is starting; a blackholed host fails within it.
TIMEOUT_SECONDS = 20

# What a driver's error says, and what the admin is told (checked in this order).
_REASONS = (
    ("readonly", "is read-only"),
    ("read-only", "is read-only"),
    ("locked", "is locked by another process"),
    ("does not exist", "does not exist"),
    ("unable to open", "cannot be opened (a missing folder or no permission?)"),
    ("file exists", "cannot be created: part of its folder is a file"),
    ("not a directory", "cannot be created: part of its folder is a file"),
    ("permission denied", "cannot be opened or created: no permission"),
    ("password authentication", "refused the user name or password"),
    ("connect call failed", "cannot be reached"),
    ("connection refused", "cannot be reached"),
    ("name or service not known", "cannot be reached (unknown host)"),
    ("could not translate host", "cannot be reached (unknown host)"),
)


_DRIVERS = ("asyncpg", "aiosqlite", "sqlite3", "psycopg", "psycopg2")


class DatabaseUnusable(Exception):
    """The database cannot be used; the message is one line, without the password."""


class WrongRevision(Exception):
    """The database is not at the revision this version needs; the message says what to do."""


async def check_database(url: str) -> None:
    """Connect, check the revision and try a write that is rolled back; never migrates.

    DatabaseUnusable if the database cannot be used, WrongRevision if it is behind or ahead.
    """
    async with _opened(url) as database:
        await asyncio.wait_for(_use(database), TIMEOUT_SECONDS)


async def migrate_database(url: str) -> Migrated:
    """Upgrade the database to the newest revision, after any other process doing the same.

    Only reaching the database is timed: waiting for another process's upgrade is not.
    """
    async with _opened(url) as database:
        before = await asyncio.wait_for(database.revision(create=True), TIMEOUT_SECONDS)
        if before is not None and not known_revision(before):
            raise WrongRevision(_ahead(before))
        return await database.migrate()


def _behind(current: str | None) -> str:
    where = f"at revision {current}" if current else "empty"
    return (
        f"the database is {where} and this version needs {head_revision()}. "
        "Run `ldn-bot migrate` first."
    )


def _ahead(current: str) -> str:
    return (
        f"the database is at revision {current}, from a newer version of the bot; this version "
        f"knows revisions up to {head_revision()}. Run the newer version."
    )


@asynccontextmanager
async def _opened(url: str) -> AsyncIterator[Database]:
    """The database at `url`, every failure to use it turned into one DatabaseUnusable line."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        raise DatabaseUnusable("DATABASE_URL is not a database URL") from None
    database = None
    try:
        database = Database(url)
        yield database
    except TimeoutError:
        raise DatabaseUnusable(
            f"the database at DATABASE_URL={shown} did not answer in {TIMEOUT_SECONDS} s"
        ) from None
    except MigrationError as exc:
        # The guard refused an upgrade that would lose rows: the database is as it was.
        raise DatabaseUnusable(
            f"the database at DATABASE_URL={shown} cannot be upgraded: {exc}"
        ) from None
    except Exception as exc:
        if not _from_the_database(exc):
            raise  # a bug, not the database: its traceback is wanted
        raise DatabaseUnusable(
            f"the database at DATABASE_URL={shown} {_reason(exc, make_url(url).password)}"
        ) from None
    finally:
        if database is not None:
            await database.dispose()


async def _use(database: Database) -> None:
    current = await database.revision()
    if current != head_revision():
        raise WrongRevision(
            _ahead(current) if current and not known_revision(current) else _behind(current)
        )
    async with database.engine.connect() as connection:
        # A write that changes nothing, rolled back: it needs the write lock and a writable file
        # (SQLite), or a transaction that is not read-only (PostgreSQL).
        await connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
        await connection.rollback()


def _from_the_database(exc: Exception) -> bool:
    """Whether the error is the database's (or its driver's), not a bug of ours."""
    if isinstance(exc, SQLAlchemyError | OSError | ImportError):
        return True
    # asyncpg raises its own errors on connect (a missing database, a refused password).
    return type(exc).__module__.split(".")[0] in _DRIVERS


def _reason(exc: BaseException, password: str | None) -> str:
    """What failed, in a few words, then the driver's first line (never the password)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    detail = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
    if password:
        detail = detail.replace(password, "***")
    lowered = f"{detail} {type(cause).__name__}".lower()
    what = next((said for key, said in _REASONS if key in lowered), "cannot be used")
    if isinstance(cause, ConnectionError):
        what = "cannot be reached"
    return f"{what} ({detail})"


async def answers(database: Database) -> None:
    """Ask the database the smallest question there is (`/healthz`); raises if it cannot answer."""
    async with database.session() as session:
        await session.execute(text("SELECT 1"))
