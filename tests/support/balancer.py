"""A clinic's reverse proxy in miniature: round robin over N backends, for the webhook tests.

``Balancer(["http://127.0.0.1:8001", "http://127.0.0.1:8002"])`` listens on loopback and sends
each request (method, path and query, headers, body) to the next backend in turn, returning the
backend's answer as it came. A backend that refuses the connection, drops it or times out gets
the caller a 502, as nginx would; Telegram then tries again, and the next try goes to the next
backend. :attr:`Balancer.routed` records which backend took each request and what it answered.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

__all__ = ["Balancer", "Routed"]

# Headers that belong to one connection, not to the request: never forwarded.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


@dataclass(frozen=True)
class Routed:
    """One request: the backend's index and the status the caller got (502: backend failed)."""

    backend: int
    status: int


class Balancer:
    """Round robin over `backends` (base URLs). See the module docstring."""

    def __init__(self, backends: list[str], *, timeout: float = 30.0, port: int = 0):
        if not backends:
            raise ValueError("a balancer needs at least one backend")
        self.backends = [b.rstrip("/") for b in backends]
        self.timeout = timeout
        self.routed: list[Routed] = []
        self._port = port
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: where the callers post."""
        if self._runner is None or not self._runner.addresses:
            raise RuntimeError("the balancer is not started")
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def start(self) -> Balancer:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", self._port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._session = aiohttp.ClientSession(auto_decompress=False)
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        session, self._session = self._session, None
        if runner is not None:
            await runner.cleanup()
        if session is not None:
            await session.close()

    async def __aenter__(self) -> Balancer:
        return await self.start()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()

    def count(self, backend: int, status: int | None = None) -> int:
        """How many requests went to `backend` (with that status, if given)."""
        return sum(1 for r in self.routed if r.backend == backend and status in (None, r.status))

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        index = next(self._turn) % len(self.backends)
        url = self.backends[index] + request.rel_url.path_qs
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = await request.read()
        try:
            async with self._session.request(
                request.method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as answer:
                payload = await answer.read()
                status = answer.status
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
        except (aiohttp.ClientError, TimeoutError):
            self.routed.append(Routed(index, 502))
            return web.Response(status=502, text="Bad Gateway")
        self.routed.append(Routed(index, status))
        return web.Response(status=status, body=payload, headers=kept)
