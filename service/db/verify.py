"""``audit verify``: rebuild each log's Merkle tree from its entries and hold it against signed checkpoints.

Why the checkpoints matter: anyone who can write the database can edit an entry and re-hash its
leaf, the stored subtrees and the stored roots so that they agree again. What they cannot do
without the signing key (kept off the database host) is sign a new checkpoint. So the verdict
rests on signed checkpoints: those the operator kept outside (``--checkpoint FILE``, opened with
the verifier key first) and every stored checkpoint whose signature verifies. A stored checkpoint
whose signature does not verify is itself reported, and never used as evidence.

What is checked, per log:

- every leaf against its entry, recomputed from the row (``transparency.leaf_bytes``): an entry
  edited, deleted or renumbered after sealing is named (log, seq, leaf index);
- the leaf indexes are dense: a leaf removed without rebuilding the tree is named;
- the root rebuilt from the stored leaves at the size of every checkpoint: a rewrite that re-hashed
  the leaves consistently is caught there, and named as the narrowest range of leaves between the
  last checkpoint that still matches and the first that does not;
- a checkpoint larger than the log (the end was cut off);
- every stored perfect subtree (``tlog_node``) against the leaves, since proofs are built from them;
- entries not sealed yet, with their age; one older than ``max_unsealed_age`` is a failure (the
  sealer is down, or the entry was inserted below the application, where no sealer sees it).

Speed: rows are read through Core with JSON columns as text, parsed with orjson, and a long log is
cut into stretches of leaves read and hashed by worker processes, each on its own connection,
while this process rebuilds the tree from the stored leaf hashes.
"""

from __future__ import annotations

import multiprocessing
from array import array
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise

import orjson
from sqlalchemy import JSON, Connection, Engine, Text, cast, exists, select, text

from ..domain import merkle
from ..domain.checkpoint import BadCheckpoint, Checkpoint, VerifierKey
from . import Database, transparency
from .models import Base

PARALLEL_FROM = 100_000  # leaves: below this one walk beats starting processes
BATCH = 5_000  # rows fetched at a time
NAMED_AT_MOST = 20  # findings of one kind listed per log; the rest are counted

_LEAVES = Base.metadata.tables["tlog_leaf"]
_NODES = Base.metadata.tables["tlog_node"]
_CHECKPOINTS = Base.metadata.tables["tlog_checkpoint"]
_HASH = merkle.HASH_SIZE


@dataclass(frozen=True)
class Finding:
    """Something verify reports about a log; a failure makes the run fail."""

    log: str
    failure: bool
    text: str
    seq: int | None = None
    leaf_index: int | None = None

    def line(self) -> str:
        where = []
        if self.seq is not None:
            where.append(f"entry {self.seq}")
        if self.leaf_index is not None:
            where.append(f"leaf {self.leaf_index}")
        place = f" [{', '.join(where)}]" if where else ""
        return f"{self.log}: {'FAIL' if self.failure else 'note'}{place}: {self.text}"


@dataclass(frozen=True)
class Evidence:
    """A checkpoint whose signature verified, and where it came from (a file, or the database)."""

    source: str
    checkpoint: Checkpoint


@dataclass
class LogReport:
    """What ``verify_log`` found for one log."""

    log: str
    tree_size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints_matched: list[int] = field(default_factory=list)
    unsealed: int = 0
    oldest_unsealed_age: float | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.failure for f in self.findings)

    def fail(self, text: str, seq: int | None = None, leaf_index: int | None = None) -> None:
        self.findings.append(Finding(self.log, True, text, seq, leaf_index))

    def note(self, text: str) -> None:
        self.findings.append(Finding(self.log, False, text))

    @property
    def first_failure(self) -> Finding | None:
        return next((f for f in self.findings if f.failure), None)


def open_held(
    verifier: VerifierKey, notes: Iterable[tuple[str, str]], origins: dict[str, str]
) -> tuple[dict[str, list[Evidence]], list[str]]:
    """Held checkpoints ``(source, note text)`` by log, after their signatures verify.

    ``origins`` maps each log's origin line to the log. Returns the evidence and the problems: a
    held checkpoint that fails to open, or names another log, is an error the operator must see.
    """
    held: dict[str, list[Evidence]] = {log: [] for log in origins.values()}
    problems: list[str] = []
    for source, note in notes:
        try:
            checkpoint = verifier.open(note)
        except BadCheckpoint as error:
            problems.append(f"checkpoint {source}: {error}")
            continue
        log = origins.get(checkpoint.origin)
        if log is None:
            problems.append(
                f"checkpoint {source} is for {checkpoint.origin!r}, not one of this service's "
                f"logs ({', '.join(sorted(origins))})"
            )
            continue
        held[log].append(Evidence(source, checkpoint))
    return held, problems


