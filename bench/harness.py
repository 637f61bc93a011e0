"""What the issue 11 benchmarks share: the fake Bot API in a thread, databases, seeding, the bot.

The fake server runs on an event loop of its own, in a thread, so that the CPU time of the code
measured (`time.thread_time()` on the main thread) is ours alone, and so that a bot process and
the fake never wait for each other's loop. Everything the fake records carries its own
`time.monotonic()`: sends, answers and the patients' typing are timed on one clock.

Run by path (`python bench/p1_dispatch.py`, with PYTHONPATH naming the bot's code) or as a module
(`python -m bench.p1_dispatch`); either way the bot measured is the one this process imports, and
a bot process it starts gets the same code on its PYTHONPATH.

    python bench/harness.py echo BASE_URL    # the bare python-telegram-bot echo bot (P4)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

import bot
from bot.app.settings import Settings
from bot.rules.plans import BUILTIN_PLANS
from fake_telegram.core import FakeTelegram
from fake_telegram.server import FakeBotApiServer
from storage.db import Database
from storage.models import Dose, Patient

TOKEN = "123456:BENCH"
CARE_TEAM = -1001000000001  # the provider group that gets the alerts
FIRST_CHAT = 10_000_000  # patient p's Telegram id and chat id: FIRST_CHAT + p
CHUNK = 20_000


def chat_of(patient: int) -> int:
    return FIRST_CHAT + patient


# ----------------------------------------------------------------------------- the fake


@dataclass
class Seen:
    """One call the fake answered, on its monotonic clock as it arrived."""

    at: float
    method: str
    status: int
    chat: int | None


class Fake:
    """FakeTelegram and its HTTP server on an event loop in a thread of their own."""

    def __init__(self, *, limits: bool) -> None:
        self.limits = limits
        self.seen: list[Seen] = []
        self.typed: list[tuple[float, int]] = []  # (when, chat) a patient wrote
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.base_url = ""
        self.core: Any = None

    def __enter__(self) -> Fake:
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the fake Bot API server did not start")
        return self

    def __exit__(self, *_: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _serve(self) -> None:

        seen, limits = self.seen, self.limits

        class Recording(FakeTelegram):  # type: ignore[misc]
            async def call(self, method: str, params: dict) -> tuple[int, dict]:
                at = time.monotonic()  # on arrival: a long poll is seen when it is asked
                status, body = await super().call(method, params)
                chat = params.get("chat_id") if params else None
                try:
                    chat = int(chat) if chat is not None else None
                except (TypeError, ValueError):
                    chat = None
                seen.append(Seen(at, method, status, chat))
                return status, body

            def _check_flood(self, chat: Any) -> None:
                if limits:
                    super()._check_flood(chat)

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.core = Recording()
        async with FakeBotApiServer(self.core, token=TOKEN) as server:
            self.base_url = server.base_url
            self._ready.set()
            await self._stop.wait()

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call `fn(*args)` on the fake's own loop and return what it returned."""

        async def call() -> Any:
            return fn(*args)

        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(30)

    def open_chats(self, chats: Iterable[int]) -> None:
        """These patients opened the bot before: it may write to them."""
        chats = list(chats)
        self.run(lambda: [self.core.user(c, opened=True) for c in chats])

    def care_team(self) -> None:
        self.run(self.core.group, CARE_TEAM)

    def type(self, chat: int, text: str) -> None:
        """The patient of `chat` types `text`; the moment is recorded on the fake's clock."""

        def send() -> None:
            self.typed.append((time.monotonic(), chat))
            self.core.user(chat).send(text)

        self.run(send)

    def mark(self) -> int:
        """Where the record stands now: `sends(since=...)` counts from here."""
        return len(self.seen)

    def sends(
        self, chats: set[int] | None = None, method: str = "sendMessage", since: int = 0
    ) -> list[Seen]:
        """Successful sends, to `chats` if given, in the order the fake answered them."""
        return [
            s
            for s in list(self.seen)[since:]
            if s.method == method and s.status == 200 and (chats is None or s.chat in chats)
        ]

    def refused(self, status: int = 429) -> int:
        return sum(1 for s in list(self.seen) if s.status == status)

    def first(self, method: str) -> float | None:
        return next((s.at for s in list(self.seen) if s.method == method), None)


