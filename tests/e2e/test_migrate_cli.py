"""`ldn-bot migrate` as its own step, `ldn-bot run` that never migrates, and `ldn-bot` alone.

Real `python -m bot` processes on a database of the test's own: a new SQLite file in a folder
that does not exist yet, or a new PostgreSQL database when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from fake_telegram.core import FakeTelegram
from fake_telegram.server import FakeBotApiServer
from storage.db import Database, head_revision
from tests.e2e.test_process import BotProcess, eventually
from tests.integration.test_migrations import _counts, _fill, _run
from tests.support.harness import TOKEN

HEAD = head_revision()
OLD = "0005"
NOWHERE = "http://127.0.0.1:9/bot"  # nothing listens: these commands never reach Telegram
UNREACHABLE = "postgresql+asyncpg://ldn:s3cret@127.0.0.1:9/ldn"

MIGRATED_EMPTY = f"Migrated an empty database to revision {HEAD}."
NOTHING_TO_DO = f"The database is at revision {HEAD} already: nothing to do."
BEHIND = (
    f"Cannot start: the database is at revision {OLD} and this version needs {HEAD}. "
    "Run `ldn-bot migrate` first."
)


@dataclass
class Ran:
    code: int
    out: str
    err: str


async def ldn_bot(database_url: str, workdir: Path, *command: str) -> Ran:
    """Run `python -m bot <command>` to its end, as an admin would from a shell."""
    env = BotProcess(NOWHERE, database_url, workdir).env
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *command,
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"`ldn-bot {' '.join(command)}` did not end") from None
    return Ran(process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))


async def revision_of(url: str) -> str | None:
    database = Database(url)
    try:
        return await database.revision()
    finally:
        await database.dispose()


async def at_old_revision_with_rows(url: str) -> dict[str, int]:
    """The database at revision 0005, every table holding rows; how many, table by table."""
    database = Database(url)
    try:
        await database.migrate(OLD)
        return await _run(database, _fill)
    finally:
        await database.dispose()


# ldn-bot migrate


async def test_migrate_on_an_empty_database_brings_it_to_the_newest_revision(
    empty_url: str, tmp_path: Path
) -> None:
    ran = await ldn_bot(empty_url, tmp_path, "migrate")
    assert (ran.code, ran.out, ran.err) == (0, MIGRATED_EMPTY + "\n", "")
    assert await revision_of(empty_url) == HEAD


async def test_migrate_on_an_old_database_upgrades_it_and_keeps_every_row(
    empty_url: str, tmp_path: Path
) -> None:
    filled = await at_old_revision_with_rows(empty_url)
    ran = await ldn_bot(empty_url, tmp_path, "migrate")
    assert (ran.code, ran.err) == (0, ""), ran.err
    assert ran.out == f"Migrated the database from revision {OLD} to {HEAD}.\n"
    database = Database(empty_url)
    try:
        assert await database.revision() == HEAD
        after = await _run(database, _counts)
    finally:
        await database.dispose()
    assert {name: after.get(name) for name in filled} == filled


async def test_migrate_twice_has_nothing_to_do_the_second_time(
    empty_url: str, tmp_path: Path
) -> None:
    first = await ldn_bot(empty_url, tmp_path, "migrate")
    second = await ldn_bot(empty_url, tmp_path, "migrate")
    assert (first.code, first.out) == (0, MIGRATED_EMPTY + "\n"), first.err
    assert (second.code, second.out, second.err) == (0, NOTHING_TO_DO + "\n", "")
    assert await revision_of(empty_url) == HEAD


async def test_two_migrations_at_once_take_turns_one_upgrades_the_other_finds_nothing_to_do(
    empty_url: str, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    both = await asyncio.gather(
        ldn_bot(empty_url, tmp_path / "a", "migrate"),
        ldn_bot(empty_url, tmp_path / "b", "migrate"),
    )
    assert [(ran.code, ran.err) for ran in both] == [(0, ""), (0, "")], [r.err for r in both]
    assert sorted(ran.out for ran in both) == sorted([MIGRATED_EMPTY + "\n", NOTHING_TO_DO + "\n"])
    assert await revision_of(empty_url) == HEAD


async def test_migrate_on_a_database_it_cannot_reach_says_so_in_one_line(tmp_path: Path) -> None:
    ran = await ldn_bot(UNREACHABLE, tmp_path, "migrate")
    assert ran.code == 2, ran.err
    assert ran.out == ""
    [line] = ran.err.strip().splitlines()
    assert line.startswith("Cannot migrate: the database at DATABASE_URL=") and "reached" in line
    assert "s3cret" not in ran.err


async def test_migrate_refuses_a_database_a_newer_version_migrated(
    empty_url: str, tmp_path: Path
) -> None:
    await ahead_of_us(empty_url)
    ran = await ldn_bot(empty_url, tmp_path, "migrate")
    assert ran.code == 2, ran.err
    [line] = ran.err.strip().splitlines()
    assert line.startswith("Cannot migrate: the database is at revision 9999, from a newer")
    assert await revision_of(empty_url) == "9999"


# ldn-bot run: never migrates


async def test_run_on_a_database_behind_refuses_to_start_and_says_to_migrate(
    empty_url: str, tmp_path: Path
) -> None:
    await at_old_revision_with_rows(empty_url)
    ran = await ldn_bot(empty_url, tmp_path, "run")
    assert (ran.code, ran.out, ran.err) == (2, "", BEHIND + "\n")
    assert await revision_of(empty_url) == OLD, "run migrated the database"


async def test_run_on_an_empty_database_refuses_to_start_and_says_to_migrate(
    empty_url: str, tmp_path: Path
) -> None:
    database = Database(empty_url)
    await database.revision(create=True)  # there, and empty (a SQLite file made, not migrated)
    await database.dispose()
    ran = await ldn_bot(empty_url, tmp_path, "run")
    assert ran.code == 2, ran.err
    assert ran.err == (
        f"Cannot start: the database is empty and this version needs {HEAD}. "
        "Run `ldn-bot migrate` first.\n"
    )
    assert await revision_of(empty_url) is None


async def test_run_on_a_database_a_newer_version_migrated_refuses_to_start(
    empty_url: str, tmp_path: Path
) -> None:
    await ahead_of_us(empty_url)
    ran = await ldn_bot(empty_url, tmp_path, "run")
    assert ran.code == 2, ran.err
    [line] = ran.err.strip().splitlines()
    assert line.startswith("Cannot start: the database is at revision 9999, from a newer")
    assert HEAD in line


async def test_run_webhook_without_its_settings_refuses_to_start_in_one_line(
    empty_url: str, tmp_path: Path
) -> None:
    ran = await ldn_bot(empty_url, tmp_path, "run", "--webhook")
    assert ran.code == 2, ran.err
    [line] = ran.err.strip().splitlines()
    assert line.startswith("Cannot start: WEBHOOK_URL:"), line


async def test_run_after_migrate_starts_and_answers(empty_url: str, tmp_path: Path) -> None:
    migrated = await ldn_bot(empty_url, tmp_path, "migrate")
    assert migrated.code == 0, migrated.err
    await answers_start(empty_url, tmp_path, ("run",))


# ldn-bot alone: the single-process quick start


async def test_ldn_bot_alone_on_an_empty_database_migrates_then_starts_and_answers(
    empty_url: str, tmp_path: Path
) -> None:
    await answers_start(empty_url, tmp_path, ())
    assert await revision_of(empty_url) == HEAD


async def answers_start(url: str, workdir: Path, command: tuple[str, ...]) -> None:
    """Start the bot with `command`, see it answer /start, and stop it with SIGTERM: exit 0."""
    core = FakeTelegram()
    async with FakeBotApiServer(core, token=TOKEN) as server:
        bot = BotProcess(server.base_url, url, workdir)
        bot.args = list(command)
        await bot.start()
        try:
            user = core.user(7001)
            user.send("/start")
            await eventually(lambda: bool(user.messages()), seconds=60, what="an answer")
        finally:
            code = await bot.stop()
        assert code == 0, bot.log_tail()
        assert "Traceback" not in bot.log.read_text(errors="replace"), bot.log_tail()


async def ahead_of_us(url: str) -> None:
    """The database as a newer version would leave it: at a revision this one does not know."""
    database = Database(url)
    try:
        await database.migrate()
        async with database.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        await database.dispose()
