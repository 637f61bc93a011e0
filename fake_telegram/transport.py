"""PTB adapter: a ``telegram.request.BaseRequest`` whose requests a ``FakeTelegram`` answers.

Use one instance for normal calls and another for ``get_updates``; both may share a core::

    core = FakeTelegram()
    bot = Bot("123456:TEST", request=FakeRequest(core), get_updates_request=FakeRequest(core))
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from fake_telegram.core import FakeTelegram
from fake_telegram.faults import InjectedTimeout
from fake_telegram.validation import attach_uploads

__all__ = ["FakeRequest", "decode_request_data"]


def decode_request_data(request_data: RequestData | None) -> dict[str, Any]:
    """The parameters as they travel on the wire, before the core turns them into values.

    Non-string values arrive as JSON strings (the core decodes them by api.json's field
    types, exactly as it will for a form-encoded HTTP body). Uploaded files become
    ``(filename, bytes, mime_type)`` under their part name; ``attach://name`` references
    at the top level are replaced by the file.
    """
    if request_data is None:
        return {}
    params: dict[str, Any] = dict(request_data.json_parameters)
    if not request_data.contains_files:
        return params
    files = {}
    for part, (filename, content, mime_type) in request_data.multipart_data.items():
        if hasattr(content, "read"):
            content = content.read()
        files[part] = (filename, bytes(content), mime_type)
    return attach_uploads(params, files)


class FakeRequest(BaseRequest):
    """Answers PTB's HTTP requests from a :class:`FakeTelegram` core, in process."""

    def __init__(self, core: FakeTelegram, *, read_timeout: float | None = 5.0):
        self.core = core
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if method != "POST":  # file downloads (bot.get_file(...).download) are not served
            return 404, json.dumps(
                {"ok": False, "error_code": 404, "description": "Not Found"}
            ).encode()
        api_method = url.rstrip("/").rsplit("/", 1)[-1]
        params = decode_request_data(request_data)
        timeout = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        task = asyncio.ensure_future(self.core.call(api_method, params))
        try:
            if api_method == "getUpdates":
                # A long poll the client gives up on ends with it.
                status, body = await asyncio.wait_for(task, timeout)
            else:
                # The server finishes what it started even if the client stops waiting
                # (a message may be sent although the bot saw a timeout), as with real HTTP.
                status, body = await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            raise TimedOut(f"Timed out: {api_method} took longer than {timeout} s") from None
        except InjectedTimeout as fault:
            # What HTTPXRequest raises: TimedOut, with httpx's own timeout as its cause.
            cause = httpx.ConnectTimeout if fault.kind == "connect" else httpx.ReadTimeout
            raise TimedOut() from cause(str(fault))
        return status, json.dumps(body).encode("utf-8")
