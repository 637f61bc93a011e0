"""What a log line is about: the update, patient row, dose row or escalation being handled.

Ids only, never words: they let one follow an update or a night through the logs (as fields of
the JSON lines, `LOG_FORMAT=json`) without a log line ever holding what a patient wrote. They are
carried by context variables, so every line logged while an update is handled, or while the
dispatcher acts on one dose, carries them without being passed along by hand; an asyncio task
started meanwhile inherits them.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

FIELDS: dict[str, ContextVar[int | None]] = {
    name: ContextVar(f"log_{name}", default=None)
    for name in ("update_id", "patient_id", "dose_id", "escalation_id")
}


def current() -> dict[str, int]:
    """The ids in force here, by field name; only those set."""
    ids = {name: var.get() for name, var in FIELDS.items()}
    return {name: value for name, value in ids.items() if value is not None}


def note(**ids: int | None) -> None:
    """Set ids until the end of the enclosing `about` or `scoped` call."""
    for name, value in ids.items():
        FIELDS[name].set(value)


@contextmanager
def about(**ids: int | None) -> Iterator[None]:
    """Lines logged inside carry these ids; the ids before come back after."""
    tokens = [(FIELDS[name], FIELDS[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def scoped(work: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Let `work` `note` ids for its own lines: they are gone once it returns."""

    @functools.wraps(work)
    async def scope(*args: P.args, **kwargs: P.kwargs) -> R:
        tokens = [(var, var.set(var.get())) for var in FIELDS.values()]
        try:
            return await work(*args, **kwargs)
        finally:
            for var, token in reversed(tokens):
                var.reset(token)

    return scope
