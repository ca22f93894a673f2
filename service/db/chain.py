"""Hash chains over the logs: each entry's hash covers its content and the previous entry's hash.

Writers lock the chain's head row (``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already
serialises writers), so concurrent processes append one after another and the chain never forks.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, TypedDict

import orjson
from sqlalchemy import JSON, Connection, Text, bindparam, cast, func, insert, select, update
from sqlalchemy.orm import Session

from .. import jsonio
from . import prepared
from .models import AlertLog, AuditEvent, Base, ChainHead

GENESIS = "0" * 64
ALERT_LOG = "alert_log"
AUDIT_EVENT = "audit_event"

_ALERT_LOG_FIELDS = (
    "id", "created_at", "channel", "client_id", "request_id", "kb_version_id", "inputs",
    "medications", "alerts", "scope", "complete", "highest_severity", "min_severity", "patient_ref",
)  # fmt: skip
_AUDIT_EVENT_FIELDS = ("created_at", "actor", "action", "target", "outcome", "details")
FIELDS = {ALERT_LOG: _ALERT_LOG_FIELDS, AUDIT_EVENT: _AUDIT_EVENT_FIELDS}
MODELS: dict[str, type[AlertLog] | type[AuditEvent]] = {
    ALERT_LOG: AlertLog,
    AUDIT_EVENT: AuditEvent,
}


def _canonical_value(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def entry_hash(chain: str, seq: int, prev_hash: str, values: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash, the position and the canonical JSON of the entry's content."""
    content = {field: _canonical_value(values[field]) for field in FIELDS[chain]}
    canonical = jsonio.canonical({"chain": chain, "seq": seq, "content": content})
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()


_HEADS = Base.metadata.tables["chain_head"]
# Built once: a check runs these on every answer, and constructing statements is not free.
_LOCK_HEAD = (
    select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.name == bindparam("chain")).with_for_update()
)
_NEW_HEAD = insert(_HEADS)
_MOVE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.name == bindparam("chain"))
    .values(seq=bindparam("seq"), hash=bindparam("hash"))
)


def ask_head(connection: Connection, chain: str) -> prepared.Pending:
    """Lock and read the chain's head, sent now and read by ``link``, so it can share a round trip."""
    return prepared.send(connection, _LOCK_HEAD, {"chain": chain})


class ChainLinks(TypedDict):
    """Where an entry sits in its chain: what ``link`` adds to the entry's own fields."""

    seq: int
    prev_hash: str
    row_hash: str


def link(
    session: Session | Connection,
    chain: str,
    values: Mapping[str, Any],
    head: prepared.Pending | None = None,
) -> ChainLinks:
    """The chain fields for an entry with ``values``, advancing the head (locked until commit).

    ``head`` is the head already asked for (``ask_head``) in this transaction.
    """
    if isinstance(session, Session):
        session.flush()  # what the session holds goes first, as an ORM query would have seen to
    connection = session.connection() if isinstance(session, Session) else session
    current = (head or ask_head(connection, chain)).first()
    seq, prev_hash = current if current else (0, GENESIS)
    row_hash = entry_hash(chain, seq + 1, prev_hash, values)
    if current is None:
        prepared.execute(connection, _NEW_HEAD, [{"name": chain, "seq": seq + 1, "hash": row_hash}])
    else:
        prepared.execute(
            connection, _MOVE_HEAD, [{"chain": chain, "seq": seq + 1, "hash": row_hash}]
        )
    return {"seq": seq + 1, "prev_hash": prev_hash, "row_hash": row_hash}


def append(session: Session, chain: str, row: AlertLog | AuditEvent) -> None:
    """Link an ORM ``row`` after the current head and add it to the session."""
    fields = link(session, chain, {f: getattr(row, f) for f in FIELDS[chain]})
    for name, value in fields.items():
        setattr(row, name, value)
    session.add(row)


@dataclass(frozen=True)
class Verification:
    chain: str
    entries: int
    head_hash: str
    first_broken: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


PARALLEL_FROM = 100_000  # below this many entries one walk beats starting processes


