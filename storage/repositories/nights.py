"""Nights: one row per patient and night, the dose and its reminder. Read one night, the newest, a
range, or their statuses, or what planning the next night reads, with the patient, in one
statement; insert a night once (a second worker's insert loses); find what the
dispatcher owes now (`due_ids`), claim a batch of reminders in one statement (`claim_reminders`),
the sends a dead process held (`claims_before`), and the patients who have no next night planned.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    Integer,
    Select,
    Table,
    TextClause,
    and_,
    bindparam,
    case,
    false,
    func,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import ReturningUpdate
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from bot.rules.states import DoseStatus
from storage.db import rowcount
from storage.models import Dose, Patient, PlanHold, receives_reminders
from storage.repositories.base import Aggregate

_PATIENTS: Table = Patient.__table__  # type: ignore[assignment]
_DOSES: Table = Dose.__table__  # type: ignore[assignment]
_HOLDS: Table = PlanHold.__table__  # type: ignore[assignment]

M = TypeVar("M", Patient, Dose, PlanHold)


class Sent(NamedTuple):
    """A reminder out, as `Nights.record_sent` records it."""

    dose_id: int
    sent_at: datetime  # the night's first sending (a snoozed night keeps its first)
    next_action_at: datetime  # the follow-up, or the cutoff
    message_id: int | None  # None: it may have arrived; the id on record stays
    late: bool  # it went out well after its time


class Nights(Aggregate):
    """A patient's nights, one row per night's dose."""

    async def get(self, dose_id: int) -> Dose | None:
        # The patient in the same statement (a join), its holds in one more.
        return await self.session.get(
            Dose, dose_id, options=[joinedload(Dose.patient).selectinload(Patient.holds)]
        )

    async def many(self, ids: Sequence[int]) -> list[Dose]:
        """These nights, each with its patient and the patients' holds, in one statement.

        The rows come apart from the session, to be read and never written through (as
        `for_planning_many`'s): the dispatcher words a batch of reminders from them.
        """
        rows = [row._mapping for row in await self.session.execute(_MANY, {"ids": list(ids)})]
        patients = _patients(rows)
        doses: dict[int, Dose] = {}
        for values in rows:
            if (dose_id := values["n_id"]) not in doses:
                doses[dose_id] = dose = _apart(Dose, _prefixed(values, _DOSES, "n_"))
                set_committed_value(dose, "patient", patients[dose.patient_id])
        return list(doses.values())

    async def latest_before_each(
        self, ids: Sequence[int], statuses: Sequence[str] = ()
    ) -> dict[int, Dose]:
        """For each night of `ids`, its patient's newest night before it (in `statuses` when
        given), in one statement: as `latest`, for a batch, apart from the session (to be read,
        as `many`'s)."""
        parameters: dict[str, Any] = {"ids": list(ids)}
        if statuses:
            parameters["statuses"] = list(statuses)
        result = await self.session.execute(_latest_before_each(bool(statuses)), parameters)
        return {
            values["for_id"]: _apart(Dose, _prefixed(values, _DOSES))
            for values in (row._mapping for row in result)
        }

    async def on(self, patient_id: int, night: date) -> Dose | None:
        result = await self.session.execute(_ON, {"patient_id": patient_id, "night": night})
        return result.scalar_one_or_none()

    async def latest(
        self, patient_id: int, before: date | None = None, statuses: Sequence[str] = ()
    ) -> Dose | None:
        """The patient's newest night (before `before`, in one of `statuses` when given)."""
        query = select(Dose).where(Dose.patient_id == patient_id)
        if before is not None:
            query = query.where(Dose.night < before)
        if statuses:
            query = query.where(Dose.status.in_(statuses))
        result = await self.session.execute(query.order_by(Dose.night.desc()).limit(1))
        return result.scalar_one_or_none()

    async def between(self, patient_id: int, first: date, last: date) -> Sequence[Dose]:
        result = await self.session.execute(
            select(Dose)
            .where(Dose.patient_id == patient_id, Dose.night >= first, Dose.night <= last)
            .order_by(Dose.night)
        )
        return result.scalars().all()

    async def unsent(self, patient_id: int) -> Sequence[Dose]:
        result = await self.session.execute(
            select(Dose).where(Dose.patient_id == patient_id, Dose.status == DoseStatus.SCHEDULED)
        )
        return result.scalars().all()

    async def add(self, dose: Dose) -> bool:
        """Insert a night's row; False when another worker inserted that night first."""
        try:
            async with self.session.begin_nested():
                self.session.add(dose)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def plan(self, dose: Dose) -> bool:
        """Insert a night planned, as `add` does, in one statement and without a savepoint.

        False when another worker inserted that night first. The row object stays out of the
        session: planning never changes a night after it is planned.
        """
        values = _planned(dose)
        result = await self.session.execute(_plan(tuple(values)), values)
        return rowcount(result) == 1

    async def plan_many(self, doses: Sequence[Dose]) -> None:
        """Insert nights planned, as `plan` does, in one statement for each shape of row (one,
        as planning makes them): a night another worker inserted first is left alone."""
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for dose in doses:
            values = _planned(dose)
            shapes.setdefault(tuple(values), []).append(values)
        for keys, rows in shapes.items():
            # One row as one statement; several as one executemany.
            await self.session.execute(_plan(keys), rows if len(rows) > 1 else rows[0])

    async def record_sent(self, rows: Sequence[Sent]) -> set[int]:
        """Record reminders out, in one statement: "sent", when, the message, the next look.

        Only a row still "sending" is recorded (the guard of a one-row claim); return the ids
        recorded. Attempts start again from zero.
        """
        if not rows:
            return set()
        params: dict[str, Any] = {}
        for i, row in enumerate(rows):
            params[f"id_{i}"] = row.dose_id
            params[f"sent_at_{i}"] = row.sent_at
            params[f"next_{i}"] = row.next_action_at
            params[f"message_{i}"] = row.message_id
            params[f"late_{i}"] = row.late
        result = await self.session.execute(_record_sent(len(rows)), params)
        return set(result.scalars())

    async def for_planning(self, patient_id: int) -> tuple[Patient, Dose | None, bool] | None:
        """The patient and their holds read anew, their newest night, and whether a night is
        planned and not reminded yet: what planning their next night reads, in one statement.

        The rows come apart from the session, never written through: the patient's holds are
        changed only on a patient the session keeps (`Patients.fresh`).
        """
        return (await self.for_planning_many([patient_id])).get(patient_id)

    async def for_planning_many(
        self, patient_ids: Sequence[int]
    ) -> dict[int, tuple[Patient, Dose | None, bool]]:
        """As `for_planning`, for several patients in one statement, by patient's id (a patient
        not found is left out)."""
        if len(patient_ids) == 1:  # the statement for one, its SQL the same at each run
            result = await self.session.execute(_FOR_ONE, {"patient_id": patient_ids[0]})
        else:
            result = await self.session.execute(_FOR_MANY, {"patient_ids": list(patient_ids)})
        rows = [row._mapping for row in result]
        patients = _patients(rows)
        read: dict[int, tuple[Patient, Dose | None, bool]] = {}
        for values in rows:  # a patient's first row holds their newest night
            if (patient_id := values["id"]) not in read:
                newest = None
                if values["n_id"] is not None:
                    newest = _apart(Dose, _prefixed(values, _DOSES, "n_"))
                read[patient_id] = (patients[patient_id], newest, bool(values["unsent"]))
        return read

    async def statuses(self, patient_id: int, last: int, until: date | None = None) -> list[str]:
        """The statuses of the patient's newest `last` nights (up to `until`), oldest first."""
        query = select(Dose.status).where(Dose.patient_id == patient_id)
        if until is not None:
            query = query.where(Dose.night <= until)
        result = await self.session.execute(query.order_by(Dose.night.desc()).limit(last))
        return list(reversed(result.scalars().all()))

    async def due_ids(self, now: datetime, limit: int) -> list[int]:
        """Rows whose next action is due, oldest first; served by ix_doses_next_action_at."""
        result = await self.session.execute(
            select(Dose.id)
            .where(Dose.next_action_at <= now)
            .order_by(Dose.next_action_at)
            .limit(limit)
        )
        return list(result.scalars().all())

    async def due_with_patients(self, now: datetime, limit: int) -> list[tuple[int, int]]:
        """Rows whose next action is due, oldest first, each with its patient's id."""
        result = await self.session.execute(
            select(Dose.id, Dose.patient_id)
            .where(Dose.next_action_at <= now)
            .order_by(Dose.next_action_at)
            .limit(limit)
        )
        return [(row.id, row.patient_id) for row in result]

    async def claim_reminders(
        self, now: datetime, deadline: datetime, limit: int
    ) -> list[tuple[int, int, str]]:
        """Claim up to `limit` due reminders in one statement; return (id, patient, status before).

        Each row moves to "sending" until `deadline`, as a one-row claim does. Taken: a night still
        scheduled or snoozed, before its cutoff, and its patient's only row due (one with an older
        night due goes one row at a time, in order). On PostgreSQL the rows are locked with SKIP
        LOCKED: two processes claiming at once split them, neither waits, none is taken twice.
        """
        result = await self.session.execute(
            _CLAIM_REMINDERS, {"now": now, "deadline": deadline, "limit": limit}
        )
        rows = sorted(result.all(), key=lambda row: (row.remind_at, row.id))
        # Only a reminder sent again after a snooze has a first sending time (as `_reclaim` reads).
        return [
            (
                row.id,
                row.patient_id,
                DoseStatus.SCHEDULED if row.sent_at is None else DoseStatus.SNOOZED,
            )
            for row in rows
        ]

    async def release_claims(self, ids: Sequence[int], deadline: datetime, now: datetime) -> int:
        """Put back, due now, reminders claimed until `deadline` and never acted on; how many."""
        if not ids:
            return 0
        before = case((Dose.sent_at.is_(None), DoseStatus.SCHEDULED), else_=DoseStatus.SNOOZED)
        result = await self.session.execute(
            update(Dose)
            .where(
                Dose.id.in_(ids),
                Dose.status == DoseStatus.SENDING,
                Dose.next_action_at == deadline,
            )
            .values(status=before, next_action_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    async def claims_before(self, deadline: datetime, now: datetime) -> int:
        """Make every send claimed with a deadline before `deadline` due now; return how many."""
        result = await self.session.execute(
            update(Dose)
            .where(Dose.status == DoseStatus.SENDING, Dose.next_action_at < deadline)
            .values(next_action_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    async def patients_without_next_night(self) -> list[int]:
        """Patients who should be reminded but have no night planned and none being sent."""
        planned = select(Dose.id).where(
            Dose.patient_id == Patient.id,
            Dose.status.in_((DoseStatus.SCHEDULED, DoseStatus.SENDING)),
        )
        result = await self.session.execute(
            select(Patient.id)
            .where(
                receives_reminders(),
                Patient.start_date.is_not(None),
                Patient.bedtime.is_not(None),
                Patient.timezone.is_not(None),
                ~planned.exists(),
            )
            .order_by(Patient.id)
        )
        return list(result.scalars().all())


def _for_planning(many: bool) -> Select[Any]:
    """`Nights.for_planning_many`'s statement, built once for one patient and once for several:
    each patient's row for each of their holds (one row without any), with their newest night
    and whether one is planned unsent."""
    newest, other = _DOSES.alias("newest"), _DOSES.alias("other")
    latest = (
        select(other.c.id)
        .where(other.c.patient_id == _PATIENTS.c.id)
        .order_by(other.c.night.desc())
        .limit(1)
        .scalar_subquery()
    )
    unsent = (
        select(other.c.id)
        .where(other.c.patient_id == _PATIENTS.c.id, other.c.status == DoseStatus.SCHEDULED)
        .exists()
    )
    return (
        select(
            *_PATIENTS.columns,
            *(c.label(f"n_{c.key}") for c in newest.columns),
            *(c.label(f"h_{c.key}") for c in _HOLDS.columns),
            unsent.label("unsent"),
        )
        .select_from(_PATIENTS)
        .outerjoin(newest, newest.c.id == latest)
        .outerjoin(_HOLDS, _HOLDS.c.patient_id == _PATIENTS.c.id)
        .where(
            _PATIENTS.c.id.in_(bindparam("patient_ids", expanding=True))
            if many
            else _PATIENTS.c.id == bindparam("patient_id")
        )
        .order_by(_PATIENTS.c.id, _HOLDS.c.start)
    )


_FOR_ONE, _FOR_MANY = _for_planning(False), _for_planning(True)


def _claim_reminders() -> ReturningUpdate[tuple[int, int, datetime | None, datetime]]:
    """`Nights.claim_reminders`'s statement, built once: building it took longer than running it,
    and held the event loop while it did."""
    other = aliased(Dose)
    waiting = (DoseStatus.SCHEDULED, DoseStatus.SNOOZED)
    now = bindparam("now", type_=_DOSES.c.next_action_at.type)
    due = (
        select(Dose.id)
        .where(
            Dose.next_action_at <= now,
            Dose.status.in_(waiting),
            Dose.cutoff_at > now,
            ~select(other.id)
            .where(
                other.patient_id == Dose.patient_id,
                other.id != Dose.id,
                other.next_action_at <= now,
            )
            .exists(),
        )
        .order_by(Dose.next_action_at)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    return (
        update(Dose)
        .where(Dose.id.in_(due.scalar_subquery()), Dose.status.in_(waiting))
        .values(status=DoseStatus.SENDING, next_action_at=bindparam("deadline"))
        .returning(Dose.id, Dose.patient_id, Dose.sent_at, Dose.remind_at)
        .execution_options(synchronize_session=False)
    )


_CLAIM_REMINDERS = _claim_reminders()
# `Nights.many`'s, built once: the dispatcher reads each batch of reminders with it.
_MANY = (
    select(
        *_PATIENTS.columns,
        *(c.label(f"n_{c.key}") for c in _DOSES.columns),
        *(c.label(f"h_{c.key}") for c in _HOLDS.columns),
    )
    .select_from(_DOSES)
    .join(_PATIENTS, _PATIENTS.c.id == _DOSES.c.patient_id)
    .outerjoin(_HOLDS, _HOLDS.c.patient_id == _PATIENTS.c.id)
    .where(_DOSES.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_DOSES.c.id, _HOLDS.c.start)
)


@functools.cache
def _latest_before_each(by_status: bool) -> Select[Any]:
    """`Nights.latest_before_each`'s statement, built once for each shape: building it (an
    aliased night, a window, a subquery) held the event loop for milliseconds at each batch."""
    tonight = aliased(Dose)
    newest = func.row_number().over(partition_by=tonight.id, order_by=Dose.night.desc())
    earlier = (
        select(Dose.id.label("earlier_id"), tonight.id.label("for_id"), newest.label("rank"))
        .join(tonight, and_(tonight.patient_id == Dose.patient_id, Dose.night < tonight.night))
        .where(tonight.id.in_(bindparam("ids", expanding=True)))
    )
    if by_status:
        earlier = earlier.where(Dose.status.in_(bindparam("statuses", expanding=True)))
    ranked = earlier.subquery()
    return (
        select(*_DOSES.columns, ranked.c.for_id)
        .join(ranked, ranked.c.earlier_id == _DOSES.c.id)
        .where(ranked.c.rank == 1)
    )


# `Nights.on`'s, built once: a patient's every look at tonight reads it.
_ON = select(Dose).where(
    Dose.patient_id == bindparam("patient_id"), Dose.night == bindparam("night")
)

# The defaults `Nights.plan` gives the columns of a night not set: plain values, all of them.
_DEFAULTS = {
    c.key: c.default.arg
    for c in _DOSES.columns
    if isinstance(c.default, ScalarElementColumnDefault)
}
assert len(_DEFAULTS) == sum(c.default is not None for c in _DOSES.columns)


@functools.cache
def _plan(keys: tuple[str, ...]) -> TextClause:
    """`Nights.plan`'s insert of these columns, built once: a night another worker inserted
    first is left alone. As text, the same on both backends: SQLAlchemy 2.0 compiles an
    `on_conflict_do_nothing` insert anew at each run, which costs more than the insert."""
    columns = [_DOSES.c[key] for key in keys]
    return text(
        f"INSERT INTO {_DOSES.name} ({', '.join(c.name for c in columns)}) "
        f"VALUES ({', '.join(f':{c.key}' for c in columns)}) "
        "ON CONFLICT (patient_id, night) DO NOTHING"
    ).bindparams(*(bindparam(c.key, type_=c.type) for c in columns))


def _apart(model: type[M], values: dict[str, Any]) -> M:
    """A row read, as an object of `model` apart from any session, to be read and never written
    through: its values set as loading sets them (the constructor's events for each column cost
    more than the statement that read them)."""
    row = model.__mapper__.class_manager.new_instance()
    row.__dict__.update(values)
    return row


def _prefixed(values: Any, table: Table, prefix: str = "") -> dict[str, Any]:
    """The columns of `table` in a row read, each labelled `prefix` + its key."""
    return {c.key: values[f"{prefix}{c.key}"] for c in table.columns}


def _patients(rows: Sequence[Any]) -> dict[int, Patient]:
    """The patients in rows read with their holds (a row for each hold, `h_` columns, none for
    a patient without), each with their holds in the order read, by id: apart from the session."""
    patients: dict[int, Patient] = {}
    holds: dict[int, dict[int, PlanHold]] = {}  # by patient, by hold
    for values in rows:
        if (patient_id := values["id"]) not in patients:
            patients[patient_id] = _apart(Patient, _prefixed(values, _PATIENTS))
            holds[patient_id] = {}
        if (hold_id := values["h_id"]) is not None and hold_id not in holds[patient_id]:
            holds[patient_id][hold_id] = _apart(PlanHold, _prefixed(values, _HOLDS, "h_"))
    for patient_id, patient in patients.items():
        set_committed_value(patient, "holds", list(holds[patient_id].values()))
    return patients


def _planned(dose: Dose) -> dict[str, Any]:
    """A night's row as `Nights.plan` inserts it: the columns given, and the defaults of the
    others, as an ORM insert would; never the id: the database numbers the row."""
    given = inspect(dose).dict
    return {
        c.key: given[c.key] if c.key in given else _DEFAULTS[c.key]
        for c in _DOSES.columns
        if c.key != "id" and (c.key in given or c.key in _DEFAULTS)
    }


@functools.cache
def _record_sent(size: int) -> ReturningUpdate[tuple[int]]:
    """`Nights.record_sent`'s statement for `size` rows, built once for each size: each row's
    values picked by its id (CASE), the same on both backends."""
    c = _DOSES.c
    ids = [bindparam(f"id_{i}", type_=c.id.type) for i in range(size)]

    def each(name: str, column: Any) -> Any:
        picks = [(ids[i], bindparam(f"{name}_{i}", type_=column.type)) for i in range(size)]
        return case(*picks, value=c.id, else_=column)

    late: list[BindParameter[bool]] = [
        bindparam(f"late_{i}", type_=c.sent_late.type) for i in range(size)
    ]
    return (
        update(_DOSES)
        .where(c.id.in_(ids), c.status == DoseStatus.SENDING)
        .values(
            status=DoseStatus.SENT,
            attempts=0,
            sent_at=each("sent_at", c.sent_at),
            next_action_at=each("next", c.next_action_at),
            reminder_message_id=func.coalesce(
                each("message", c.reminder_message_id), c.reminder_message_id
            ),
            sent_late=case(
                (or_(false(), *(and_(c.id == ids[i], late[i]) for i in range(size))), True),
                else_=c.sent_late,
            ),
        )
        .returning(c.id)
    )