def per_chat(sends: Iterable[Seen]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for s in sends:
        if s.chat is not None:
            counts[s.chat] = counts.get(s.chat, 0) + 1
    return counts


# ------------------------------------------------------------------------------ databases


def normal_url(url: str) -> str:
    """The URL as the bot reads DATABASE_URL (postgres:// and sqlite:/// accepted)."""

    return str(Settings(_env_file=None, database_url=url).database_url)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def fresh_database(url: str | None, name: str) -> AsyncIterator[str]:
    """A new, migrated database of this run's own: a SQLite file, or a PostgreSQL database
    created on the server of `url` and dropped at the end (nothing else there is touched)."""

    if not url or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            own = normal_url(f"sqlite:///{Path(folder) / (name + '.sqlite3')}")
            db = Database(own)
            await db.migrate()
            await db.dispose()
            yield own
        return
    server = make_url(normal_url(url))
    database = f"ldn_bench_{name}_{os.getpid()}_{secrets.token_hex(2)}"

    async def admin(statement: str) -> None:
        engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    await admin(f'CREATE DATABASE "{database}"')
    try:
        own = server.set(database=database).render_as_string(hide_password=False)
        db = Database(own)
        await db.migrate()
        await db.dispose()
        yield own
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def backend(url: str) -> str:
    return "postgresql" if url.startswith("postgres") else "sqlite"


async def seed(
    url: str, first: int, count: int, remind_at: Callable[[int], datetime], now: datetime
) -> None:
    """Patients first..first+count-1 in bulk (Core executemany), each with tonight's night.

    Enrolled on the built-in 1.5 mg plan in UTC, as `bench/dispatcher.py` fills them; tonight's
    row is `scheduled`, due at `remind_at(patient)`.
    """

    plan = BUILTIN_PLANS["builtin-1.5"].to_dict()
    today = now.date()
    base: dict[str, object] = {
        "step": 3,
        "dose_mg": Decimal("4.5"),
        "capsule_mg": Decimal("1.5"),
        "capsules": 3,
        "step_up": False,
        "sent_late": False,
        "snoozes": 0,
        "attempts": 0,
        "night": today,
        "status": "scheduled",
        "sent_at": None,
        "answered_at": None,
    }
    db = Database(url)
    try:
        async with db.engine.begin() as connection:
            for start in range(first, first + count, CHUNK):
                ids = range(start, min(start + CHUNK, first + count))
                await connection.execute(
                    insert(Patient),
                    [
                        {
                            "id": p,
                            "telegram_user_id": chat_of(p),
                            "chat_id": chat_of(p),
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
                        for p in ids
                    ],
                )
                rows = []
                for p in ids:
                    at = remind_at(p)
                    rows.append(
                        base
                        | {
                            "patient_id": p,
                            "remind_at": at,
                            "cutoff_at": at + timedelta(hours=4),
                            "next_action_at": at,
                        }
                    )
                await connection.execute(insert(Dose.__table__), rows)
            if db.url.get_backend_name() == "postgresql":
                await connection.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('patients', 'id'), "
                        "(SELECT max(id) FROM patients))"
                    )
                )
        async with db.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await db.dispose()


def tomorrow(now: datetime) -> Callable[[int], datetime]:
    """Nothing due: each patient's reminder later, spread over the next 23 hours."""
    return lambda p: now + timedelta(hours=1, seconds=(p * 7919) % (22 * 3600))


# ----------------------------------------------------------------------------- the bot


def code_path() -> str:
    """The folder holding the `bot` package this process runs: the bot process gets the same."""

    return str(Path(bot.__file__).resolve().parents[1])


