"""Start-up with a database the bot cannot use: one line on stderr naming DATABASE_URL, exit 2.

The real `python -m bot` process, before it ever reaches Telegram: unreachable, missing, locked
and read-only databases. No traceback, never the password, and quickly.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from fake_telegram.core import FakeTelegram
from fake_telegram.server import FakeBotApiServer
from storage.db import Database
from tests.e2e.test_process import BotProcess
from tests.support.harness import TEST_DATABASE_URL, TOKEN

PASSWORD = "s3cret-Pa55"


async def start_and_fail(database_url: str, workdir: Path) -> tuple[int, str, float]:
    """Run the bot against `database_url`; its exit code, its stderr and how long it took."""
    async with FakeBotApiServer(FakeTelegram(), token=TOKEN) as server:
        env = BotProcess(server.base_url, database_url, workdir).env
        began = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=workdir,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError("the bot did not stop on a database it cannot use") from None
    return process.returncode or 0, stderr.decode(errors="replace"), time.monotonic() - began


def assert_one_line(code: int, stderr: str, what: str) -> None:
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert "DATABASE_URL" in lines[0] and what in lines[0], lines[0]
    assert PASSWORD not in stderr


async def migrated_sqlite(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    database = Database(url)
    await database.migrate()
    await database.dispose()
    return url


async def test_an_unreachable_database_stops_the_bot_in_one_line(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://ldn:{PASSWORD}@127.0.0.1:9/ldn"  # nothing listens on port 9
    code, stderr, seconds = await start_and_fail(url, tmp_path)
    assert_one_line(code, stderr, "cannot be reached")
    assert seconds < 25  # mostly the interpreter starting, on a busy machine


async def test_a_sqlite_file_whose_folder_cannot_exist_stops_the_bot_in_one_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    code, stderr, _ = await start_and_fail(
        f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'ldn.sqlite3'}", tmp_path
    )
    assert_one_line(code, stderr, "DATABASE_URL")


async def test_a_read_only_sqlite_database_stops_the_bot_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ldn.sqlite3"
    await migrated_sqlite(path)
    # Opened read-only, as a read-only file or mount would be (the tests may run as root, whom
    # file permissions do not stop).
    code, stderr, seconds = await start_and_fail(
        f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true", tmp_path
    )
    assert_one_line(code, stderr, "DATABASE_URL")
    assert "read-only" in stderr or "cannot be opened" in stderr, stderr
    assert seconds < 25  # mostly the interpreter starting, on a busy machine


async def test_a_sqlite_database_locked_by_another_process_stops_the_bot_in_one_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ldn.sqlite3"
    url = await migrated_sqlite(path)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another process writing, and not letting go
        code, stderr, seconds = await start_and_fail(url, tmp_path)
    finally:
        holder.close()
    assert_one_line(code, stderr, "is locked by another process")
    assert seconds < 25  # mostly the interpreter starting, on a busy machine


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")
async def test_a_missing_postgresql_database_stops_the_bot_in_one_line(tmp_path: Path) -> None:
    server = make_url(TEST_DATABASE_URL).set(drivername="postgresql+asyncpg")
    url = server.set(database="ldn_no_such_database", password=PASSWORD)
    code, stderr, _ = await start_and_fail(url.render_as_string(hide_password=False), tmp_path)
    assert_one_line(code, stderr, "DATABASE_URL")
    assert "does not exist" in stderr or "refused the user name or password" in stderr, stderr


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")
async def test_a_read_only_postgresql_database_stops_the_bot_in_one_line(
    postgres_url: str, tmp_path: Path
) -> None:
    name = make_url(postgres_url).database
    admin = create_async_engine(
        make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as connection:
            await connection.execute(
                text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            )
        code, stderr, _ = await start_and_fail(postgres_url, tmp_path)
    finally:
        async with admin.connect() as connection:
            await connection.execute(
                text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
            )
        await admin.dispose()
    assert_one_line(code, stderr, "is read-only")
