"""P3: a million patients at rest: start-up, memory, and a dispatcher round's cost as they grow.

    python -m bench.p3_rest [--patients 1000000] [--database-url postgresql://...] [--json]

Patients are added in bulk (each enrolled, with tonight's reminder due later in the next 23
hours: nothing due) up to 1,000, 100,000 and N. At each size, a dispatcher round (`dispatch()`
as `build_services` wires it, Telegram stubbed: nothing is due, so this is the round's own
queries) is timed: the median and the fastest of `--repeat` (the fastest is the least disturbed
by others on a shared machine). Then the real `python -m bot` starts against the
fake Bot API: seconds from its start to its first getUpdates, and its RSS a few seconds later.
Flat round costs are the goal.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from bot.app.application import build_services
from storage.db import Database

if __package__:
    from bench import harness
else:  # run by path, against another checkout's bot
    import harness  # type: ignore[no-redef]


async def round_ms(url: str, now: datetime, repeat: int) -> tuple[float, float]:
    """A dispatcher round with nothing due: the median and the fastest, in milliseconds."""
    db = Database(url)
    try:
        services = build_services(
            harness.settings_for(url), db, harness.FixedClock(now), harness.StubNotifier()
        )
        await services.dispatcher.dispatch()  # warm: connections, statement caches
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            await services.dispatcher.dispatch()
            timings.append(time.perf_counter() - started)
        return harness.median(timings) * 1000, min(timings) * 1000
    finally:
        await db.dispose()


async def start_up(url: str, settle: float) -> dict[str, Any]:
    with harness.Fake(limits=True) as fake:
        fake.care_team()
        process = harness.BotProcess(harness.bot_env(fake.base_url, url))
        try:
            process.start()
            polled = await harness.wait_until(lambda: fake.first("getUpdates") is not None, 120)
            if not polled:
                raise RuntimeError(f"the bot did not start:\n{process.tail()}")
            first_poll = (fake.first("getUpdates") or 0.0) - process.started_at
            await asyncio.sleep(settle)  # the first dispatcher round has run
            rss = process.rss_mb() if process.alive() else float("nan")
            code = process.stop()
        finally:
            process.close()
    return {"start_s": first_poll, "rss_mb": rss, "exit": code}


async def rest(args: argparse.Namespace) -> dict[str, Any]:
    sizes = sorted({s for s in (1_000, 100_000, args.patients) if s <= args.patients})
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    async with harness.fresh_database(args.database_url, "p3") as url:
        seeded = 0
        for size in sizes:
            started = time.perf_counter()
            await harness.seed(url, seeded + 1, size - seeded, harness.tomorrow(now), now)
            seed_s = time.perf_counter() - started
            seeded = size
            cost, fastest = await round_ms(url, now, args.repeat)
            rows.append(
                {"patients": size, "seed_s": seed_s, "round_ms": cost, "round_min_ms": fastest}
            )
        process = await start_up(url, args.settle)
        name = harness.backend(url)
    return {
        "bench": "p3_rest",
        "backend": name,
        "patients": args.patients,
        "rounds": rows,
        **process,
        "flat": rows[-1]["round_ms"] / rows[0]["round_ms"],
        **harness.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="PostgreSQL server (default: a SQLite file)")
    parser.add_argument("--repeat", type=int, default=20, help="rounds to take the median of")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before reading RSS")
    parser.add_argument("--json", action="store_true", help="also print one line of JSON")
    args = parser.parse_args()
    result = asyncio.run(rest(args))
    result["notes"] = [
        f"start-up to first getUpdates {result['start_s']:.2f} s, RSS {result['rss_mb']:.0f} MB "
        f"after {args.settle:g} s; round cost at N over at the smallest size: {result['flat']:.2f}"
    ]
    harness.emit(
        f"P3: {args.patients:,} patients at rest ({result['backend']})",
        result,
        result["rounds"],
        ["patients", "seed_s", "round_ms", "round_min_ms"],
        args.json,
    )


if __name__ == "__main__":
    main()