def verify_log(
    db: Database,
    log: str,
    verifier: VerifierKey | None,
    origin: str,
    held: Sequence[Evidence] = (),
    *,
    max_unsealed_age: float,
    workers: int = 1,
    now: datetime | None = None,
) -> LogReport:
    """Verify one log against the held checkpoints and its authentic stored ones.

    Without a verifier key no checkpoint can be trusted, so none is used: the leaves are still
    checked against their entries, the subtrees against the leaves, and the unsealed entries.
    """
    report = LogReport(log)
    # Checkpoints first, then the size: a sealer commits a checkpoint with its leaves, so every
    # checkpoint read here is covered by the leaves counted after it, unless some were removed.
    with db.transaction(read_only=True) as connection:
        stored = (
            [] if verifier is None else _stored_evidence(connection, log, verifier, origin, report)
        )
        size = transparency.tree_size(connection, log)
    evidence = sorted([*held, *stored], key=lambda e: e.checkpoint.size)
    report.tree_size = size
    for item in evidence:
        if item.checkpoint.size > size:
            report.fail(
                f"checkpoint {item.source} has {item.checkpoint.size} leaves but the log has "
                f"{size}: leaves {size}..{item.checkpoint.size - 1} were removed from its end"
            )
    tree = LogReport(log)  # what the tree's checks find, reported after the leaves' findings
    url = _address(db)
    if workers > 1 and size >= PARALLEL_FROM and url is not None:
        cuts = [size * k // workers for k in range(workers + 1)]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            walks = [
                pool.submit(_walk_database, url, log, start, end) for start, end in pairwise(cuts)
            ]
            _check_tree(db, log, size, evidence, tree)  # here, while the workers walk
            stretches = [walk.result() for walk in walks]
    else:
        _check_tree(db, log, size, evidence, tree)
        with db.transaction(read_only=True) as connection:
            stretches = [_walk(connection, log, 0, size)]
    for stretch in stretches:
        for found, seq, leaf_index in stretch.findings:
            report.fail(found, seq, leaf_index)
        if stretch.more:
            report.fail(f"{stretch.more} more leaves from {stretch.start} on fail likewise")
    report.findings.extend(tree.findings)
    report.root, report.checkpoints_matched = tree.root, tree.checkpoints_matched
    with db.transaction(read_only=True) as connection:
        _check_unsealed(connection, log, max_unsealed_age, now or datetime.now(UTC), report)
    return report


def _stored_evidence(
    connection: Connection, log: str, verifier: VerifierKey, origin: str, report: LogReport
) -> list[Evidence]:
    """The stored checkpoints whose signature verifies and agrees with their columns."""
    rows = connection.execute(
        select(_CHECKPOINTS.c.tree_size, _CHECKPOINTS.c.root_hash, _CHECKPOINTS.c.note)
        .where(_CHECKPOINTS.c.log == log)
        .order_by(_CHECKPOINTS.c.tree_size)
    )
    authentic: list[Evidence] = []
    for size, root, note in rows:
        try:
            checkpoint = verifier.open(note)
        except BadCheckpoint as error:
            report.fail(f"stored checkpoint {size} is not authentic ({error}): it was re-made")
            continue
        if (checkpoint.origin, checkpoint.size, checkpoint.root) != (origin, size, bytes(root)):
            report.fail(
                f"stored checkpoint {size}: its size, root or origin differ from its signed note"
            )
            continue
        authentic.append(Evidence(f"stored {size}", checkpoint))
    return authentic


@dataclass(frozen=True)
class _Stretch:
    """What one walk over leaves ``start`` on found against their entries."""

    start: int
    findings: list[tuple[str, int | None, int | None]]  # (text, seq, leaf index)
    more: int  # findings not listed


def _check_tree(
    db: Database, log: str, size: int, evidence: Sequence[Evidence], report: LogReport
) -> None:
    """The stored leaves are dense, hash to every checkpoint's root and to the stored subtrees."""
    with db.transaction(read_only=True) as connection:
        hashes, seqs = _stored_leaves(connection, log, size, report)
        _check_roots(hashes, seqs, evidence, report)
        _check_nodes(connection, log, hashes, report)


