"""How long the service waits for its database before it gives up and fails closed with a 503.

PostgreSQL enforces ``statement_timeout``, ``lock_timeout`` and
``idle_in_transaction_session_timeout`` itself, but a server that stops answering (a stopped
process, a frozen VM) enforces nothing: its kernel still accepts connections and acknowledges
every byte, so neither TCP keepalives nor ``tcp_user_timeout`` notice, and a caller waits for an
answer forever. So the client keeps its own deadline too: a round trip to the server that takes
longer than the statement timeout plus a grace period means the server is not answering, and the
connection is closed (SQLAlchemy then discards it and every older connection of its pool).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors

# What a round trip may take beyond the statement timeout before the server counts as silent:
# the server cancels a long statement itself, and its answer needs a moment to arrive.
GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection, a statement, a lock; and for a transaction left idle.

    On SQLite only ``lock`` applies: it is the busy timeout, how long a writer waits for a
    writer that does not take part in the writers' queue (the sqlite3 shell, say).
    """

    connect: float
    statement: float
    lock: float
    idle_in_transaction: float

    def postgresql_connect_args(self) -> dict[str, Any]:
        """libpq's connect timeout (whole seconds, at least 2) and the session's server timeouts."""
        settings = {
            "statement_timeout": self.statement,
            "lock_timeout": self.lock,
            "idle_in_transaction_session_timeout": self.idle_in_transaction,
        }
        options = " ".join(f"-c {name}={_milliseconds(value)}" for name, value in settings.items())
        return {"connect_timeout": max(2, math.ceil(self.connect)), "options": options}

    @property
    def answer(self) -> float:
        """The longest a round trip to a working server can take."""
        return self.statement + GRACE_SECONDS


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class AnsweringConnection(psycopg.Connection[Any]):
    """A psycopg connection that gives up on a server that does not answer within its deadline."""

    answer_timeout: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is not None or self.answer_timeout is None:  # psycopg's own, timed waits
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.answer_timeout)
        except pg_errors._WaitTimeout as error:
            # The protocol is mid-exchange: the connection cannot be used again. Closed, it is
            # counted as a disconnect, so the pool drops it instead of handing it out again.
            self.close()
            raise psycopg.OperationalError(
                f"the database did not answer within {self.answer_timeout} s"
            ) from error


def connect(timeouts: Timeouts, cargs: Any, cparams: Any) -> AnsweringConnection:
    """A new connection that keeps ``timeouts``' answer deadline (for SQLAlchemy's ``do_connect``)."""
    connection = AnsweringConnection.connect(*cargs, **cparams)
    connection.answer_timeout = timeouts.answer
    return connection
