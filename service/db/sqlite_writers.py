"""Writers to one SQLite file queue in the kernel for its write lock, instead of polling for it.

Why: a writer that finds SQLite's write lock taken is put to sleep by SQLite's busy handler for
1, 2, 5, 10, 15, 20, 25 … ms between attempts, however soon the lock is released. Concurrent
checks hold it for well under a millisecond, so the waiting workers slept while the lock was free
(bench/http.py: gunicorn's workers used 151 % of the 2 cores during checks against 158 % for
``/healthz``, and p99 reached 66 ms). Here a connection takes an exclusive ``flock`` on a file
next to the database before ``BEGIN IMMEDIATE`` and drops it when the transaction ends: a waiting
writer is woken the moment the lock is free. SQLite's own locking still guarantees correctness;
a writer that does not take part (the sqlite3 shell) is still waited for with ``busy_timeout``,
and so is everyone where the lock file cannot be created.

The WAL is checkpointed by each connection every ``CHECKPOINT_EVERY`` of its write
transactions, once committed (SQLite's automatic checkpoint ran inside the commit, and its failure
was that commit's failure). That routine checkpoint is PASSIVE: it copies what no reader still
needs, waits for nobody and leaves the WAL's file in place, so the writes after it reuse the file
from its start instead of growing it again (truncating it every time cost a check ~70 µs of CPU,
in the file system). ``journal_size_limit`` (``WAL_SIZE_LIMIT``) cuts a WAL that a long read let
grow back to that size when it restarts. After a write that did not commit, and until a failed
checkpoint succeeds, the checkpoint truncates the WAL: on a full disk the space it took is given
back, so freeing a little brings writes back. A truncating checkpoint needs SQLite's write lock,
so it takes a turn in the queue (the others wait there, not in SQLite's busy loop), and it does not
wait for readers either. A checkpoint that fails is logged, never raised: the transaction before it
is already committed, and must not be reported as lost.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from typing import IO, Any

CHECKPOINT_EVERY = 100
WAL_SIZE_LIMIT = 16 * 1024 * 1024  # bytes: ~300 checks' pages, three times a routine WAL
_held = threading.local()  # lock files this thread holds, so a nested writer cannot deadlock on it

log = logging.getLogger(__name__)


class QueuedWriterConnection(sqlite3.Connection):
    """A sqlite3 connection whose write transactions take the database's writer queue first."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        # A URI names its file in its own syntax: such connections wait as SQLite makes them.
        self._queue_path = None if kwargs.get("uri") else os.path.abspath(database) + "-writers"
        self._queue: IO[bytes] | None = None
        self._holding = False
        self._commits = 0
        self._write_failed = False  # a commit failed: the rollback that follows checkpoints
        self._checkpoint_due = False  # the last checkpoint failed
        self._name = database

    def begin_immediate(self) -> None:
        """``BEGIN IMMEDIATE``, once this connection's turn has come."""
        self._take_turn()
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._end_turn()
            raise

    def commit(self) -> None:
        wrote = self._holding
        try:
            super().commit()
        except sqlite3.Error:
            self._write_failed = wrote
            raise
        finally:
            self._end_turn()
        if wrote:
            self._commits += 1
            if self._checkpoint_due:
                self.checkpoint(truncate=True)
            elif self._commits % CHECKPOINT_EVERY == 0:
                self.checkpoint()

    def rollback(self) -> None:
        wrote = self._holding or self._write_failed
        self._write_failed = False
        try:
            super().rollback()
        finally:
            self._end_turn()
        if wrote:  # perhaps for lack of space: give the WAL's back, so freeing a little suffices
            self.checkpoint(truncate=True)

    def checkpoint(self, *, truncate: bool = False) -> None:
        """Copy the WAL into the database, waiting for no reader; ``truncate``: and empty its file.
        Never raises.

        One that fails (no room for the database to grow) is tried again, truncating, after every
        commit until one succeeds: the space the truncated WAL gives back is what brings writes back.
        """
        try:
            if truncate:
                self._truncating_checkpoint()
            else:
                self.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self._checkpoint_due = False
        except sqlite3.Error as error:
            self._checkpoint_due = True
            log.warning("WAL checkpoint of %s failed, to be tried again: %s", self._name, error)

    def _truncating_checkpoint(self) -> None:
        self._take_turn()
        try:
            (busy_milliseconds,) = self.execute("PRAGMA busy_timeout").fetchone()
            self.execute("PRAGMA busy_timeout = 0")
            try:
                self.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                self.execute(f"PRAGMA busy_timeout = {int(busy_milliseconds)}")
        finally:
            self._end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._end_turn()
            if self._queue is not None:
                self._queue.close()
                self._queue = None

    def _take_turn(self) -> None:
        held: set[str] = _held.__dict__.setdefault("paths", set())
        if self._queue_path is None or self._queue_path in held:
            return  # nested in this thread's own write through another connection: SQLite arbitrates
        if self._queue is None:
            try:
                self._queue = open(self._queue_path, "ab")  # noqa: SIM115 (held open: closed in close())
            except OSError as error:
                log.warning(
                    "no writer queue for %s (%s): waiting as SQLite does", self._queue_path, error
                )
                self._queue_path = None
                return
        fcntl.flock(self._queue.fileno(), fcntl.LOCK_EX)
        held.add(self._queue_path)
        self._holding = True

    def _end_turn(self) -> None:
        if self._holding and self._queue is not None and self._queue_path is not None:
            self._holding = False
            _held.__dict__.get("paths", set()).discard(self._queue_path)
            fcntl.flock(self._queue.fileno(), fcntl.LOCK_UN)
