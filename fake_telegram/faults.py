"""Faults tests inject: failed answers, slowness, lost connections, timeouts and outages.

``FakeTelegram.fail()`` queues a :class:`Fault` for the next calls of a method (or of any
method, or only those to one chat); ``outage()`` fails every call until it is ended; ``heal()``
forgets what is still queued. :class:`Faults` holds them and says, for each call, which one
applies; ``FakeTelegram.call`` acts on it. A dropped connection or a timeout is raised as
:class:`ConnectionDropped` / :class:`InjectedTimeout`, which each transport turns into what the
bot would see from a real network.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from fake_telegram.validation import ApiError

__all__ = ["ConnectionDropped", "Fault", "Faults", "InjectedTimeout"]


class ConnectionDropped(ConnectionError):
    """An injected fault: the connection goes away without an answer (``fail(drop=...)``).

    The HTTP server closes the socket; through the in-process transport PTB wraps it in a
    ``telegram.error.NetworkError`` like any transport failure."""


class InjectedTimeout(ConnectionDropped):
    """An injected fault: the client times out (``fail(timeout=...)``).

    ``"connect"``: the request never reached the server (nothing handled). ``"read"``: it was
    handled (a message is sent) but the answer never comes. The in-process transport raises
    what python-telegram-bot raises for httpx's ConnectTimeout or ReadTimeout; the HTTP server
    closes the connection unanswered, or keeps it silent until the client gives up."""

    def __init__(self, kind: str, method: str) -> None:
        super().__init__(f"injected fault: {kind} timeout on {method}")
        self.kind = kind


@dataclass
class Fault:
    method: str | None
    status: int
    retry_after: int
    times: int
    description: str | None
    delay: float
    drop: str | None = None  # "before" (request lost) or "after" (answer lost)
    chat_id: int | None = None  # only calls to this chat
    timeout: str | None = None  # "connect" (request lost) or "read" (answer lost)

    def error(self) -> ApiError:
        """The answer this fault gives: 429 with retry_after, else the status and its phrase."""
        if self.status == 429:
            return ApiError(
                429,
                self.description or f"Too Many Requests: retry after {self.retry_after}",
                {"retry_after": self.retry_after},
            )
        if self.description:
            return ApiError(self.status, self.description)
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Error"
        return ApiError(self.status, phrase)


class Faults:
    """The faults queued by ``fail()`` and the outage set by ``outage()``."""

    def __init__(self) -> None:
        self.queued: list[Fault] = []
        self.outage: int | None = None  # the status every call gets while Telegram is down
        self.outage_spares: tuple[str, ...] = ()  # methods an outage leaves working

    def add(
        self,
        method: str | None,
        *,
        status: int,
        retry_after: int,
        times: int,
        description: str | None,
        delay: float,
        drop: bool | str,
        chat_id: int | None,
        timeout: str | None,
    ) -> None:
        if drop not in (False, True, "before", "after"):
            raise ValueError(f"drop must be True, 'before' or 'after', not {drop!r}")
        if timeout not in (None, "connect", "read"):
            raise ValueError(f"timeout must be 'connect' or 'read', not {timeout!r}")
        mode = None if drop is False else "after" if drop == "after" else "before"
        self.queued.append(
            Fault(
                method,
                status,
                retry_after,
                times,
                description,
                delay,
                drop=mode,
                chat_id=chat_id,
                timeout=timeout,
            )
        )

    def clear(self) -> None:
        self.queued.clear()

    def down(self, method: str) -> int | None:
        """The outage's status for this method (0: the connection drops), or None if up."""
        if self.outage is None or method in self.outage_spares:
            return None
        return self.outage

    def take(self, method: str, params: dict) -> Fault | None:
        """The fault this call gets, counted off (None: the call goes through)."""
        for fault in self.queued:
            if fault.chat_id is not None and str(params.get("chat_id")) != str(fault.chat_id):
                continue
            if fault.times > 0 and fault.method in (None, method):
                fault.times -= 1
                if fault.times == 0:
                    self.queued.remove(fault)
                return fault
        return None
