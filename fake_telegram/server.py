"""The fake Bot API over real HTTP: a loopback HTTP/1.1 server in front of a ``FakeTelegram``.

It speaks the Bot API as python-telegram-bot (httpx) calls it::

    core = FakeTelegram()
    async with FakeBotApiServer(core, token="123456:TEST") as server:
        bot = telegram.Bot("123456:TEST", base_url=server.base_url)

``POST /bot<token>/<method>`` with a form-encoded body (non-string values JSON-encoded), a
multipart upload (files become ``(filename, bytes, mime_type)`` as in
``transport.decode_request_data``) or a JSON body, and ``GET`` with a query string. The
parameters go through ``core.coerce`` and ``core.call``; the answer is the core's JSON with its
status code. Each connection is served concurrently (a long-polled ``getUpdates`` blocks only
its own connection) and kept alive between requests. The core's injected faults apply (429,
5xx, slow answers); a ``drop`` fault closes the socket without an answer.

Refusals that never reach the core (wrong token 401, unknown path 404, HTTP method 405,
unreadable body 400) are still appended to ``core.requests``, so ``core.client_errors()``
reports them. Only loopback addresses (127.0.0.0/8, ::1) can be bound.

Standalone: ``python -m fake_telegram`` (see ``fake_telegram/__main__.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from fake_telegram.core import (
    Call,
    ConnectionDropped,
    FakeTelegram,
    InjectedTimeout,
    attach_uploads,
)

__all__ = ["FakeBotApiServer", "HttpError"]

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
MAX_BODY_BYTES = 60 * 1024 * 1024  # a 50 MB document plus the multipart envelope


class HttpError(Exception):
    """A refusal before the core: status, description; ``close`` ends the connection."""

    def __init__(self, status: int, description: str | None = None, *, close: bool = False):
        self.status = status
        self.description = description or HTTPStatus(status).phrase
        self.close = close
        super().__init__(self.description)

    def body(self) -> dict:
        return {"ok": False, "error_code": self.status, "description": self.description}


class _Request:
    def __init__(self, method: str, target: str, version: str, headers: dict[str, str]):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = b""

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


class _Connection:
    """A buffered reader over one socket (so a long poll can watch for the client leaving)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()
        self.eof = False

    async def fill(self) -> bool:
        """Read more into the buffer; False at end of stream."""
        if self.eof:
            return False
        data = await self.reader.read(65536)
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    async def read_head(self) -> bytes | None:
        """Bytes up to and including the blank line; None if the client closed cleanly."""
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.buffer[: end + 4])
                del self.buffer[: end + 4]
                return head
            if len(self.buffer) > MAX_HEADER_BYTES:
                raise HttpError(431, "Request Header Fields Too Large", close=True)
            if not await self.fill():
                if self.buffer.strip():
                    raise HttpError(400, "Bad Request: incomplete request", close=True)
                return None

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if not await self.fill():
                raise ConnectionResetError("client closed during the body")
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data


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
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._methods = {name.lower(): name for name in core.spec["methods"]}
        self.connection_count = 0  # connections accepted so far (keep-alive shows as few)

    # ---------------------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        if self._server is None:
            if self._port:
                return self._port
            raise RuntimeError("the server is not started")
        return self._server.sockets[0].getsockname()[1]

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
        if self._server is not None:
            raise RuntimeError("the server is already started")
        self._server = await asyncio.start_server(
            self._serve, self.host, self._port, reuse_address=True
        )
        return self

    async def stop(self) -> None:
        """Stop listening and close every connection, including waiting long polls."""
        server, self._server = self._server, None
        if server is None:
            return
        self._port = server.sockets[0].getsockname()[1] if server.sockets else self._port
        server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for writer in list(self._writers):
            writer.close()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def __aenter__(self) -> FakeBotApiServer:
        return await self.start()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()

    # --------------------------------------------------------------------------- serving

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connection_count += 1
        conn = _Connection(reader, writer)
        try:
            while True:
                try:
                    request = await self._read_request(conn)
                except HttpError as err:
                    await self._send(writer, err.status, err.body(), keep_alive=False)
                    self._log_refusal("", {}, err)
                    break
                if request is None:
                    break
                try:
                    status, body = await self._answer(conn, request)
                except HttpError as err:
                    status, body = err.status, err.body()
                    if err.close:
                        request.headers["connection"] = "close"
                except InjectedTimeout as fault:
                    if fault.kind == "read":
                        while await conn.fill():  # silent until the client gives up
                            pass
                    writer.transport.abort()
                    break
                except ConnectionDropped:
                    writer.transport.abort()
                    break
                except (ConnectionError, asyncio.CancelledError):
                    raise
                except Exception as err:  # a bug in the fake: answer it, don't hang the client
                    logger.exception("fake Telegram failed on %s", request.target)
                    status, body = 500, HttpError(500, f"Internal Server Error: {err!r}").body()
                keep_alive = request.keep_alive
                await self._send(writer, status, body, keep_alive=keep_alive)
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # stop() or the event loop's teardown. End quietly: a connection task that ends
            # cancelled makes Python 3.11's StreamReaderProtocol log "Exception in callback".
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def _read_request(self, conn: _Connection) -> _Request | None:
        head = await conn.read_head()
        if head is None:
            return None
        try:
            text = head.decode("iso-8859-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
            raise HttpError(400, close=True) from None
        lines = text.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise HttpError(400, "Bad Request: malformed request line", close=True)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise HttpError(400, "Bad Request: malformed header", close=True)
            headers[name.lower()] = value.strip()
        if len(headers) > MAX_HEADERS:
            raise HttpError(431, "Request Header Fields Too Large", close=True)
        request = _Request(parts[0], parts[1], parts[2], headers)
        if "transfer-encoding" in headers:
            raise HttpError(411, "Length Required: chunked bodies are not supported", close=True)
        length_header = headers.get("content-length", "0")
        if not (length_header.isascii() and length_header.isdigit()):
            raise HttpError(400, "Bad Request: invalid Content-Length", close=True)
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            raise HttpError(413, "Request Entity Too Large", close=True)
        if headers.get("expect", "").lower() == "100-continue" and length:
            conn.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.body = await conn.read_exactly(length)
        return request

    async def _answer(self, conn: _Connection, request: _Request) -> tuple[int, dict]:
        url = urlsplit(request.target)
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z0-9_]+)/?", unquote(url.path))
        api_method = match.group(2) if match else ""
        if request.method not in ("GET", "POST"):
            raise self._refused(api_method, HttpError(405))
        if match is None:
            raise self._refused(url.path, HttpError(404))
        if self.token is not None and match.group(1) != self.token:
            raise self._refused(api_method, HttpError(401))
        api_method = self._methods.get(api_method.lower(), api_method)
        try:
            params = dict(parse_qsl(url.query, keep_blank_values=True, errors="strict"))
            params.update(self._decode_body(request))
        except UnicodeDecodeError:
            raise self._refused(
                api_method, HttpError(400, "Bad Request: strings must be encoded in UTF-8")
            ) from None
        except _BodyError as err:
            raise self._refused(api_method, HttpError(400, f"Bad Request: {err}")) from None
        params = self.core.coerce(api_method, params)
        if api_method != "getUpdates":
            return await self.core.call(api_method, params)
        return await self._long_poll(conn, params)

    async def _long_poll(self, conn: _Connection, params: dict) -> tuple[int, dict]:
        """getUpdates, cancelled when its client goes away (as PTB's own timeout does)."""
        # Let a closing connection of an abandoned poll be seen before this poll supersedes it.
        await asyncio.sleep(0)
        call = asyncio.ensure_future(self.core.call("getUpdates", params))

        async def watch() -> None:
            while await conn.fill():  # a pipelined request stays in the buffer
                pass
            call.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            return await call
        except asyncio.CancelledError:
            if conn.eof and not _cancelling():
                raise ConnectionResetError("the client left its long poll") from None
            raise
        finally:
            watcher.cancel()
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    def _decode_body(self, request: _Request) -> dict[str, Any]:
        if not request.body:
            return {}
        content_type = request.headers.get("content-type", "")
        mime, _, rest = content_type.partition(";")
        mime = mime.strip().lower()
        if mime == "application/x-www-form-urlencoded":
            text = request.body.decode("utf-8")
            return dict(parse_qsl(text, keep_blank_values=True, errors="strict"))
        if mime == "application/json":
            try:
                data = json.loads(request.body.decode("utf-8"))
            except json.JSONDecodeError:
                raise _BodyError("can't parse JSON object") from None
            if not isinstance(data, dict):
                raise _BodyError("JSON body must be an object")
            return data
        if mime == "multipart/form-data":
            boundary = _header_params(";" + rest).get("boundary")
            if not boundary:
                raise _BodyError("multipart body without a boundary")
            return _decode_multipart(request.body, boundary.encode("latin-1"))
        raise _BodyError(f"unsupported Content-Type {mime or '(none)'}")

    def _refused(self, method: str, err: HttpError) -> HttpError:
        self._log_refusal(method, {}, err)
        return err

    def _log_refusal(self, method: str, params: dict, err: HttpError) -> None:
        self.core.requests.append(Call(method, params, err.status, err.body()))

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter, status: int, body: dict, *, keep_alive: bool
    ) -> None:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        head = (
            f"HTTP/1.1 {status} {phrase}\r\n"
            "Server: fake-telegram\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n"
            "\r\n"
        )
        writer.write(head.encode("latin-1") + payload)
        await writer.drain()


