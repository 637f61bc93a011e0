"""Run the bot: `python -m bot` or `ldn-bot`."""

from __future__ import annotations

import argparse
import logging
import sys

from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot.application import build_application
from bot.settings import SettingsError, load_settings

NO_TOKEN = (
    "BOT_TOKEN is not set. Ask @BotFather in Telegram for a token (send it /newbot), "
    "then put it in .env as BOT_TOKEN=... (see .env.example)."
)


def configure_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    # Whatever LOG_LEVEL says: httpx logs every request URL, and Telegram's URLs carry the bot
    # token; python-telegram-bot's debug output holds the token and the patients' messages.
    for name in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLevelName(level)))


def main(argv: list[str] | None = None) -> int:
    """Read the settings, then poll Telegram until stopped."""
    parser = argparse.ArgumentParser(prog="ldn-bot", description="The LDN titration reminder bot.")
    parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    if not settings.token:
        print(f"Cannot start: {NO_TOKEN}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    application = build_application(settings)
    try:
        # A few tries first: a network blip while the server boots should not stop the bot.
        application.run_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=3)
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
