"""P2: 10,000 reminders due in one minute, Telegram's 30 a second on; red flags typed meanwhile.

    python -m bench.p2_burst --database-url postgresql://... [--reminders 10000] [--json]

The real `python -m bot` process against the fake Bot API server with its limits on (30 sends a
second overall, 20 a minute per group). N patients' reminders fall due, spread evenly over
`--spread` seconds (60) from the moment the bot starts; three other patients type a red flag
during the burst (the bot gets them by long polling, as from Telegram), at a fifth, a half and
four fifths of the time the burst should take at 30 a second. Measured: reminders delivered, the
rate against 30/s, requests answered 429, patients reminded twice or not at all, and the
seconds from each red flag typed to the care team's alert.
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

RED_FLAG = "I can't breathe and my throat feels like it is closing"
LIMIT = 30.0


async def burst(args: argparse.Namespace) -> dict[str, Any]:
    count, flags = args.reminders, 3
    async with harness.fresh_database(args.database_url, "p2") as url:
        now = datetime.now(UTC)
        spread = args.spread
        due = lambda p: now + timedelta(seconds=spread * p / count)  # noqa: E731
        await harness.seed(url, 1, count, due, now)
        await harness.seed(url, count + 1, flags, harness.tomorrow(now), now)
        reminded = {harness.chat_of(p) for p in range(1, count + 1)}
        flaggers = [harness.chat_of(p) for p in range(count + 1, count + flags + 1)]
        with harness.Fake(limits=True) as fake:
            fake.open_chats([*reminded, *flaggers])
            fake.care_team()
            extra = {"DISPATCH_INTERVAL_SECONDS": str(args.dispatch_interval)}
            env = harness.bot_env(fake.base_url, url, **(extra if args.dispatch_interval else {}))
            process = harness.BotProcess(env)
            try:
                process.start()
                if not await harness.wait_until(lambda: fake.first("getUpdates") is not None, 120):
                    raise RuntimeError(f"the bot did not start:\n{process.tail()}")
                polling = fake.first("getUpdates") or 0.0
                expected = max(count / LIMIT, spread)
                moments = [polling + expected * f for f in (0.2, 0.5, 0.8)]
                typed = 0
                last_progress, last_count = time.monotonic(), 0
                while True:
                    now_m = time.monotonic()
                    while typed < flags and now_m >= moments[typed]:
                        fake.type(flaggers[typed], RED_FLAG)
                        typed += 1
                    delivered = len(fake.sends(reminded))
                    if delivered != last_count:
                        last_progress, last_count = now_m, delivered
                    if typed == flags and delivered >= count:
                        break
                    if now_m - last_progress > args.stall or not process.alive():
                        break
                    await asyncio.sleep(0.1)
                # The last alert gets its time, at most a minute.
                await harness.wait_until(
                    lambda: len(fake.sends({harness.CARE_TEAM})) >= flags, 60, 0.05
                )
                code = process.stop()
            finally:
                process.close()
            sends = fake.sends(reminded)
            counts = harness.per_chat(sends)
            alerts = [s.at for s in fake.sends({harness.CARE_TEAM})]
            refused = fake.refused(429)
            latencies = []
            for at, _chat in sorted(fake.typed):
                later = [a for a in alerts if a >= at]
                latencies.append(later[0] - at if later else None)
                if later:
                    alerts.remove(later[0])
    seconds = (sends[-1].at - sends[0].at) if len(sends) > 1 else float("nan")
    rate = len(sends) / seconds if seconds and seconds == seconds else float("nan")
    return {
        "bench": "p2_burst",
        "backend": harness.backend(url),
        "reminders": count,
        "spread_s": spread,
        "delivered": len(counts),
        "sends": len(sends),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "missing": count - len(counts),
        "http_429": refused,
        "seconds": seconds,
        "per_s": rate,
        "of_limit": rate / LIMIT,
        "alert_s": latencies,
        "exit": code,
        **harness.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--database-url", help="PostgreSQL server (default: a SQLite file)")
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the due times span")
    parser.add_argument(
        "--dispatch-interval",
        type=int,
        default=0,
        help="DISPATCH_INTERVAL_SECONDS for the bot (default: the bot's own default)",
    )
    parser.add_argument(
        "--stall", type=float, default=120.0, help="give up after this long with no reminder"
    )
    parser.add_argument("--json", action="store_true", help="also print one line of JSON")
    args = parser.parse_args()
    result = asyncio.run(burst(args))
    row = result | {
        "alert_s": ", ".join("lost" if s is None else f"{s:.2f}" for s in result["alert_s"])
    }
    harness.emit(
        f"P2: {args.reminders:,} reminders due within {args.spread:g} s, limits on",
        result,
        [row],
        [
            "backend",
            "delivered",
            "duplicates",
            "missing",
            "http_429",
            "seconds",
            "per_s",
            "of_limit",
            "alert_s",
        ],
        args.json,
    )


if __name__ == "__main__":
    main()