class _BodyError(ValueError):
    pass


def _cancelling() -> bool:
    task = asyncio.current_task()
    return bool(task is not None and task.cancelling())


_PARAM = re.compile(r';\s*([A-Za-z0-9_\-*]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _header_params(value: str) -> dict[str, str]:
    """``; name="x"; filename*=utf-8''y`` -> {"name": "x", "filename": "y"}."""
    out: dict[str, str] = {}
    for key, raw in _PARAM.findall(value):
        raw = raw.strip()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1]).replace("%22", '"')
        key = key.lower()
        if key.endswith("*"):  # RFC 5987: charset'lang'percent-encoded
            charset, _, encoded = raw.partition("'")
            _, _, encoded = encoded.partition("'")
            out[key[:-1]] = unquote(encoded, encoding=charset or "utf-8")
        else:
            out.setdefault(key, raw)
    return out


def _decode_multipart(body: bytes, boundary: bytes) -> dict[str, Any]:
    """Text parts as strings, file parts as ``(filename, bytes, mime_type)``.

    A file part named in an ``attach://<name>`` value replaces that value (as
    ``decode_request_data`` does); other file parts stay under their own name."""
    delimiter = b"--" + boundary
    start = body.find(delimiter)
    if start < 0:
        raise _BodyError("multipart body without its boundary")
    pos = start + len(delimiter)
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    while True:
        if body[pos : pos + 2] == b"--":
            break
        if body[pos : pos + 2] != b"\r\n":
            raise _BodyError("malformed multipart body")
        pos += 2
        end = body.find(b"\r\n" + delimiter, pos)
        if end < 0:
            raise _BodyError("multipart body is not terminated")
        part = body[pos:end]
        pos = end + 2 + len(delimiter)
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            head, content = part.removesuffix(b"\r\n"), b""
        headers: dict[str, str] = {}
        for line in head.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        info = _header_params(disposition[disposition.find(";") :] if ";" in disposition else "")
        name = info.get("name")
        if name is None:
            raise _BodyError("multipart part without a name")
        if "filename" in info:
            mime = headers.get("content-type") or "application/octet-stream"
            files[name] = (info["filename"], content, mime)
        else:
            params[name] = content.decode("utf-8")
    return attach_uploads(params, files)
