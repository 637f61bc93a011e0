"""Run the bot: `python -m bot` or `ldn-bot`; `demo` and `simulate` run it offline instead."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from telegram.error import InvalidToken, NetworkError

from bot.application import build_application
from bot.netlog import NetworkFailures, calm
from bot.polling import serve
from bot.settings import SettingsError, load_settings, require_care_team
from storage.health import DatabaseUnusable, check_database

NO_TOKEN = (
    "BOT_TOKEN is not set. Ask @BotFather in Telegram for a token (send it /newbot), "
    "then put it in .env as BOT_TOKEN=... (see .env.example)."
)


QUIET = ("httpx", "httpcore", "apscheduler", "aiosqlite", "asyncpg", "sqlalchemy")


def configure_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    # Whatever LOG_LEVEL says: httpx logs every request URL, and Telegram's URLs carry the bot
    # token; python-telegram-bot's debug output holds the token and the patients' messages; the
    # database drivers' debug output holds every statement's values, patients' words among them.
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLevelName(level)))
    # The rate limiter logs every flood wait as an error with a traceback; the dispatcher handles
    # them (the night is due again after the wait) and logs them itself, in one line.
    logging.getLogger("telegram.ext.AIORateLimiter").addFilter(_not_a_flood_wait)
    # During an outage every call fails alike: one line per kind and minute, not a traceback each.
    network = NetworkFailures()
    for handler in logging.getLogger().handlers:
        calm(handler, network)


def _not_a_flood_wait(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Rate limit hit")


def main(argv: list[str] | None = None) -> int:
    """Run the bot, or with `demo` or `simulate` its offline versions."""
    parser = argparse.ArgumentParser(prog="ldn-bot", description="The LDN titration reminder bot.")
    commands = parser.add_subparsers(dest="command", metavar="{demo,simulate}")
    demo = commands.add_parser(
        "demo", help="a scripted patient's twelve weeks, offline: no token, no network"
    )
    demo.add_argument("--seed", type=int, default=None, help="vary the patient's nights")
    detail = demo.add_mutually_exclusive_group()
    detail.add_argument(
        "--brief", action="store_false", dest="full", help="ordinary nights on one line (default)"
    )
    detail.add_argument(
        "--full", action="store_true", dest="full", help="every message of every night"
    )
    demo.set_defaults(full=False)
    commands.add_parser("simulate", help="be the patient yourself, offline, on a virtual clock")
    args = parser.parse_args(argv)
    # Imported here: the offline modes need the fake Telegram, running the bot does not.
    if args.command == "demo":
        from bot import demo as offline_demo

        seed = offline_demo.DEFAULT_SEED if args.seed is None else args.seed
        return offline_demo.run(seed=seed, full=args.full)
    if args.command == "simulate":
        from bot import simulate

        return simulate.run()
    return run_bot()


def run_bot() -> int:
    """Read the settings, then poll Telegram until stopped."""
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    if not settings.token:
        print(f"Cannot start: {NO_TOKEN}", file=sys.stderr)
        return 2
    try:
        # After the token: a new admin first needs a bot, then their own id from it (/whoami).
        require_care_team(settings)
    except SettingsError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    try:
        # Before logging is set up and before polling: one line, not the migration's chatter.
        asyncio.run(check_database(settings.database_url))
    except DatabaseUnusable as error:
        print(f"Cannot start: {error}.", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    application = build_application(settings)
    try:
        # Our own polling loop: an update is confirmed to Telegram only once it is stored.
        asyncio.run(serve(application))
    except InvalidToken:
        print("Cannot start: Telegram refused BOT_TOKEN (see @BotFather).", file=sys.stderr)
        return 2
    except NetworkError as error:
        url = settings.telegram_api_base_url
        print(f"Cannot start: Telegram did not answer at {url} ({error.message}).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
