"""Least privilege on PostgreSQL: the service's role may add to the logs, never rewrite them.

Two roles share the database. The owner role runs the migrations and loads knowledge bases; it
owns every table, trigger and function. The service's role owns nothing, so it can neither alter,
drop nor truncate a table, nor disable or drop the append-only triggers; on the logs (the tables
those triggers guard) it may only read and insert; on the knowledge base only read; on the rest
(clients, people, sessions) read and write, as the doors need.

Which tables are logs is read from the database itself (the tables with an append-only trigger),
so a log added by a later migration is covered without a list to keep in step. Grants are given
again after every ``flask db upgrade``; default privileges make a table created in between
readable at once, and nothing more.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

# The knowledge base: written by ``kb load`` and ``kb activate`` as the owner, only read by the service.
KNOWLEDGE_TABLES = frozenset(
    {
        "kb_version",
        "rxnorm_vocabulary",
        "rxnorm_concept",
        "source",
        "ingredient",
        "drug_name",
        "drug_name_ingredient",
        "drug_class",
        "class_member",
        "class_source",
        "rule",
        "rule_party",
        "rule_source",
        "dose_limit",
        "alembic_version",
    }
)

_LOGS = text(
    """
    SELECT DISTINCT c.relname FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_proc p ON p.oid = t.tgfoid
    WHERE p.proname = 'refuse_log_change' AND c.relnamespace = current_schema()::regnamespace
    """
)
_TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")


class RoleError(Exception):
    """The role to grant to is missing, or is the owner itself."""


def grant_service_role(connection: Connection, role: str) -> dict[str, str]:
    """Give ``role`` exactly what the service needs on every table; returns table -> privileges.

    Run as the owner. Everything the role held before is revoked first, so that a table that
    became a log loses the writes it had.
    """
    if connection.dialect.name != "postgresql":
        raise RoleError("roles exist on PostgreSQL only; SQLite has one user, the file's")
    found = connection.execute(
        text("SELECT rolsuper, rolname = current_user FROM pg_roles WHERE rolname = :role"),
        {"role": role},
    ).first()
    if found is None:
        raise RoleError(f"there is no role {role!r}: create it first (README: database roles)")
    if found[0] or found[1]:
        raise RoleError(f"{role!r} is a superuser or the owner itself: it would keep every right")
    quote = connection.dialect.identifier_preparer.quote
    quoted = quote(role)
    logs = set(connection.execute(_LOGS).scalars())
    granted: dict[str, str] = {}
    for table in sorted(connection.execute(_TABLES).scalars()):
        if table in logs:
            privileges = "SELECT, INSERT"
        elif table in KNOWLEDGE_TABLES:
            privileges = "SELECT"
        else:
            privileges = "SELECT, INSERT, UPDATE, DELETE"
        name = quote(table)
        connection.execute(text(f"REVOKE ALL ON {name} FROM {quoted}"))
        connection.execute(text(f"GRANT {privileges} ON {name} TO {quoted}"))
        granted[table] = privileges
    schema = quote(connection.execute(text("SELECT current_schema()")).scalar_one())
    for statement in (
        f"GRANT USAGE ON SCHEMA {schema} TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
    ):
        connection.execute(text(statement))
    # Making the coming months' partitions of the logs (migration 0019), and nothing more.
    if connection.execute(
        text("SELECT to_regprocedure('ensure_log_partitions(integer)')")
    ).scalar():
        connection.execute(
            text(f"GRANT EXECUTE ON FUNCTION ensure_log_partitions(integer) TO {quoted}")
        )
    return granted
