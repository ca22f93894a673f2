"""Monthly partitions of the logs on PostgreSQL: made ahead of time, so no insert waits for one.

Migration 0019 partitions ``alert_log``, ``audit_event`` and ``logged_alert`` by month of
``created_at`` and installs ``ensure_log_partitions``, a function the service's role may run that
makes the partitions of this month and the next ones that are missing (and nothing else). A
DEFAULT partition catches any row whose month has none, so making them late loses nothing; making
them ahead keeps each month in its own table, ready to be archived and detached. SQLite keeps
plain tables: there is nothing to do there.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

PARTITIONED = ("alert_log", "audit_event", "logged_alert")
MONTHS_AHEAD = 3  # this month and the next three
# A partition's name: its table, then the month (``alert_log_2026_12``) or ``default``.
PARTITION_NAME = re.compile(rf"^({'|'.join(PARTITIONED)})_(\d{{4}}_\d{{2}}|default)$")


def not_a_partition(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's ``include_name``: a log's months are made by ``audit partitions``, not modelled."""
    return not (type_ == "table" and name is not None and PARTITION_NAME.match(name) is not None)


def ensure(connection: Connection, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Make the missing partitions up to ``months_ahead`` months from now; returns their names."""
    if connection.dialect.name != "postgresql":
        return []
    made = connection.execute(
        text("SELECT ensure_log_partitions(:ahead)"), {"ahead": months_ahead}
    ).scalars()
    return list(made)


def attached(connection: Connection, table: str) -> list[str]:
    """The partitions of ``table`` now attached, oldest month first, DEFAULT last."""
    if connection.dialect.name != "postgresql":
        return []
    names = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:table AS regclass)"
        ),
        {"table": table},
    ).scalars()
    return sorted(names, key=lambda name: (name.endswith("_default"), name))
