"""transparency log

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 06:50:00.000000

The hash chains become Merkle trees (``service/db/transparency.py``): the chains are verified once
(a broken chain stops the upgrade, naming the entry), then every entry becomes a leaf in ``seq``
order, with its tree's perfect subtrees stored. ``prev_hash``, ``row_hash`` and ``chain_head`` go:
nothing locks a shared row to write an entry any more. On PostgreSQL ``seq`` comes from a sequence;
on SQLite the writer takes the last one plus one. The first checkpoint is signed by the sealer (the
signing key never reaches the database, nor this migration).

The downgrade rebuilds the chains from the entries in ``seq`` order, renumbering them 1..n (a
sequence leaves gaps), with the append-only triggers disabled for that on PostgreSQL.
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from service.db import chain, transparency
from service.domain import merkle

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TLOG_TABLES = ("tlog_leaf", "tlog_node", "tlog_checkpoint")
_BATCH = 5_000


class BrokenChain(Exception):
    """An existing chain does not verify: its entries cannot be sealed as they are."""


def _typed_table(log: str, *extra: sa.ColumnClause[Any]) -> sa.TableClause:
    typed: dict[str, Any] = {"created_at": sa.DateTime(timezone=True), "complete": sa.Boolean()}
    for name in ("inputs", "medications", "alerts", "scope", "details"):
        typed[name] = sa.JSON()
    columns = [sa.column(f, typed.get(f, sa.String())) for f in transparency.FIELDS[log]]
    return sa.table(log, *columns, sa.column("seq", sa.BigInteger()), *extra)


def _entries(log: str, *extra: str) -> Iterator[dict[str, Any]]:
    """The log's entries in ``seq`` order, with their content typed as the chain hashed it."""
    table = _typed_table(log, *(sa.column(name, sa.String()) for name in extra))
    last: int | None = None
    while True:
        query = sa.select(table).order_by(table.c.seq).limit(_BATCH)
        if last is not None:
            query = query.where(table.c.seq > last)
        rows = [dict(row) for row in op.get_bind().execute(query).mappings()]
        if not rows:
            return
        yield from rows
        last = rows[-1]["seq"]


def _verify_chain(log: str) -> None:
    """Today's ``audit verify`` walk, once: every link, every hash, and the head."""
    expected_prev, expected_seq = chain.GENESIS, 1
    for entry in _entries(log, "prev_hash", "row_hash"):
        seq = entry["seq"]
        if seq != expected_seq:
            raise BrokenChain(f"{log}: entry {expected_seq} is missing (next entry is {seq})")
        if entry["prev_hash"] != expected_prev:
            raise BrokenChain(f"{log}: entry {seq} does not follow entry {seq - 1}")
        if chain.entry_hash(log, seq, expected_prev, entry) != entry["row_hash"]:
            raise BrokenChain(
                f"{log}: entry {seq} does not match its hash (its content was modified)"
            )
        expected_prev, expected_seq = entry["row_hash"], seq + 1
    head = (
        op.get_bind()
        .execute(sa.text("SELECT seq, hash FROM chain_head WHERE name = :name"), {"name": log})
        .first()
    )
    if tuple(head or (0, chain.GENESIS)) != (expected_seq - 1, expected_prev):
        raise BrokenChain(
            f"{log}: the chain ends at entry {expected_seq - 1} but its head records "
            f"entry {head[0] if head else 0}"
        )


def _seal_existing(log: str) -> None:
    """Every entry a leaf, in ``seq`` order, with the perfect subtrees it completes."""
    bind = op.get_bind()
    appender = merkle.Appender()
    leaves: list[tuple[int, bytes]] = []
    new_nodes: list[tuple[tuple[int, int], bytes]] = []

    def flush() -> None:
        transparency.add_leaves(bind, log, appender.size - len(leaves), leaves)
        transparency.add_nodes(bind, log, new_nodes)
        leaves.clear()
        new_nodes.clear()

    for entry in _entries(log):
        digest = merkle.leaf_hash(transparency.leaf_bytes(log, entry["seq"], entry))
        new_nodes.extend(appender.append(digest))
        leaves.append((entry["seq"], digest))
        if len(leaves) >= _BATCH:
            flush()
    flush()


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    for log in transparency.LOGS:
        _verify_chain(log)
    op.create_table(
        "tlog_leaf",
        sa.Column("log", sa.String(length=16), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.Column("entry_seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("log", "leaf_index", name=op.f("pk_tlog_leaf")),
        sa.UniqueConstraint("log", "entry_seq", name="uq_tlog_leaf_log_entry_seq"),
    )
    op.create_table(
        "tlog_node",
        sa.Column("log", sa.String(length=16), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("node_index", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("log", "level", "node_index", name=op.f("pk_tlog_node")),
    )
    op.create_table(
        "tlog_checkpoint",
        sa.Column("log", sa.String(length=16), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("log", "tree_size", name=op.f("pk_tlog_checkpoint")),
    )
    for log in transparency.LOGS:
        _seal_existing(log)
        with op.batch_alter_table(log) as batch:
            batch.drop_column("row_hash")
            batch.drop_column("prev_hash")
    op.drop_table("chain_head")
    if _postgresql():
        for log in transparency.LOGS:
            op.execute(f"CREATE SEQUENCE {log}_seq AS bigint OWNED BY {log}.seq")
            op.execute(f"SELECT setval('{log}_seq', coalesce(max(seq), 0) + 1, false) FROM {log}")
            op.execute(f"ALTER TABLE {log} ALTER COLUMN seq SET DEFAULT nextval('{log}_seq')")
        for table in TLOG_TABLES:  # the function is migration 0003's
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_log_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change()"
            )


def _rebuild_chain(log: str) -> None:
    """Chain the entries again in ``seq`` order, renumbered 1..n, and record the head."""
    bind = op.get_bind()
    table = sa.table(
        log,
        sa.column("seq", sa.BigInteger()),
        sa.column("prev_hash", sa.String()),
        sa.column("row_hash", sa.String()),
    )
    prev, position = chain.GENESIS, 0
    for entry in list(_entries(log)):
        position += 1
        digest = chain.entry_hash(log, position, prev, entry)
        bind.execute(
            table.update()
            .where(table.c.seq == entry["seq"])
            .values(seq=position, prev_hash=prev, row_hash=digest)
        )
        prev = digest
    bind.execute(
        sa.text("INSERT INTO chain_head (name, seq, hash) VALUES (:name, :seq, :hash)"),
        {"name": log, "seq": position, "hash": prev},
    )


def downgrade() -> None:
    if _postgresql():
        for table in TLOG_TABLES:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        for log in transparency.LOGS:
            op.execute(f"ALTER TABLE {log} ALTER COLUMN seq DROP DEFAULT")
            op.execute(f"DROP SEQUENCE {log}_seq")
            op.execute(f"ALTER TABLE {log} DISABLE TRIGGER {log}_append_only")
    op.create_table(
        "chain_head",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_chain_head")),
    )
    for log in transparency.LOGS:
        with op.batch_alter_table(log) as batch:
            batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
            batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
        _rebuild_chain(log)
        with op.batch_alter_table(log) as batch:
            for column in ("prev_hash", "row_hash"):
                batch.alter_column(column, existing_type=sa.String(length=64), nullable=False)
        if _postgresql():
            op.execute(f"ALTER TABLE {log} ENABLE TRIGGER {log}_append_only")
    op.drop_table("tlog_checkpoint")
    op.drop_table("tlog_node")
    op.drop_table("tlog_leaf")