def bot_env(base_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """A `python -m bot` environment: the fake, the database, a care team; nothing from .env."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    for name in ("DATABASE_URL", "PROVIDER_CHAT_IDS", "ADMIN_USER_IDS", "PROVIDER_USER_IDS"):
        keep.pop(name, None)
    return (
        keep
        | {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": base_url,
            "DATABASE_URL": database_url,
            "DEFAULT_TIMEZONE": "UTC",
            "CLINIC_NAME": "Bench Clinic",
            "PROVIDER_CHAT_IDS": str(CARE_TEAM),
            "LOG_LEVEL": "WARNING",
            "TOLERANCE_CHECK_DAYS": "0",
            "PYTHONPATH": code_path(),
        }
        | extra
    )


def run_arguments(env: dict[str, str], folder: str) -> list[str]:
    """`run` when `python -m bot` has subcommands (`migrate`, `run`), nothing when it has none.

    Asked in the bot's own empty folder: `-m` looks in the current folder first.
    """
    shown = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return ["run"] if "migrate" in shown.stdout else []


class BotProcess:
    """`python -m bot` as a child process, started in an empty folder (no .env)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.folder = tempfile.TemporaryDirectory()
        self.log = Path(self.folder.name) / "bot.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> None:
        arguments = run_arguments(self.env, self.folder.name)
        with self.log.open("ab") as log:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", *arguments],
                cwd=self.folder.name,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    def rss_mb(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> int | None:
        """SIGTERM, then a kill after 60 s; returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self.process = None
        return code

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        self.stop()
        self.folder.cleanup()


async def wait_until(check: Callable[[], bool], seconds: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


class StubNotifier:
    """Telegram answering at once: what is left is our own work (keywords taken and ignored)."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, chat_id: int, reply: object, attempt: int = 0, **_: object) -> int:
        self.sent += 1
        return self.sent

    async def clear_buttons(self, chat_id: int, message_id: int, **_: object) -> None:
        return None

    async def set_buttons(
        self, chat_id: int, message_id: int, buttons: object, **_: object
    ) -> None:
        return None

    async def edit(self, chat_id: int, message_id: int, reply: object, **_: object) -> None:
        return None


def settings_for(database_url: str, base_url: str = "http://127.0.0.1:1/bot", **extra: Any) -> Any:

    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        database_url=database_url,
        telegram_api_base_url=base_url,
        default_timezone="UTC",
        clinic_name="Bench Clinic",
        provider_chat_ids=str(CARE_TEAM),
        tolerance_check_days=0,
        **extra,
    )


# ---------------------------------------------------------------------------- reporting


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def emit(
    name: str, result: dict[str, Any], rows: list[dict[str, Any]], columns: list[str], as_json: bool
) -> None:
    """The table for a person; with --json one line of JSON after it, for a machine."""
    print(f"\n{name}\n")
    print(table(rows, columns))
    for note in result.get("notes", []):
        print(f"- {note}")
    if as_json:
        print(json.dumps(result, default=str))
    sys.stdout.flush()


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "load": os.getloadavg()[0], "python": sys.version.split()[0]}


@dataclass
class Timer:
    """Wall time and this thread's CPU time between start() and stop()."""

    wall: float = 0.0
    cpu: float = 0.0
    _t: tuple[float, float] = field(default=(0.0, 0.0))

    def start(self) -> None:
        self._t = (time.perf_counter(), time.thread_time())

    def stop(self) -> None:
        self.wall = time.perf_counter() - self._t[0]
        self.cpu = time.thread_time() - self._t[1]


# ------------------------------------------------------------------------ the bare echo bot


def start_echo(base_url: str) -> subprocess.Popen[bytes]:
    """The bare echo bot below, as a process of its own (as our bot runs)."""
    return subprocess.Popen(
        [sys.executable, __file__, "echo", base_url],
        env=bot_env(base_url, "sqlite://"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def echo_main(base_url: str) -> None:
    """A bare python-telegram-bot echo bot: polling, one update at a time, no rate limiter."""

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "?")

    application = ApplicationBuilder().token(TOKEN).base_url(base_url).build()
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.run_polling(poll_interval=0.0, timeout=10, drop_pending_updates=False)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "echo":
        echo_main(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
