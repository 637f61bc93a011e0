"""Run the bot: `ldn-bot` (or `python -m bot`), `ldn-bot migrate`, `ldn-bot run [--webhook]`.

`ldn-bot` alone is the single-process quick start: it migrates, then polls. On a server, the
database is migrated as a step of its own (`ldn-bot migrate`, once per release) and every instance
starts with `ldn-bot run`, which never migrates and refuses a database at another revision.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from telegram.error import InvalidToken, NetworkError

from bot.app.application import build_application
from bot.app.logs import configure_logging
from bot.app.serve import WebhookRefused, serve
from bot.app.settings import SettingsError, load_settings, require_care_team, require_webhook
from bot.app.web import CannotListen
from storage.db import Migrated
from storage.health import DatabaseUnusable, WrongRevision, check_database, migrate_database

NO_TOKEN = (
    "BOT_TOKEN is not set. Ask @BotFather in Telegram for a token (send it /newbot), "
    "then put it in .env as BOT_TOKEN=... (see .env.example)."
)


def main(argv: list[str] | None = None) -> int:
    """Run the bot with the settings in `.env` (the offline demo is `python -m devtools demo`)."""
    parser = argparse.ArgumentParser(
        prog="ldn-bot",
        description=(
            "The LDN titration reminder bot. Settings come from .env (see .env.example). "
            "Without a command: migrate the database, then poll Telegram (one process)."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="[command]")
    commands.add_parser(
        "migrate",
        help="upgrade the database to this version's newest revision, then exit",
        description="Upgrade the database to this version's newest revision, then exit. "
        "Several at once are safe: one upgrades, the others wait and find nothing to do.",
    )
    run = commands.add_parser(
        "run",
        help="run the bot on a database migrated already (never migrates)",
        description="Run the bot. It never migrates: on a database at another revision it "
        "stops and says so (run `ldn-bot migrate` first).",
    )
    run.add_argument(
        "--webhook",
        action="store_true",
        help="take updates from Telegram at WEBHOOK_URL instead of polling",
    )
    arguments = parser.parse_args(argv)
    if arguments.command == "migrate":
        return migrate()
    if arguments.command == "run":
        return run_bot(migrate=False, webhook=arguments.webhook)
    return run_bot(migrate=True)


def migrate() -> int:
    """Upgrade the database at DATABASE_URL and say in one line what was done."""
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Cannot migrate: {error}", file=sys.stderr)
        return 2
    try:
        migrated = asyncio.run(migrate_database(settings.database_url))
    except DatabaseUnusable as error:
        print(f"Cannot migrate: {error}.", file=sys.stderr)
        return 2
    except WrongRevision as error:
        print(f"Cannot migrate: {error}", file=sys.stderr)
        return 2
    print(said(migrated))
    return 0


def said(migrated: Migrated) -> str:
    """What `ldn-bot migrate` did, in one line."""
    if migrated.before == migrated.after:
        return f"The database is at revision {migrated.after} already: nothing to do."
    if migrated.before is None:
        return f"Migrated an empty database to revision {migrated.after}."
    return f"Migrated the database from revision {migrated.before} to {migrated.after}."


def run_bot(*, migrate: bool, webhook: bool = False) -> int:
    """Read the settings, check the database (after migrating it if asked), then serve."""
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
        if webhook:
            require_webhook(settings)
    except SettingsError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    try:
        # Before logging is set up and before polling: one line, not the migration's chatter.
        asyncio.run(_ready(settings.database_url, migrate=migrate))
    except DatabaseUnusable as error:
        print(f"Cannot start: {error}.", file=sys.stderr)
        return 2
    except WrongRevision as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    application = build_application(settings)
    try:
        # Our own polling loop, or our webhook: an update is confirmed only once it is stored.
        asyncio.run(serve(application, webhook=webhook))
    except (CannotListen, WebhookRefused) as error:
        print(f"Cannot start: {error}.", file=sys.stderr)
        return 1
    except InvalidToken:
        print("Cannot start: Telegram refused BOT_TOKEN (see @BotFather).", file=sys.stderr)
        return 2
    except NetworkError as error:
        url = settings.telegram_api_base_url
        print(f"Cannot start: Telegram did not answer at {url} ({error.message}).", file=sys.stderr)
        return 1
    return 0


async def _ready(url: str, *, migrate: bool) -> None:
    if migrate:
        await migrate_database(url)
    await check_database(url)


if __name__ == "__main__":
    sys.exit(main())
