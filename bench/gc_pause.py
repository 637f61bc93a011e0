"""How long a full garbage collection holds a started bot's event loop, with and without what
start-up made set aside (`bot/app/serve.py`, `set_aside`).

    python -m bench.gc_pause [--database-url postgresql://...] [--repeat 7] [--json]

In a fresh process: the real Application from `build_application` on a migrated database and
the fake Bot API server, initialized and started as `serve` does; then `gc.collect()` timed
`--repeat` times (the median), then the same after `set_aside()`. Python runs such a full
collection by itself, every so often, while the bot answers: each answer under way waits for it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import statistics
import sys
import time
from typing import Any

from bot.app.application import build_application
from bot.app.serve import set_aside

if __package__:
    from bench import harness
else:  # run by path, against another checkout's bot
    import harness  # type: ignore[no-redef]


def timed_collections(repeat: int) -> tuple[float, int]:
    """The median milliseconds of a full collection, and the objects it walks."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), len(gc.get_objects())


async def started_bot(url: str, base_url: str, repeat: int) -> dict[str, Any]:
    application = build_application(harness.settings_for(url, base_url), dispatch_rounds=False)
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    try:
        before_ms, before_objects = timed_collections(repeat)
        set_aside()
        after_ms, after_objects = timed_collections(repeat)
        set_aside_objects = gc.get_freeze_count()
    finally:
        gc.unfreeze()
        await application.stop()
        await application.shutdown()
    return {
        "full_ms": before_ms,
        "walked": before_objects,
        "set_aside_ms": after_ms,
        "walked_after": after_objects,
        "set_aside": set_aside_objects,
        "ratio": after_ms / before_ms,
    }


def child(url: str, base_url: str, repeat: int, out: Any) -> None:
    out.send(asyncio.run(started_bot(url, base_url, repeat)))


async def measure(url: str | None, repeat: int) -> dict[str, Any]:
    async with harness.fresh_database(url, "gc") as own:
        with harness.Fake(limits=False) as fake:
            context = multiprocessing.get_context("spawn")  # a process with nothing else in it
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=child, args=(own, fake.base_url, repeat, send))
            process.start()
            result: dict[str, Any] = await asyncio.to_thread(receive.recv)
            process.join(30)
        return {"backend": harness.backend(own)} | result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    rows = [await measure(None, args.repeat)]
    if args.database_url:
        rows.append(await measure(args.database_url, args.repeat))
    return {
        "bench": "gc_pause",
        "repeat": args.repeat,
        "rows": rows,
        **harness.machine(),
        "notes": [
            "full_ms: one full collection of a started bot (median); set_aside_ms: the same "
            "after set_aside(); walked: the objects a collection walks; ratio: after over before"
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="also on this PostgreSQL server")
    parser.add_argument("--repeat", type=int, default=7, help="collections timed, each way")
    parser.add_argument("--json", action="store_true", help="also print one line of JSON")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    harness.emit(
        "A full garbage collection in a started bot",
        result,
        result["rows"],
        ["backend", "walked", "full_ms", "set_aside", "walked_after", "set_aside_ms", "ratio"],
        args.json,
    )


if __name__ == "__main__":
    sys.exit(main())
