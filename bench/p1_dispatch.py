"""P1: dispatch capacity with Telegram's limits off, against a bare python-telegram-bot sender.

    python -m bench.p1_dispatch [--reminders 2000] [--pairs 3] [--database-url postgresql://...]

N reminders are due at once. Ours: the real Application from `build_application`, our pacing's
overall rate raised out of the way, its Dispatcher driven round after round (`dispatch()`) until
nothing is due and the fake has every reminder. The baseline: `Bot.send_message` in a loop to the
same chats, one at a time (our dispatcher sends one at a time today), and again 8 at a time,
on PTB's own transport (httpx); and one at a time on ours (aiohttp, `bot/delivery/transport.py`);
all on the same fake Bot API server, its limits off, in the same run. The bare sender and ours
run one after the other `--pairs` times: the figure is the median of the pairs' ratios, as a
shared machine's speed drifts within a minute. SQL statements counted on the engine; CPU is this
thread's (the fake runs in a thread of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.request import BaseRequest

from bot.app.application import build_application
from bot.delivery.pacing import Pacing

try:
    from bot.delivery.transport import AiohttpRequest as OurTransport
except ImportError:  # an older checkout, run by path: it has no transport of its own
    OurTransport = None  # type: ignore[assignment,misc]

if __package__:
    from bench import harness
else:  # run by path, against another checkout's bot
    import harness  # type: ignore[no-redef]

SAME = "bare PTB on our transport, 1 at a time"
BARE1 = "bare PTB, 1 at a time"
OURS = "ours (build_application + Dispatcher)"
TEXT = "Time for tonight's dose: 4.5 mg (3 capsules of 1.5 mg). Tap when you have taken it."


def unpaced_rate_limiter() -> Any:
    """Our own pacing with every rate of it (`*per_second`) raised out of the way."""
    rates = [name for name in inspect.signature(Pacing).parameters if name.endswith("per_second")]
    return Pacing(**dict.fromkeys(rates, 1_000_000))


async def ours(url: str, fake: harness.Fake, count: int, paced: bool = False) -> dict[str, Any]:

    now = datetime.now(UTC).replace(microsecond=0)
    await harness.seed(url, 1, count, lambda p: now - timedelta(minutes=1 + p % 9), now)
    chats = {harness.chat_of(p) for p in range(1, count + 1)}
    fake.open_chats(chats)
    settings = harness.settings_for(url, fake.base_url)
    application = build_application(
        settings, dispatch_rounds=False, rate_limiter=None if paced else unpaced_rate_limiter()
    )
    services = application.bot_data.services
    statements = 0

    def counted(*_: object) -> None:
        nonlocal statements
        statements += 1

    await application.initialize()
    mark = fake.mark()
    try:
        engine = services.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", counted)
        timer = harness.Timer()
        timer.start()
        rounds = 0
        while await services.dispatcher.dispatch():
            rounds += 1
        await harness.wait_until(lambda: len(fake.sends(chats, since=mark)) >= count, 60)
        timer.stop()
        event.remove(engine, "before_cursor_execute", counted)
    finally:
        await application.shutdown()
        await services.db.dispose()
    sends = fake.sends(chats, since=mark)
    return {
        "sent": len(sends),
        "chats": len(harness.per_chat(sends)),
        "seconds": timer.wall,
        "per_s": len(sends) / timer.wall,
        "cpu_ms_each": timer.cpu * 1000 / max(len(sends), 1),
        "sql_each": statements / max(len(sends), 1),
        "rounds": rounds,
    }


async def bare(
    fake: harness.Fake, count: int, concurrency: int, request: BaseRequest | None = None
) -> dict[str, Any]:
    """`Bot.send_message` to each chat, `concurrency` at a time, as a bare PTB sender would;
    on PTB's own transport (httpx) unless `request` is given."""

    chats = [harness.chat_of(p) for p in range(1, count + 1)]
    fake.open_chats(chats)
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"v1:d:{label}")] for label in ("A", "B", "C")]
    )
    mark = fake.mark()
    queue = list(reversed(chats))
    async with Bot(harness.TOKEN, base_url=fake.base_url, request=request) as bot:
        timer = harness.Timer()
        timer.start()

        async def worker() -> None:
            while queue:
                await bot.send_message(queue.pop(), TEXT, reply_markup=keyboard)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        timer.stop()
    sent = len(fake.sends(set(chats), since=mark))
    return {
        "sent": sent,
        "seconds": timer.wall,
        "per_s": sent / timer.wall,
        "cpu_ms_each": timer.cpu * 1000 / max(sent, 1),
    }