def verify(session: Session, chain: str, batch: int = 5_000, workers: int = 1) -> Verification:
    """Walk the whole chain in order: detects modified, deleted, inserted and reordered entries.

    A long chain on a database other processes can open is cut into ``workers`` stretches of
    entries, each walked by its own process on its own connection (hashing is CPU-bound Python);
    how the stretches join is checked here, entry by entry as one walk would, so the verdict and
    the first broken entry are the same. Only committed entries are seen by those processes.

    The walk stops at the head read first: checks keep being logged while it runs, and an entry
    written after that read is verified by the next run, not mistaken for one past the end. An
    entry past the head no writer could have added (the head does not cover it) is reported.
    """
    head = session.get(ChainHead, chain)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    url = session.get_bind().engine.url
    if workers > 1 and head_seq >= PARALLEL_FROM and url.database not in (None, "", ":memory:"):
        cuts = [head_seq * k // workers for k in range(1, workers)]
        lows, highs = [None, *cuts], [*cuts, head_seq]  # the low end open: strays are seen
        address = url.render_as_string(hide_password=False)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            stretches = list(
                pool.map(_walk_database, repeat(address), repeat(chain), lows, highs, repeat(batch))
            )
    else:
        stretches = [_walk(session.connection(), chain, None, head_seq, batch)]
    expected_prev, expected_seq, count = GENESIS, 1, 0
    for stretch in stretches:
        if stretch.first_seq is None or stretch.first_prev is None:
            continue  # no entries in this stretch
        joint = _link_problem(stretch.first_seq, stretch.first_prev, expected_seq, expected_prev)
        if joint is not None:
            return Verification(chain, count, expected_prev, stretch.first_seq, joint)
        if stretch.problem is not None:
            return Verification(
                chain, count + stretch.entries, stretch.last_hash, stretch.broken, stretch.problem
            )
        expected_prev, expected_seq = stretch.last_hash, stretch.first_seq + stretch.entries
        count += stretch.entries
    if (head_seq, head_hash) != (count, expected_prev):
        return Verification(
            chain, count, expected_prev, count + 1,
            f"the chain ends at entry {count} but its head records entry {head_seq}: "
            "entries were removed from the end, or the head was altered",
        )  # fmt: skip
    stray = _past_the_head(session.connection(), chain)
    if stray is not None:
        last, head_now = stray
        return Verification(
            chain, count, expected_prev, head_now + 1,
            f"entries up to {last} lie past the head (entry {head_now}): "
            "they were added without going through the log's writer",
        )  # fmt: skip
    return Verification(chain, count, expected_prev, None, None)


def _past_the_head(connection: Connection, chain: str) -> tuple[int, int] | None:
    """The last entry and the head's position, when an entry lies past the head.

    The entries are read before the head: a writer moves the head in the transaction that adds
    the entry, so an entry committed by then is covered by the head read after it, unless forged.
    """
    last = connection.scalar(select(func.max(MODELS[chain].seq)))
    head_now = connection.scalar(select(_HEADS.c.seq).where(_HEADS.c.name == chain)) or 0
    return (last, head_now) if last is not None and last > head_now else None


@dataclass(frozen=True)
class _Stretch:
    """One walk over consecutive entries; its first link is for the caller to check."""

    first_seq: int | None
    first_prev: str | None
    entries: int  # verified before ``broken``, or all of them
    last_hash: str  # of the last verified entry (the first one's previous hash if none was)
    broken: int | None
    problem: str | None


def _walk_database(
    url: str, chain: str, after: int | None, upto: int | None, batch: int
) -> _Stretch:
    """``_walk`` in a worker process, on a connection of its own."""
    from . import make_engine  # the package imports this module: import it when first needed

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return _walk(connection.execution_options(read_only=True), chain, after, upto, batch)
    finally:
        engine.dispose()


def _walk(
    connection: Connection, chain: str, after: int | None, upto: int | None, batch: int
) -> _Stretch:
    """Check the entries with ``after < seq <= upto`` (either end open), in order.

    Rows are read through Core, and JSON columns as the text they are stored as, parsed here with
    orjson: the ORM's rows and the driver's JSON decoding cost three times what hashing does.
    """
    model = MODELS[chain]
    fields = FIELDS[chain]
    as_text = [f for f in fields if isinstance(model.__table__.c[f].type, JSON)]
    columns = [cast(getattr(model, f), Text) if f in as_text else getattr(model, f) for f in fields]
    stmt = select(model.seq, model.prev_hash, model.row_hash, *columns).order_by(model.seq)
    if after is not None:
        stmt = stmt.where(model.seq > after)
    if upto is not None:
        stmt = stmt.where(model.seq <= upto)
    rows = connection.execute(stmt.execution_options(yield_per=batch))
    first_seq: int | None = None
    first_prev: str | None = None
    expected_prev, expected_seq, count = GENESIS, 0, 0
    try:
        for row in rows:
            seq, prev_hash, row_hash = row[0], row[1], row[2]
            if first_seq is None:
                first_seq, first_prev = seq, prev_hash
                expected_seq, expected_prev = seq, prev_hash
            values = dict(zip(fields, row[3:], strict=True))
            for field in as_text:
                values[field] = orjson.loads(values[field])
            problem = _link_problem(seq, prev_hash, expected_seq, expected_prev)
            if problem is None and entry_hash(chain, seq, prev_hash, values) != row_hash:
                problem = f"entry {seq} does not match its hash: its content was modified"
            if problem:
                return _Stretch(first_seq, first_prev, count, expected_prev, seq, problem)
            expected_prev, expected_seq, count = row_hash, seq + 1, count + 1
    finally:
        rows.close()  # a server-side cursor on PostgreSQL: release it even when we stop early
    return _Stretch(first_seq, first_prev, count, expected_prev, None, None)


def _link_problem(seq: int, prev_hash: str, expected_seq: int, expected_prev: str) -> str | None:
    if seq != expected_seq:
        return f"entry {expected_seq} is missing (next entry is {seq}): an entry was deleted"
    if prev_hash != expected_prev:
        return f"entry {seq} does not follow entry {seq - 1}: entries were inserted or reordered"
    return None
