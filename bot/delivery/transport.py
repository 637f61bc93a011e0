"""How the bot talks to Telegram: python-telegram-bot's `BaseRequest` on one aiohttp session.

PTB's own `HTTPXRequest` costs more than half of the CPU a reminder takes; aiohttp (already the
web app's server) sends the same requests at about a third of the cost. This class keeps
HTTPXRequest's contract: the same default timeouts and pool size, per-call timeouts, a form body
(multipart when a file goes along, encoded as httpx encodes it), the User-Agent, the proxy from
the environment, no redirects followed, and the same errors: any timeout is `TimedOut`, any other
failure `NetworkError`, aiohttp's exception as the cause (`notifier.never_left` reads it).

An error's message names aiohttp's error type only: aiohttp's own messages quote the URL, which
holds the bot token.
"""

from __future__ import annotations

import mimetypes
import os
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

FORM = "application/x-www-form-urlencoded"
# What httpx (and HTML5 forms) escape in a multipart part's name or file name.
_FORM_ESCAPES = {'"': "%22", "\\": "\\\\"} | {chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}


class AiohttpRequest(BaseRequest):
    """PTB's transport on aiohttp: one session, made in `initialize`, closed in `shutdown`.

    The arguments mean what HTTPXRequest's mean, with its defaults. `connection_pool_size` caps
    the connections open at once (PTB's default: 256 for calls, 1 for `getUpdates`).
    `pool_timeout` bounds the wait for a free connection; aiohttp waits for one and connects
    within a single limit, so `pool_timeout + connect_timeout` bounds both. aiohttp has no
    timeout for writing: when every timeout is finite, their sum bounds the whole request, so
    an upload the server stops reading still ends.
    """

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}
        self._proxies: dict[URL, tuple[URL | None, aiohttp.BasicAuth | None]] = {}

    @property
    def read_timeout(self) -> float | None:
        """The read timeout used when a call passes none (PTB adds a long poll's wait to it)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session; a second call, or one after `shutdown`, opens a fresh one."""
        if self._session is not None and not self._session.closed:
            return
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._pool_size),
            headers={"User-Agent": self.USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets none
        )

    async def shutdown(self) -> None:
        """Close the session and its connections; safe to call twice."""
        if self._session is None or self._session.closed:
            return
        await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See `BaseRequest.do_request`: the status and body, or TimedOut / NetworkError."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.contains_files if request_data else False
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._media_write_timeout if files else self._write_timeout
        timeout = self._timeout(
            self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout,
            write_timeout,
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout,
            self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout,
        )
        body, content_type = encode(request_data)
        proxy, proxy_auth = self._proxy(url)
        try:
            async with session.request(
                method,
                url,
                data=body,
                headers={"Content-Type": content_type} if content_type else None,
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut(f"Timed out ({_kind(err)})") from err
        except (aiohttp.ClientError, OSError) as err:
            raise NetworkError(_kind(err)) from err

    def _timeout(
        self,
        read: float | None,
        write: float | None,
        connect: float | None,
        pool: float | None,
    ) -> aiohttp.ClientTimeout:
        """aiohttp's timeouts for PTB's four, kept: a handful of combinations recur."""
        key = (read, write, connect, pool)
        timeout = self._timeouts.get(key)
        if timeout is None:
            finite = None not in key
            timeout = aiohttp.ClientTimeout(
                total=sum(t for t in key if t is not None) if finite else None,
                connect=connect + pool if connect is not None and pool is not None else None,
                sock_connect=connect,
                sock_read=read,
            )
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout

    def _proxy(self, url: str) -> tuple[URL | None, aiohttp.BasicAuth | None]:
        """The proxy the environment names for this URL's origin (HTTPS_PROXY, NO_PROXY, as
        httpx reads them), looked up once per origin rather than on every request."""
        target = URL(url)
        origin = target.origin()
        if origin not in self._proxies:
            try:
                self._proxies[origin] = get_env_proxy_for_url(target)
            except LookupError:
                self._proxies[origin] = (None, None)
        return self._proxies[origin]


def encode(request_data: RequestData | None) -> tuple[bytes | None, str | None]:
    """The body and its content type, as httpx sends them: a form, multipart with files."""
    if request_data is None:
        return None, None
    params = request_data.json_parameters
    if request_data.contains_files:
        return multipart(params, request_data.multipart_data)
    if not params:
        return None, None
    return urlencode(params).encode("ascii"), FORM


def multipart(params: dict[str, str], files: dict[str, Any]) -> tuple[bytes, str]:
    """A multipart/form-data body laid out as httpx lays it out: the fields, then the files,
    each file with its name and content type."""
    boundary = os.urandom(16).hex().encode("ascii")
    parts: list[bytes] = []
    for name, value in params.items():
        parts.append(_part(boundary, name, None, None, value.encode("utf-8")))
    for name, (filename, content, mime_type) in files.items():
        if hasattr(content, "read"):
            content = content.read()
        if isinstance(content, str):
            content = content.encode("utf-8")
        if filename and not mime_type:
            mime_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        parts.append(_part(boundary, name, filename, mime_type, bytes(content)))
    parts.append(b"--" + boundary + b"--\r\n")
    return b"".join(parts), f"multipart/form-data; boundary={boundary.decode('ascii')}"


def _part(
    boundary: bytes, name: str, filename: str | None, mime_type: str | None, data: bytes
) -> bytes:
    head = f"Content-Disposition: form-data; {_param('name', name)}"
    if filename:
        head += f"; {_param('filename', filename)}"
    if mime_type:
        head += f"\r\nContent-Type: {mime_type}"
    return b"--" + boundary + b"\r\n" + head.encode("utf-8") + b"\r\n\r\n" + data + b"\r\n"


def _param(key: str, value: str) -> str:
    return f'{key}="{"".join(_FORM_ESCAPES.get(c, c) for c in value)}"'


def _kind(err: BaseException) -> str:
    """An error's type, as `aiohttp.ClientConnectorError`: never its message (the URL)."""
    module = type(err).__module__.split(".")[0]
    return f"{module}.{type(err).__qualname__}"
