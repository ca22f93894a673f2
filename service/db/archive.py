"""Writing a sealed month of a log to files (``domain.archive``), streamed from the database.

A month's rows are sealed in roughly, not exactly, ``created_at`` order (PostgreSQL commits out of
order), so the month's leaves span ``[first, last]`` with a few rows of the months around it
among them; those go into the archive as leaves only. The archive runs on to the size of the first
checkpoint covering ``last``, whose signed root the leaves must rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection, exists, func, insert, select

from ..domain import archive, merkle
from . import transparency
from .models import Base

_LEAVES = Base.metadata.tables["tlog_leaf"]
_CHECKPOINTS = Base.metadata.tables["tlog_checkpoint"]
_ARCHIVES = Base.metadata.tables["tlog_archive"]
STREAM_BATCH = 5_000


class NotArchivable(Exception):
    """The month cannot be archived yet (or its rows no longer match their leaves); says why."""


@dataclass(frozen=True)
class Archived:
    log: str
    month: str
    rows: int
    first_leaf: int
    end_leaf: int  # one past the month's last row's leaf
    tree_size: int
    folder: Path


def month_bounds(month: date) -> tuple[datetime, datetime]:
    low = datetime(month.year, month.month, 1, tzinfo=UTC)
    high = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return low, high


def first_month(connection: Connection, log: str) -> date | None:
    """The month of the log's oldest row still in the database."""
    oldest = connection.scalar(select(func.min(transparency.MODELS[log].created_at)))
    return None if oldest is None else date(oldest.year, oldest.month, 1)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def archive_month(connection: Connection, log: str, month: date, output: Path) -> Archived | None:
    """Write ``log``'s ``month`` under ``output/<log>/<YYYY-MM>``; None if it has no rows."""
    model = transparency.MODELS[log]
    low, high = month_bounds(month)
    label = f"{month:%Y-%m}"
    in_month = (model.created_at >= low) & (model.created_at < high)
    sealed = exists().where(_LEAVES.c.log == log, _LEAVES.c.entry_seq == model.seq)
    unsealed, first_unsealed = connection.execute(
        select(func.count(), func.min(model.seq)).where(in_month, ~sealed)
    ).one()
    if unsealed:
        raise NotArchivable(
            f"{log} {label}: {unsealed} rows are not sealed yet (the first: seq {first_unsealed}); "
            "let the sealer catch up (flask --app service audit seal --once)"
        )
    first, last = connection.execute(
        select(func.min(_LEAVES.c.leaf_index), func.max(_LEAVES.c.leaf_index))
        .join(model, model.seq == _LEAVES.c.entry_seq)
        .where(_LEAVES.c.log == log, in_month)
    ).one()
    if first is None:
        return None
    checkpoint = transparency.checkpoint_covering(connection, log, last)
    if checkpoint is None:
        raise NotArchivable(f"{log} {label}: no signed checkpoint covers leaf {last} yet")
    previous = connection.execute(
        select(_CHECKPOINTS.c.tree_size, _CHECKPOINTS.c.note)
        .where(
            _CHECKPOINTS.c.log == log,
            _CHECKPOINTS.c.tree_size <= first,
            _CHECKPOINTS.c.tree_size > 0,
        )
        .order_by(_CHECKPOINTS.c.tree_size.desc())
        .limit(1)
    ).first()
    proof: list[bytes] = []
    if previous is not None:
        coordinates = merkle.consistency_nodes(previous.tree_size, checkpoint.tree_size)
        stored = transparency.nodes(connection, log, coordinates)
        proof = merkle.consistency_proof(previous.tree_size, checkpoint.tree_size, stored)
    folder = output / log / label
    writer = archive.MonthWriter(
        folder, log, label, first, transparency.frontier_hashes(connection, log, first)
    )
    fields = transparency.FIELDS[log]
    leaves = (
        select(
            _LEAVES.c.leaf_index,
            _LEAVES.c.entry_seq,
            _LEAVES.c.hash,
            model.seq,
            *(getattr(model, f) for f in fields),
        )
        .select_from(_LEAVES.outerjoin(model, model.seq == _LEAVES.c.entry_seq))
        .where(
            _LEAVES.c.log == log,
            _LEAVES.c.leaf_index >= first,
            _LEAVES.c.leaf_index < checkpoint.tree_size,
        )
        .order_by(_LEAVES.c.leaf_index)
    )
    rows = connection.execute(leaves.execution_options(yield_per=STREAM_BATCH))
    try:
        for leaf_index, seq, stored_hash, found, *content in rows:
            values = dict(zip(fields, content, strict=True))
            row = None
            if found is not None and low <= _aware(values["created_at"]) < high:
                row = transparency.leaf_bytes(log, seq, values)
                if merkle.leaf_hash(row) != bytes(stored_hash):
                    raise NotArchivable(
                        f"{log} entry {seq} does not match its leaf {leaf_index}: it was modified "
                        "after it was sealed (run audit verify); nothing of it is archived"
                    )
            writer.leaf(leaf_index, seq, bytes(stored_hash), row)
    finally:
        rows.close()
    writer.finish(checkpoint.note, previous.note if previous else None, proof)
    return Archived(log, label, writer.rows, first, last + 1, checkpoint.tree_size, folder)


def record(connection: Connection, done: Archived) -> None:
    """Note the month as archived (once), so ``audit verify`` accepts its rows being detached."""
    known = select(_ARCHIVES.c.month).where(
        _ARCHIVES.c.log == done.log, _ARCHIVES.c.month == done.month
    )
    if connection.scalar(known) is None:
        connection.execute(
            insert(_ARCHIVES).values(
                log=done.log,
                month=done.month,
                first_leaf=done.first_leaf,
                end_leaf=done.end_leaf,
                tree_size=done.tree_size,
                archived_at=datetime.now(UTC),
            )
        )
