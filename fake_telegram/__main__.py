"""Run the fake Telegram Bot API standalone, for a person to point the real bot at.

    python -m fake_telegram [--port 8081] [--token 123456:FAKE] [--host 127.0.0.1]
                            [--deliver-webhooks-to http://127.0.0.1:8080/telegram]

It prints its base URL and serves until Ctrl-C. In another terminal::

    BOT_TOKEN=123456:FAKE TELEGRAM_API_BASE_URL=http://127.0.0.1:8081/bot \
        DATABASE_URL=sqlite:///data/fake-telegram.sqlite3 ADMIN_USER_IDS=1 make run

(The variables win over `.env`, so a real token or database there is never used; user 1 is the
admin, who gets the alerts: ``show 1``.)

Without ``--token`` any token is accepted; with it, others get 401 (the bot's InvalidToken).
With ``--deliver-webhooks-to``, a bot that sets a webhook (any https:// address) gets each update
posted to that plain http:// address on loopback instead, as Telegram would post it.
Only loopback addresses can be bound. What the bot sends is printed as it happens, and lines
typed on stdin play the patients' side (``help`` lists them)::

    send 42 /start            user 42 writes (the user is created on first use)
    press 42 Taken            user 42 presses a button (its label, or how it starts) on the
                              newest bot message to them that has buttons
    block 42 | unblock 42     user 42 blocks / unblocks the bot
    fail sendMessage 429 [n]  the next n calls (default 1) of a method (* for any) fail
    drop sendMessage [n]      ... or lose their connection
    show 42                   the chat with user 42 as it is now
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import threading

from fake_telegram.core import FakeMessage, FakeTelegram, FakeUser
from fake_telegram.server import FakeBotApiServer

HELP = __doc__.split("(``help`` lists them)::", 1)[1].strip("\n")
# A database of its own: a bot pointed at the fake must never touch real patients' records.
FAKE_DATABASE = "sqlite:///data/fake-telegram.sqlite3"
FAKE_ADMIN = 1  # the admin a person plays in the fake: the bot will not start without a care team
_SHOWN = frozenset({"sendMessage", "sendDocument", "sendPhoto", "editMessageText"})


def _describe(core: FakeTelegram, index: int) -> str | None:
    call = core.requests[index]
    if not call.ok:
        return f"  ! {call.method} -> {call.status} {call.body.get('description', '')}"
    if call.method not in _SHOWN:
        return None
    result = call.body.get("result")
    if not isinstance(result, dict):
        return None
    msg = core.message(result["chat"]["id"], result["message_id"])
    if msg is None:
        return None
    verb = "edits" if call.method == "editMessageText" else "to"
    body = msg.text or msg.caption or f"[{msg.kind}: {msg.filename or ''}]"
    buttons = "".join(f" [{b}]" for b in msg.buttons())
    return f"bot {verb} {msg.chat_id} #{msg.message_id}: {body}{buttons}"


def _button(user: FakeUser, typed: str) -> tuple[FakeMessage, str]:
    """The newest message with buttons, and its button named exactly or by a unique beginning."""
    message = next((m for m in reversed(user.messages()) if m.buttons()), None)
    if message is None:
        raise LookupError("no message of the bot to this user has buttons")
    return message, message.label_starting(typed)


def _command(core: FakeTelegram, line: str) -> str | None:
    line = line.strip()
    words = line.split()
    if not words:
        return None
    verb, args = words[0].lower(), words[1:]
    try:
        if verb == "help":
            return HELP
        if verb in ("send", "press") and len(args) >= 2:
            user = core.user(int(args[0]))
            text = line.split(maxsplit=2)[2]
            if verb == "send":
                user.send(text)
            else:
                message, label = _button(user, text)
                user.press(message, label)
            return None
        if verb in ("block", "unblock") and len(args) == 1:
            user = core.user(int(args[0]))
            user.block() if verb == "block" else user.unblock()
            return f"user {user.id} {verb}ed the bot"
        if verb == "fail" and len(args) in (2, 3):
            method = None if args[0] == "*" else args[0]
            times = int(args[2]) if len(args) == 3 else 1
            core.fail(method, status=int(args[1]), times=times)
            return f"the next {times} {args[0]} call(s) answer {args[1]}"
        if verb == "drop" and len(args) in (1, 2):
            method = None if args[0] == "*" else args[0]
            times = int(args[1]) if len(args) == 2 else 1
            core.fail(method, drop=True, times=times)
            return f"the next {times} {args[0]} call(s) lose their connection"
        if verb == "show" and len(args) == 1:
            lines = []
            for msg in core.messages(int(args[0])):
                mark = " (deleted)" if msg.deleted else " (edited)" if msg.edited else ""
                buttons = "".join(f" [{b}]" for b in msg.buttons())
                lines.append(f"#{msg.message_id}{mark}: {msg.text or msg.caption}{buttons}")
            return "\n".join(lines) or "(no messages from the bot)"
    except (LookupError, ValueError, RuntimeError) as err:
        return f"error: {err}"
    return "unknown command; type help"


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    try:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)
    except RuntimeError:  # the loop closed: the server has stopped
        pass


async def serve(host: str, port: int, token: str | None, webhook: str | None = None) -> None:
    core = FakeTelegram(deliver_webhooks_to=webhook)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    async with FakeBotApiServer(core, token=token, host=host, port=port) as server:
        print(f"Fake Telegram Bot API at {server.base_url}", flush=True)
        example = token or "123456:FAKE"
        print(
            f"  BOT_TOKEN={example} TELEGRAM_API_BASE_URL={server.base_url}"
            f" DATABASE_URL={FAKE_DATABASE} ADMIN_USER_IDS={FAKE_ADMIN} make run",
            flush=True,
        )
        print(
            f"User {FAKE_ADMIN} is the admin, who gets the alerts."
            " Type 'help' for the patient's side; Ctrl-C stops.",
            flush=True,
        )
        threading.Thread(target=_read_stdin, args=(loop, lines), daemon=True).start()
        shown = 0

        def report() -> None:  # what the bot did since last time
            nonlocal shown
            for index in range(shown, len(core.requests)):
                text = _describe(core, index)
                if text:
                    print(text, flush=True)
            shown = len(core.requests)

        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.1):
                        line = await lines.get()
                        report()
                        if line is not None and (answer := _command(core, line)):
                            print(answer, flush=True)
                report()
        finally:
            report()
            await core.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fake_telegram", description="A fake Telegram Bot API on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=None, help="the only token accepted (default: any)")
    parser.add_argument(
        "--deliver-webhooks-to",
        default=None,
        metavar="URL",
        help="post a webhook's updates to this http:// address on loopback",
    )
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port, args.token, args.deliver_webhooks_to))
    except KeyboardInterrupt:
        pass
    except (ValueError, OSError) as err:
        print(f"Cannot start: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
