"""Every request checked against ``api.json`` and Telegram's limits, refused in its own words.

Pure functions, no state: :func:`coerce` turns wire strings into values by the field types in
``api.json`` (form bodies and PTB-built requests carry non-strings as JSON), :func:`check_required`
refuses a missing required field, :func:`check_markup` and :func:`check_text` apply Telegram's rules
for keyboards, callback data and text lengths. A refusal is an :class:`ApiError` carrying the
status and description Telegram gives. The bot sends plain text only, so no parse mode is
implemented: a request naming one is refused with a 400 that says so, never passed unseen.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

__all__ = [
    "ApiError",
    "attach_uploads",
    "bad",
    "check_markup",
    "check_required",
    "check_text",
    "coerce",
    "load_spec",
]

SPEC_PATH = Path(__file__).with_name("api.json")

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of a message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_BUTTON_KINDS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
# Required fields that may be empty: setWebhook's url "" removes the webhook.
EMPTY_ALLOWED = {"setWebhook": ("url",)}
# Required fields with Telegram's own wording when missing.
EMPTY_MESSAGES = {
    "chat_id": "Bad Request: chat_id is empty",
    "text": "Bad Request: message text is empty",
    "message_id": "Bad Request: message identifier is not specified",
    "callback_query_id": QUERY_TOO_OLD,
}


@functools.cache
def load_spec(path: str = str(SPEC_PATH)) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


class ApiError(Exception):
    """An error answer: Telegram's status code, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


# ------------------------------------------------------------------------ wire values


def attach_uploads(params: dict[str, Any], files: dict[str, tuple]) -> dict[str, Any]:
    """Put uploaded files where an ``attach://<part>`` value names them, else under their part."""
    for part, upload in files.items():
        attach = f"attach://{part}"
        named = [key for key, value in params.items() if value == attach]
        for key in named:
            params[key] = upload
        if not named:
            params[part] = upload
    return params


def coerce(spec: dict, method: str, params: dict) -> dict:
    """Turn wire strings into values by the field types in api.json (idempotent)."""
    method_spec = spec["methods"].get(method)
    fields = {f["name"]: f["types"] for f in method_spec.get("fields", [])} if method_spec else {}
    out = {}
    for name, value in params.items():
        types = fields.get(name)
        out[name] = _coerce_value(value, types, spec["types"]) if types else value
    return out


def _coerce_value(value: Any, types: list[str], known_types: dict) -> Any:
    if not isinstance(value, str):
        return value
    if types == ["String"]:
        return value
    if "Integer" in types and re.fullmatch(r"-?\d+", value):
        return int(value)
    if "Float" in types:
        try:
            return float(value)
        except ValueError:
            return value
    if "Boolean" in types and value.lower() in ("true", "false"):
        return value.lower() == "true"
    structured = any(
        t.startswith("Array of") or (t in known_types and t != "InputFile") for t in types
    )
    if structured and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# ------------------------------------------------------------------------ checks


def check_required(method_spec: dict, params: dict) -> None:
    for f in method_spec.get("fields", []):
        if not f["required"]:
            continue
        value = params.get(f["name"])
        if value == "" and f["name"] in EMPTY_ALLOWED.get(method_spec["name"], ()):
            continue
        if value is None or value == "":
            name = f["name"]
            raise ApiError(400, EMPTY_MESSAGES.get(name, f"Bad Request: {name} is required"))


def check_text(params: dict, key: str, limit: int, *, required: bool) -> tuple[str, list]:
    """The text (or caption) and its entities; Telegram's length rules.

    No parse mode is implemented (the bot sends none): a request naming one is refused, so a
    formatted text can never be stored with its tags as if they were what users read."""
    parse_mode = params.get("parse_mode")
    if parse_mode:
        raise bad(
            f"unsupported parse_mode {parse_mode!r}: this fake Telegram implements no parse "
            "mode (the bot sends plain text); implement it in fake_telegram before using it"
        )
    raw = params.get(key)
    if raw is None or raw == "":
        if required:
            raise bad("message text is empty")
        return "", []
    plain = str(raw)
    given = params.get("entities" if key == "text" else "caption_entities")
    entities = given if isinstance(given, list) else []
    if required and not plain.strip():
        raise bad("message text is empty")
    if len(plain) > limit:
        raise bad("message is too long" if key == "text" else "message caption is too long")
    return plain, entities


def check_markup(markup: Any, *, inline_only: bool = False) -> dict | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                _check_inline_button(button)
        if not any(rows):
            return None  # an empty inline keyboard is no keyboard
        return markup
    if inline_only:
        raise bad("inline keyboard expected")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays')
        for row in rows:
            for button in row:
                if isinstance(button, str):
                    text = button
                elif isinstance(button, dict):
                    text = button.get("text")
                else:
                    text = None
                if not isinstance(text, str) or not text:
                    raise bad('can\'t parse keyboard button: Field "text" must be of type String')
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad("can't parse reply keyboard markup JSON object")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str) or not text:
        raise bad('can\'t parse inline keyboard button: Field "text" must be of type String')
    kinds = [k for k in INLINE_BUTTON_KINDS if k in button]
    if not kinds:
        raise bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(kinds) > 1:
        raise bad(
            f"can't parse inline keyboard button: exactly one of {', '.join(kinds)} must be set"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        size = len(data.encode("utf-8")) if isinstance(data, str) else 0
        if not 1 <= size <= MAX_CALLBACK_DATA:
            raise bad("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not re.match(r"(https?|tg)://\S+$", url):
            raise bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