def _stored_leaves(
    connection: Connection, log: str, size: int, report: LogReport
) -> tuple[bytes, array[int]]:
    """The stored leaf hashes (32 bytes each) and their entries' seqs, up to a missing leaf."""
    rows = connection.execute(
        select(_LEAVES.c.leaf_index, _LEAVES.c.entry_seq, _LEAVES.c.hash)
        .where(_LEAVES.c.log == log, _LEAVES.c.leaf_index < size)
        .order_by(_LEAVES.c.leaf_index)
        .execution_options(yield_per=BATCH)
    )
    hashes = bytearray()
    seqs: array[int] = array("q")
    try:
        for leaf_index, seq, digest in rows:
            if leaf_index != len(seqs):
                report.fail(_missing(len(seqs), leaf_index), leaf_index=len(seqs))
                return bytes(hashes), seqs  # the tree cannot be rebuilt past the gap
            hashes += digest
            seqs.append(seq)
    finally:
        rows.close()
    if len(seqs) != size:
        report.fail(_missing(len(seqs), size), leaf_index=len(seqs))
    return bytes(hashes), seqs


def _address(db: Database) -> str | None:
    """The URL worker processes can open, or None for a database only this process sees."""
    if not isinstance(db.bind, Engine):
        return None  # a test's connection: its rows are not committed for others to see
    url = db.bind.url
    if url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


def _walk_database(url: str, log: str, start: int, end: int) -> _Stretch:
    """``_walk`` in a worker process, on a connection of its own."""
    from . import make_engine  # a worker process imports what it needs when it starts

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return _walk(connection.execution_options(read_only=True), log, start, end)
    finally:
        engine.dispose()


def _walk(connection: Connection, log: str, start: int, end: int) -> _Stretch:
    """Check the leaves ``start <= leaf_index < end`` against their entries, in leaf order.

    Rows are read through Core, JSON columns as the text they are stored as and parsed here with
    orjson: the ORM's rows and the driver's JSON decoding cost more than the hashing.
    """
    model = transparency.MODELS[log]
    fields = transparency.FIELDS[log]
    as_text = {n for n, f in enumerate(fields) if isinstance(model.__table__.c[f].type, JSON)}
    columns = [
        cast(getattr(model, f), Text) if n in as_text else getattr(model, f)
        for n, f in enumerate(fields)
    ]
    stmt = (
        select(_LEAVES.c.leaf_index, _LEAVES.c.entry_seq, _LEAVES.c.hash, model.seq, *columns)
        .select_from(_LEAVES.outerjoin(model, model.seq == _LEAVES.c.entry_seq))
        .where(_LEAVES.c.log == log, _LEAVES.c.leaf_index >= start, _LEAVES.c.leaf_index < end)
        .order_by(_LEAVES.c.leaf_index)
    )
    if connection.dialect.name == "postgresql":
        # Left to itself the planner hashes the whole log to join a stretch of leaves, then sorts
        # the wide rows on disk (for 50,000 of 100,000 entries: a 185 MB external sort, 3.5 s).
        # One index lookup per leaf, in leaf order from the primary key, streams instead.
        connection.execute(text("SET LOCAL enable_hashjoin = off"))
        connection.execute(text("SET LOCAL enable_mergejoin = off"))
    findings: list[tuple[str, int | None, int | None]] = []
    more = 0
    leaf_hash, leaf_bytes, loads = merkle.leaf_hash, transparency.leaf_bytes, orjson.loads
    # Months archived (``audit archive``) may be detached: their files prove those entries offline.
    archived = transparency.archived_leaves(connection, log)
    rows = connection.execute(stmt.execution_options(yield_per=BATCH))
    try:
        for row in rows:
            leaf_index, seq, stored, found = row[0], row[1], bytes(row[2]), row[3]
            if found is None:
                if transparency.is_archived(archived, leaf_index):
                    continue
                problem = "this sealed entry is gone: it was deleted (or renumbered)"
            else:
                values = list(row[4:])
                for n in as_text:
                    if values[n] is not None:
                        values[n] = loads(values[n])
                if (
                    leaf_hash(leaf_bytes(log, seq, dict(zip(fields, values, strict=True))))
                    == stored
                ):
                    continue
                problem = "this entry does not match its leaf: it was modified after sealing"
            if len(findings) < NAMED_AT_MOST:
                findings.append((problem, seq, leaf_index))
            else:
                more += 1
    finally:
        rows.close()  # a server-side cursor on PostgreSQL: release it even when we stop early
    return _Stretch(start, findings, more)


def _missing(start: int, end: int) -> str:
    return f"leaves {start}..{end - 1} are missing: sealed leaves were deleted"


