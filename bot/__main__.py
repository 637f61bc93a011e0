"""Run the bot: `python -m bot` or `ldn-bot`."""

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
from storage.health import DatabaseUnusable, check_database

NO_TOKEN = (
    "BOT_TOKEN is not set. Ask @BotFather in Telegram for a token (send it /newbot), "
    "then put it in .env as BOT_TOKEN=... (see .env.example)."
)


def main(argv: list[str] | None = None) -> int:
    """Run the bot with the settings in `.env` (the offline demo is `python -m devtools demo`)."""
    parser = argparse.ArgumentParser(
        prog="ldn-bot",
        description="The LDN titration reminder bot. Settings come from .env (see .env.example).",
    )
    parser.add_argument("command", nargs="?", choices=["run"], default="run", help="run the bot")
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="take updates from Telegram's webhook (WEBHOOK_URL, WEBHOOK_SECRET), not polling",
    )
    args = parser.parse_args(argv)
    return run_bot(webhook=args.webhook)


def run_bot(*, webhook: bool = False) -> int:
    """Read the settings, then poll Telegram, or take its webhook, until stopped."""
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
        asyncio.run(check_database(settings.database_url))
    except DatabaseUnusable as error:
        print(f"Cannot start: {error}.", file=sys.stderr)
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


if __name__ == "__main__":
    sys.exit(main())
