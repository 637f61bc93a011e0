"""The fake Bot API over real HTTP: an ``aiohttp.web`` server on loopback in front of a core.

It speaks the Bot API as python-telegram-bot (httpx) calls it::

    core = FakeTelegram()
    async with FakeBotApiServer(core, token="123456:TEST") as server:
        bot = telegram.Bot("123456:TEST", base_url=server.base_url)

``POST /bot<token>/<method>`` with a form-encoded body (non-string values JSON-encoded), a
multipart upload (files become ``(filename, bytes, mime_type)`` as in
``transport.decode_request_data``) or a JSON body, and ``GET`` with a query string. The
parameters go through ``core.coerce`` and ``core.call``; the answer is the core's JSON with its
status code. aiohttp keeps connections alive and serves each concurrently; a long-polled
``getUpdates`` is cancelled when its client goes away, while any other call runs to its end
(a message may be sent although the client stopped waiting, as with Telegram). The core's
injected faults apply (429, 5xx, slow answers); a ``drop`` fault or a connect timeout closes
the connection without an answer, a read timeout keeps it silent until the client gives up.

Refusals that never reach the core (wrong token 401, unknown path 404, HTTP method 405,
unreadable body 400, too large 413) are still appended to ``core.requests``, so
``core.client_errors()`` reports them. Only loopback addresses (127.0.0.0/8, ::1) can be bound.
File downloads (``/file/bot<token>/...``) are answered 404.

Standalone: ``python -m fake_telegram`` (see ``fake_telegram/__main__.py``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import weakref
from http import HTTPStatus
from typing import Any, NoReturn
from urllib.parse import parse_qsl

from aiohttp import web

from fake_telegram.core import FakeTelegram
from fake_telegram.faults import ConnectionDropped, InjectedTimeout
from fake_telegram.state import Call
from fake_telegram.validation import attach_uploads

__all__ = ["FakeBotApiServer", "HttpError"]

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 60 * 1024 * 1024  # a 50 MB document plus the multipart envelope
_PATH = re.compile(r"/bot([^/]+)/([A-Za-z0-9_]+)/?")


class HttpError(Exception):
    """A refusal before the core: status and description."""

    def __init__(self, status: int, description: str | None = None):
        self.status = status
        self.description = description or HTTPStatus(status).phrase
        super().__init__(self.description)

    def body(self) -> dict:
        return {"ok": False, "error_code": self.status, "description": self.description}


class _BodyError(ValueError):
    pass


class FakeBotApiServer:
    """A ``FakeTelegram`` served over HTTP on loopback. See the module docstring."""

    def __init__(
        self,
        core: FakeTelegram,
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        if host == "localhost":
            host = "127.0.0.1"
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"host must be a loopback IP address, not {host!r}") from None
        if not address.is_loopback:
            raise ValueError(f"refusing to listen on {host}: only 127.0.0.0/8 and ::1 are allowed")
        self.core = core
        self.token = token
        self.host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._handling: set[asyncio.Task] = set()  # requests being answered, cancelled by stop()
        self._transports: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()
        self._methods = {name.lower(): name for name in core.spec["methods"]}
        self.connection_count = 0  # connections that sent a request (keep-alive shows as few)

    # ---------------------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        if self._runner is None or not self._runner.addresses:
            if self._port:
                return self._port
            raise RuntimeError("the server is not started")
        return self._runner.addresses[0][1]

    @property
    def base_url(self) -> str:
        """``http://host:port/bot``: PTB's ``base_url`` / TELEGRAM_API_BASE_URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/bot"

    @property
    def file_url(self) -> str:
        """PTB's ``base_file_url`` counterpart (file downloads are answered 404)."""
        return self.base_url.removesuffix("/bot") + "/file/bot"

    async def start(self) -> FakeBotApiServer:
        if self._runner is not None:
            raise RuntimeError("the server is already started")
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{path:.*}", self._handle)
        # handler_cancellation: a client that leaves cancels its request (a long poll ends).
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self._port, reuse_address=True).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        return self

    async def stop(self) -> None:
        """Stop listening and close every connection, including waiting long polls."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if runner.addresses:
            self._port = runner.addresses[0][1]
        for task in list(self._handling):
            task.cancel()
        await runner.cleanup()

    async def __aenter__(self) -> FakeBotApiServer:
        return await self.start()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()

    # --------------------------------------------------------------------------- serving

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if transport is not None and transport not in self._transports:
            self._transports.add(transport)
            self.connection_count += 1
        task = asyncio.current_task()
        assert task is not None
        self._handling.add(task)
        try:
            status, body = await self._answer(request)
        except HttpError as err:
            status, body = err.status, err.body()
        except InjectedTimeout as fault:
            if fault.kind == "connect" and transport is not None:
                transport.abort()
            await _until_cancelled()  # silent until the client gives up (or it was closed)
        except ConnectionDropped:
            if transport is not None:
                transport.abort()
            await _until_cancelled()
        except Exception as err:  # a bug in the fake: answer it, don't hang the client
            logger.exception("fake Telegram failed on %s", request.path)
            status, body = 500, HttpError(500, f"Internal Server Error: {err!r}").body()
        finally:
            self._handling.discard(task)
        return _json_response(status, body)

    async def _answer(self, request: web.Request) -> tuple[int, dict]:
        match = _PATH.fullmatch(request.path)
        api_method = match.group(2) if match else ""
        if request.method not in ("GET", "POST"):
            raise self._refused(api_method, HttpError(405))
        if match is None:
            raise self._refused(request.path, HttpError(404))
        if self.token is not None and match.group(1) != self.token:
            raise self._refused(api_method, HttpError(401))
        api_method = self._methods.get(api_method.lower(), api_method)
        try:
            query = request.rel_url.raw_query_string
            params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True, errors="strict"))
            params.update(await _decode_body(request))
        except UnicodeDecodeError:
            raise self._refused(
                api_method, HttpError(400, "Bad Request: strings must be encoded in UTF-8")
            ) from None
        except web.HTTPRequestEntityTooLarge:
            raise self._refused(api_method, HttpError(413, "Request Entity Too Large")) from None
        except _BodyError as err:
            raise self._refused(api_method, HttpError(400, f"Bad Request: {err}")) from None
        params = self.core.coerce(api_method, params)
        if api_method == "getUpdates":
            # Let a closing connection of an abandoned poll be seen before this poll supersedes
            # it; a client that leaves cancels this request, and so its poll.
            await asyncio.sleep(0)
            return await self.core.call(api_method, params)
        # Any other call is finished even if its client stops waiting, as Telegram does.
        call = asyncio.ensure_future(self.core.call(api_method, params))
        call.add_done_callback(_retrieve)
        return await asyncio.shield(call)

    def _refused(self, method: str, err: HttpError) -> HttpError:
        self.core.requests.append(Call(method, {}, err.status, err.body()))
        return err


async def _decode_body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    mime = request.content_type.lower()
    if mime == "multipart/form-data":
        return await _decode_multipart(request)
    data = await request.read()
    if not data:
        return {}
    if mime == "application/x-www-form-urlencoded":
        return dict(parse_qsl(data.decode("utf-8"), keep_blank_values=True, errors="strict"))
    if mime == "application/json":
        try:
            body = json.loads(data.decode("utf-8"))
        except json.JSONDecodeError:
            raise _BodyError("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise _BodyError("JSON body must be an object")
        return body
    raise _BodyError(f"unsupported Content-Type {mime or '(none)'}")


async def _decode_multipart(request: web.Request) -> dict[str, Any]:
    """Text parts as strings, file parts as ``(filename, bytes, mime_type)``.

    A file part named in an ``attach://<name>`` value replaces that value (as
    ``decode_request_data`` does); other file parts stay under their own name."""
    try:
        form = await request.post()
    except (ValueError, AssertionError) as err:  # aiohttp's refusals of a malformed body
        raise _BodyError(f"malformed multipart body: {err}") from None
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for name, value in form.items():
        if isinstance(value, web.FileField):
            # A quote in a file name travels as %22 (HTML5 forms, and httpx).
            filename = value.filename.replace("%22", '"')
            files[name] = (filename, value.file.read(), value.content_type)
            value.file.close()
        elif isinstance(value, bytes | bytearray):
            params[name] = bytes(value).decode("utf-8")
        else:
            params[name] = value
    return attach_uploads(params, files)


def _json_response(status: int, body: dict) -> web.Response:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return web.Response(body=payload, status=status, reason=reason, content_type="application/json")


async def _until_cancelled() -> NoReturn:
    """Wait until aiohttp cancels the request: its client went away, or the server stopped."""
    await asyncio.get_running_loop().create_future()  # never resolved
    raise AssertionError("unreachable")


def _retrieve(call: asyncio.Future) -> None:
    """Take a finished call's exception, so one whose client left is not reported unread."""
    if not call.cancelled():
        call.exception()