def _check_roots(
    hashes: bytes, seqs: array[int], evidence: Sequence[Evidence], report: LogReport
) -> None:
    """Rebuild the tree leaf by leaf and compare its root at every checkpoint's size.

    A rewrite shows at every checkpoint signed after its first changed leaf, so the changed range
    is named from the last checkpoint that still agrees to the first one that does not.
    """
    built = len(hashes) // _HASH
    appender = merkle.Appender()
    agreed = 0  # the largest checkpoint size the rebuilt tree agrees with, below any disagreement
    first_disagreeing: Evidence | None = None
    disagreeing = 0
    for item in evidence:
        size = item.checkpoint.size
        while appender.size < min(size, built):
            position = appender.size
            appender.append(hashes[position * _HASH : (position + 1) * _HASH])
        if size <= built and appender.root() == item.checkpoint.root:
            if first_disagreeing is None:
                agreed = size
            report.checkpoints_matched.append(size)
            continue
        disagreeing += 1
        first_disagreeing = first_disagreeing or item
    while appender.size < built:
        position = appender.size
        appender.append(hashes[position * _HASH : (position + 1) * _HASH])
    report.root = appender.root()
    if first_disagreeing is not None:
        end = first_disagreeing.checkpoint.size
        rewritten = seqs[agreed:end]
        entries = f" (entries {min(rewritten)}..{max(rewritten)} now)" if rewritten else ""
        report.fail(
            f"the log disagrees with checkpoint {first_disagreeing.source}: leaves {agreed}.."
            f"{end - 1}{entries} were changed after it was signed (an entry in that range was "
            "edited, inserted, deleted or moved, and the hashes recomputed)"
            + (f"; {disagreeing - 1} later checkpoints disagree too" if disagreeing > 1 else ""),
            leaf_index=agreed,
        )


def _check_nodes(connection: Connection, log: str, hashes: bytes, report: LogReport) -> None:
    """Every stored perfect subtree against the one rebuilt from the leaves, level by level.

    Proofs are served from these: a wrong one makes a proof fail for whoever checks it.
    """
    level_hashes = hashes
    level = 0
    wrong = 0
    while len(level_hashes) >= 2 * _HASH:
        level += 1
        parents = bytearray()
        for n in range(0, len(level_hashes) - _HASH, 2 * _HASH):
            parents += merkle.node_hash(
                level_hashes[n : n + _HASH], level_hashes[n + _HASH : n + 2 * _HASH]
            )
        level_hashes = bytes(parents)
        count = len(level_hashes) // _HASH
        rows = connection.execute(
            select(_NODES.c.node_index, _NODES.c.hash)
            .where(_NODES.c.log == log, _NODES.c.level == level, _NODES.c.node_index < count)
            .order_by(_NODES.c.node_index)
            .execution_options(yield_per=BATCH)
        )
        expected = 0
        for index, digest in rows:
            for missing in range(expected, index):
                wrong += 1
                _wrong_node(report, wrong, level, missing, "is missing")
            if bytes(digest) != level_hashes[index * _HASH : (index + 1) * _HASH]:
                wrong += 1
                _wrong_node(report, wrong, level, index, "differs from its leaves")
            expected = index + 1
        for missing in range(expected, count):
            wrong += 1
            _wrong_node(report, wrong, level, missing, "is missing")
    if wrong > NAMED_AT_MOST:
        report.fail(f"{wrong - NAMED_AT_MOST} more stored subtrees are wrong")


def _wrong_node(report: LogReport, wrong: int, level: int, index: int, what: str) -> None:
    if wrong <= NAMED_AT_MOST:
        low = index << level
        report.fail(
            f"the stored subtree (level {level}, index {index}) over leaves "
            f"{low}..{low + (1 << level) - 1} {what}: proofs through it would fail",
            leaf_index=low,
        )


def _check_unsealed(
    connection: Connection, log: str, max_age: float, now: datetime, report: LogReport
) -> None:
    """Entries no leaf names: waiting for the sealer, or put there without it."""
    model = transparency.MODELS[log]
    sealed = exists().where(_LEAVES.c.log == log, _LEAVES.c.entry_seq == model.seq)
    rows = connection.execute(
        select(model.seq, model.created_at).where(~sealed).order_by(model.seq)
    ).all()
    if not rows:
        return
    ages = [(now - _aware(created)).total_seconds() for _, created in rows]
    report.unsealed = len(rows)
    report.oldest_unsealed_age = max(ages)
    overdue = [(seq, age) for (seq, _), age in zip(rows, ages, strict=True) if age > max_age]
    for seq, age in overdue[:NAMED_AT_MOST]:
        report.fail(
            f"not sealed after {age:.0f} s (limit {max_age:g} s): the sealer is not running, "
            "or the entry was inserted below the application",
            seq=seq,
        )
    if len(overdue) > NAMED_AT_MOST:
        report.fail(f"{len(overdue) - NAMED_AT_MOST} more entries are overdue for sealing")
    if len(overdue) < len(rows):
        report.note(
            f"{len(rows) - len(overdue)} entries not sealed yet "
            f"(the oldest {max(a for a in ages if a <= max_age):.1f} s old)"
        )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
