"""P4: patients writing at once: how fast each is answered, ours against a bare echo bot.

    python -m bench.p4_taps [--patients 50 500] [--rates 16 49] [--seconds 10] [--json]

Patients send /today in turn, `rate` messages a second in all, for `--seconds`, through the fake
Bot API server (limits off: the server is not what is measured; `--limits` turns on Telegram's
30 a second, to see what each bot does past it). Each message's answer time is
from the moment it was typed to the bot's reply arriving at the server, both on the fake's
clock; p50, p99 and answers a second. The same for a bare python-telegram-bot echo bot
(`Application.run_polling`, one update at a time, its defaults) on a fresh fake, and once more
for ours while `--burst` reminders (1,000) fall due as the typing starts.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

if __package__:
    from bench import harness
else:  # run by path, against another checkout's bot
    import harness  # type: ignore[no-redef]

TEXT = "/today"


async def type_and_time(
    fake: harness.Fake, chats: list[int], rate: float, seconds: float
) -> dict[str, Any]:
    """Type at `rate` a second, then wait for the answers; the answer times, matched per chat."""
    mark = fake.mark()
    total = max(1, int(rate * seconds))
    started = time.monotonic()
    for i in range(total):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        fake.type(chats[i % len(chats)], TEXT)
    typed_at: dict[int, list[float]] = {}
    for at, chat in list(fake.typed):
        if at >= started:
            typed_at.setdefault(chat, []).append(at)
    wanted = set(chats)

    def answered() -> int:
        return len(fake.sends(wanted, since=mark))

    # Until all are answered, or none more comes for 5 s (a send Telegram refused never comes).
    last, last_at = answered(), time.monotonic()
    while (
        answered() < total
        and time.monotonic() - last_at < 5
        and time.monotonic() - started < 60 + seconds
    ):
        await asyncio.sleep(0.05)
        if answered() > last:
            last, last_at = answered(), time.monotonic()
    answers: dict[int, list[float]] = {}
    for s in fake.sends(wanted, since=mark):
        assert s.chat is not None
        answers.setdefault(s.chat, []).append(s.at)
    latencies = []
    for chat, times in typed_at.items():
        for typed, reply in zip(sorted(times), sorted(answers.get(chat, [])), strict=False):
            latencies.append(reply - typed)
    replies = [a for times in answers.values() for a in times]
    span = (max(replies) - started) if replies else float("nan")
    return {
        "typed": total,
        "answered": len(replies),
        "per_s": len(replies) / span if replies else 0.0,
        "p50_ms": harness.percentile(latencies, 50) * 1000,
        "p99_ms": harness.percentile(latencies, 99) * 1000,
        "http_429": fake.refused(429),
    }


async def ours(args: argparse.Namespace, patients: int, rate: float, burst: int) -> dict[str, Any]:
    async with harness.fresh_database(args.database_url, "p4") as url:
        now = datetime.now(UTC)
        await harness.seed(url, 1, patients, harness.tomorrow(now), now)
        if burst:
            due = lambda p: now - timedelta(seconds=1)  # noqa: E731
            await harness.seed(url, patients + 1, burst, due, now)
        chats = [harness.chat_of(p) for p in range(1, patients + 1)]
        reminded = {harness.chat_of(p) for p in range(patients + 1, patients + burst + 1)}
        with harness.Fake(limits=args.limits) as fake:
            fake.open_chats([*chats, *reminded])
            fake.care_team()
            process = harness.BotProcess(harness.bot_env(fake.base_url, url))
            try:
                process.start()
                ready = await harness.wait_until(
                    lambda: (
                        fake.first("getUpdates") is not None
                        and (not burst or len(fake.sends(reminded)) > 0)
                    ),
                    120,
                )
                if not ready:
                    raise RuntimeError(f"the bot did not start:\n{process.tail()}")
                measured = await type_and_time(fake, chats, rate, args.seconds)
                measured["reminders_meanwhile"] = len(fake.sends(reminded))
                process.stop()
            finally:
                process.close()
    return measured


async def echo(args: argparse.Namespace, patients: int, rate: float) -> dict[str, Any]:
    chats = [harness.chat_of(p) for p in range(1, patients + 1)]
    with harness.Fake(limits=args.limits) as fake:
        fake.open_chats(chats)
        process = harness.start_echo(fake.base_url)
        try:
            if not await harness.wait_until(lambda: fake.first("getUpdates") is not None, 120):
                raise RuntimeError("the echo bot did not start")
            return await type_and_time(fake, chats, rate, args.seconds)
        finally:
            process.terminate()
            process.wait(30)


async def taps(args: argparse.Namespace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for patients in args.patients:
        for rate in args.rates:
            cell = {"patients": patients, "rate": rate}
            bare = cell | {"bot": "bare PTB echo"} | await echo(args, patients, rate)
            mine = cell | {"bot": "ours"} | await ours(args, patients, rate, 0)
            busy = cell | {"bot": f"ours, {args.burst:,} reminders due"}
            busy |= await ours(args, patients, rate, args.burst)
            for row in (mine, busy):
                row["p99_ratio"] = row["p99_ms"] / bare["p99_ms"] if bare["p99_ms"] else None
                row["per_s_ratio"] = row["per_s"] / bare["per_s"] if bare["per_s"] else None
            rows += [bare, mine, busy]
    return {
        "bench": "p4_taps",
        "backend": harness.backend(args.database_url or "sqlite"),
        "seconds": args.seconds,
        "burst": args.burst,
        "limits": args.limits,
        "rows": rows,
        **harness.machine(),
        "notes": ["p99_ratio: our p99 over the echo bot's in the same cell (the goal: at most 2)"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--rates", type=float, nargs="+", default=[16.0, 49.0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long they type")
    parser.add_argument("--burst", type=int, default=1_000, help="reminders due, third run")
    parser.add_argument("--limits", action="store_true", help="the fake's 30 a second on")
    parser.add_argument("--database-url", help="PostgreSQL server (default: a SQLite file)")
    parser.add_argument("--json", action="store_true", help="also print one line of JSON")
    args = parser.parse_args()
    result = asyncio.run(taps(args))
    harness.emit(
        f"P4: patients typing {TEXT} ({result['backend']})",
        result,
        result["rows"],
        [
            "patients",
            "rate",
            "bot",
            "answered",
            "per_s",
            "p50_ms",
            "p99_ms",
            "p99_ratio",
            "http_429",
        ],
        args.json,
    )


if __name__ == "__main__":
    main()