async def one_backend(
    url: str | None, count: int, paced: bool, pairs: int = 3
) -> list[dict[str, Any]]:
    """The bare sender and ours, one after the other, `pairs` times on one fake (ours on a new
    database each time), then the others once. The machine's speed drifts from minute to minute:
    each pair's ratio compares two runs seconds apart, and the median of them is the figure."""
    backend = harness.backend(url) if url else "sqlite"
    rows: list[dict[str, Any]] = []
    with harness.Fake(limits=False) as fake:
        for pair in range(1, pairs + 1):
            base1 = await bare(fake, count, 1)
            async with harness.fresh_database(url, "p1") as own:
                backend = harness.backend(own)
                mine = await ours(own, fake, count)
            rows.append({"backend": backend, "sender": BARE1, "pair": pair} | base1)
            rows.append(
                {"backend": backend, "sender": OURS, "pair": pair}
                | mine
                | {"ratio": mine["per_s"] / base1["per_s"]}
            )
        base8 = await bare(fake, count, 8)
        base_own = await bare(fake, count, 1, OurTransport()) if OurTransport else None
    rows.append({"backend": backend, "sender": "bare PTB, 8 at a time"} | base8)
    if base_own is not None:
        rows.append({"backend": backend, "sender": SAME} | base_own)
    if paced:  # our own pacing as in production, on a new database
        async with harness.fresh_database(url, "p1") as own:
            with harness.Fake(limits=False) as fake:
                rows.append(
                    {"backend": harness.backend(own), "sender": "ours, production pacing"}
                    | await ours(own, fake, count, paced=True)
                )
    return rows


def with_ratios(block: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each pair's ratio stays its own (ours over the bare sender just before it); the other
    rows are set against the median bare sender, and a last row gives the median of ours."""
    base1 = harness.median([row["per_s"] for row in block if row["sender"] == BARE1])
    mine = [row for row in block if row["sender"] == OURS]
    for row in block:
        if row["sender"] != OURS:
            row["ratio"] = row["per_s"] / base1
    same = next((row for row in block if row["sender"] == SAME), None)
    summary = {
        "backend": block[0]["backend"],
        "sender": f"ours, median of {len(mine)} pairs",
        "ratio": harness.median([row["ratio"] for row in mine]),
        "cpu_ms_each": harness.median([row["cpu_ms_each"] for row in mine]),
        "sql_each": harness.median([row["sql_each"] for row in mine]),
    }
    if same is not None:
        summary["ratio_same"] = harness.median([row["per_s"] for row in mine]) / same["per_s"]
    return [*block, summary]


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for url in [None] + ([args.database_url] if args.database_url else []):
        rows += with_ratios(await one_backend(url, args.reminders, args.with_pacing, args.pairs))
    return {
        "bench": "p1_dispatch",
        "reminders": args.reminders,
        "rows": rows,
        **harness.machine(),
        "notes": [
            "ratio: ours, reminders/s over the bare sender's (1 at a time) run just before "
            "it on the same server; the median of the pairs is the figure; other rows over "
            "the median bare sender; ratio_same: the median of ours over the bare sender on "
            "our transport (aiohttp), 1 at a time"
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=2_000)
    parser.add_argument(
        "--database-url",
        help="also on this PostgreSQL server (a database of its own is created there and dropped)",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=3,
        help="how many times the bare sender and ours run one after the other (default 3)",
    )
    parser.add_argument(
        "--with-pacing",
        action="store_true",
        help="also ours with the production pacing (30 a second), against the same baseline",
    )
    parser.add_argument("--json", action="store_true", help="also print one line of JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(main_async(args))
    result["total_s"] = time.perf_counter() - started
    harness.emit(
        f"P1: {args.reminders:,} reminders due at once, Telegram's limits off",
        result,
        result["rows"],
        [
            "backend",
            "sender",
            "pair",
            "sent",
            "per_s",
            "ratio",
            "ratio_same",
            "cpu_ms_each",
            "sql_each",
        ],
        args.json,
    )


if __name__ == "__main__":
    main()
