"""partition logs by month

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 07:00:00.000000

PostgreSQL only (SQLite keeps plain tables): ``alert_log``, ``audit_event`` and ``logged_alert``
become tables partitioned by month of ``created_at``, so that a sealed, archived month can be
detached and dropped without rewriting the rest, and a period's queries read only its months.

Each table is rebuilt: the old one is renamed, a partitioned one is created like it (columns,
defaults, checks, compression), its grants are copied, a partition is made for every month that
has rows and for this month and the next three, the rows are copied month by month, and then its
indexes, keys, outgoing foreign keys and append-only triggers are made again. PostgreSQL requires
a partitioned table's primary and unique keys to hold the partition key, so they gain
``created_at``. A DEFAULT partition catches a row of any month without its own partition (a clock
far off, a month not made in time), so no insert fails for want of a partition.

``cds_feedback``'s foreign keys to ``alert_log(id)`` and ``logged_alert(uuid)`` cannot stay (those
columns alone are no longer keys). A trigger keeps what they guaranteed: a feedback row is refused
unless its check (``alert_log_id`` at ``check_created_at``) and its alert exist; and the rows it
names cannot go away, since the append-only triggers refuse UPDATE, DELETE and TRUNCATE. The one
way they can leave is the owner detaching an archived month (README: retention).

``tlog_archive`` (both databases) records each month ``audit archive`` wrote to files: the leaves
whose rows may then be detached, which ``audit verify`` no longer expects to find.

Two functions make partitions: ``create_log_partition(table, month)`` and
``ensure_log_partitions(months_ahead)``, the second runnable by the service's role (SECURITY
DEFINER; it can make the coming months' partitions and nothing else) so that ``flask audit
partitions`` works from the service's own login.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTITIONED = ("alert_log", "audit_event", "logged_alert")
MONTHS_AHEAD = 3
_FEEDBACK_KEYS = {
    "fk_cds_feedback_alert_log_id_alert_log": "FOREIGN KEY (alert_log_id) REFERENCES alert_log(id)",
    "fk_cds_feedback_alert_uuid_logged_alert": (
        "FOREIGN KEY (alert_uuid) REFERENCES logged_alert(uuid)"
    ),
}

_CREATE_PARTITION = """
CREATE FUNCTION create_log_partition(parent text, month date) RETURNS text
LANGUAGE plpgsql SET search_path = {schema}, pg_temp AS $$
DECLARE
    low timestamptz := date_trunc('month', month)::timestamp AT TIME ZONE 'UTC';
    high timestamptz := (date_trunc('month', month) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    partition_name text := format('%s_%s', parent, to_char(month, 'YYYY_MM'));
    default_name text := parent || '_default';
    caught boolean := false;
BEGIN
    IF parent NOT IN ('alert_log', 'audit_event', 'logged_alert') THEN
        RAISE EXCEPTION '% is not a partitioned log', parent;
    END IF;
    IF to_regclass(quote_ident(partition_name)) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    IF to_regclass(quote_ident(default_name)) IS NOT NULL THEN
        EXECUTE format(
            'SELECT EXISTS (SELECT 1 FROM %I WHERE created_at >= $1 AND created_at < $2)',
            default_name
        ) INTO caught USING low, high;
    END IF;
    IF caught THEN
        -- Rows cannot leave the DEFAULT partition (append-only), so that month stays there.
        RAISE WARNING '% holds rows of %: that month stays in it', default_name,
            to_char(month, 'YYYY-MM');
        RETURN NULL;
    END IF;
    BEGIN
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
            partition_name, parent, low, high
        );
        PERFORM guard_log_partition(parent, partition_name);
    EXCEPTION WHEN duplicate_table THEN
        RETURN NULL;  -- another process (a sealer in another worker) made it just now
    END;
    RETURN partition_name;
END $$
"""

# The row trigger on the parent is cloned onto each partition; a statement trigger is not, and
# grants are not inherited: a partition gets its own TRUNCATE guard and its parent's grants.
_GUARD_PARTITION = """
CREATE FUNCTION guard_log_partition(parent text, partition_name text) RETURNS void
LANGUAGE plpgsql SET search_path = {schema}, pg_temp AS $$
DECLARE
    granted record;
BEGIN
    EXECUTE format(
        'CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
        'EXECUTE FUNCTION refuse_log_change()',
        partition_name || '_no_truncate', partition_name
    );
    FOR granted IN
        SELECT r.rolname, acl.privilege_type
        FROM pg_class c, aclexplode(c.relacl) acl JOIN pg_roles r ON r.oid = acl.grantee
        WHERE c.oid = parent::regclass AND acl.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON %I TO %I', granted.privilege_type, partition_name,
            granted.rolname);
    END LOOP;
END $$
"""

_ENSURE_PARTITIONS = """
CREATE FUNCTION ensure_log_partitions(months_ahead integer) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp SET lock_timeout = '2s'
AS $$
DECLARE
    parent text;
    ahead integer;
    made text;
BEGIN
    IF months_ahead NOT BETWEEN 0 AND 12 THEN
        RAISE EXCEPTION 'months_ahead must be 0 to 12, not %', months_ahead;
    END IF;
    FOREACH parent IN ARRAY ARRAY['alert_log', 'audit_event', 'logged_alert'] LOOP
        FOR ahead IN 0..months_ahead LOOP
            made := create_log_partition(
                parent,
                (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => ahead))::date
            );
            IF made IS NOT NULL THEN
                RETURN NEXT made;
            END IF;
        END LOOP;
    END LOOP;
END $$
"""

_FEEDBACK_GUARD = """
CREATE FUNCTION feedback_names_a_logged_alert() RETURNS trigger
LANGUAGE plpgsql SET search_path = {schema}, pg_temp AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM alert_log WHERE id = NEW.alert_log_id AND created_at = NEW.check_created_at
    ) THEN
        RAISE EXCEPTION 'feedback names check % at %, which is not in alert_log',
            NEW.alert_log_id, NEW.check_created_at USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM logged_alert WHERE uuid = NEW.alert_uuid AND alert_log_id = NEW.alert_log_id
    ) THEN
        RAISE EXCEPTION 'feedback names alert %, which is not in logged_alert', NEW.alert_uuid
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$
"""


@dataclass(frozen=True)
class _Shape:
    """What a rebuilt table must get back: everything ``CREATE TABLE … LIKE`` does not copy."""

    indexes: list[str]  # CREATE INDEX statements of the indexes that back no constraint
    keys: list[tuple[str, str, list[str]]]  # (name, PRIMARY KEY | UNIQUE, columns)
    foreign_keys: list[tuple[str, str]]  # (name, definition)
    grants: list[tuple[str, str]]  # (role, privilege)
    sequences: list[tuple[str, str]]  # (column, sequence it owns)


def _read_shape(bind: sa.Connection, table: str) -> _Shape:
    relation = {"t": table}
    indexes = bind.execute(
        sa.text(
            """
            SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x
            WHERE x.indrelid = CAST(:t AS regclass)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
            ORDER BY x.indexrelid
            """
        ),
        relation,
    ).scalars()
    keys = bind.execute(
        sa.text(
            """
            SELECT k.conname, k.contype,
                   array_agg(a.attname::text ORDER BY position) AS columns
            FROM pg_constraint k
            CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, position)
            JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
            WHERE k.conrelid = CAST(:t AS regclass) AND k.contype IN ('p', 'u')
            GROUP BY k.conname, k.contype ORDER BY k.conname
            """
        ),
        relation,
    ).all()
    foreign_keys = bind.execute(
        sa.text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' ORDER BY conname"
        ),
        relation,
    ).all()
    grants = bind.execute(
        sa.text(
            """
            SELECT r.rolname, acl.privilege_type
            FROM pg_class c, aclexplode(c.relacl) acl JOIN pg_roles r ON r.oid = acl.grantee
            WHERE c.oid = CAST(:t AS regclass) AND acl.grantee <> c.relowner
            """
        ),
        relation,
    ).all()
    sequences = bind.execute(
        sa.text(
            """
            SELECT attname, pg_get_serial_sequence(:t, attname) FROM pg_attribute
            WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped
              AND pg_get_serial_sequence(:t, attname) IS NOT NULL
            """
        ),
        relation,
    ).all()
    return _Shape(
        indexes=[definition.replace(" ON ONLY ", " ON ") for definition in indexes],
        keys=[
            (name, "PRIMARY KEY" if kind == "p" else "UNIQUE", list(columns))
            for name, kind, columns in keys
        ],
        foreign_keys=[(name, definition) for name, definition in foreign_keys],
        grants=[(role, privilege) for role, privilege in grants],
        sequences=[(column, sequence) for column, sequence in sequences],
    )


def _months(bind: sa.Connection, table: str) -> list[date]:
    """Every month from the table's first row (or this month) to three months from now."""
    first, last = bind.execute(
        sa.text(
            f"""
            SELECT
                date_trunc('month', LEAST(min(created_at), now()) AT TIME ZONE 'UTC')::date,
                date_trunc('month', GREATEST(max(created_at), now() + interval
                    '{MONTHS_AHEAD} months') AT TIME ZONE 'UTC')::date
            FROM {table}
            """
        )
    ).one()
    months, month = [], first
    while month <= last:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def _rebuild(bind: sa.Connection, table: str, *, partitioned: bool) -> None:
    """Make ``table`` again, partitioned by month or plain, with its rows and everything around."""
    shape = _read_shape(bind, table)
    old = f"{table}_before_0019"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    for name, _, _ in shape.keys:
        op.execute(f"ALTER TABLE {old} DROP CONSTRAINT {name}")
    for name, _ in shape.foreign_keys:
        op.execute(f"ALTER TABLE {old} DROP CONSTRAINT {name}")
    for index in bind.execute(
        sa.text(
            "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
            "WHERE x.indrelid = CAST(:t AS regclass)"
        ),
        {"t": old},
    ).scalars():
        op.execute(f"DROP INDEX {index}")
    like = (
        f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING STORAGE INCLUDING COMPRESSION)"
    )
    op.execute(like + (" PARTITION BY RANGE (created_at)" if partitioned else ""))
    for column, sequence in shape.sequences:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.{column}")
    for role, privilege in shape.grants:
        op.execute(f'GRANT {privilege} ON {table} TO "{role}"')
    if partitioned:
        months = _months(bind, old)
        for month in months:
            op.execute(sa.text("SELECT create_log_partition(:t, :m)").bindparams(t=table, m=month))
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        op.execute(
            sa.text("SELECT guard_log_partition(:t, :p)").bindparams(t=table, p=f"{table}_default")
        )
        for month in months:  # month by month: each INSERT reads one month and fills one partition
            op.execute(
                sa.text(
                    f"INSERT INTO {table} SELECT * FROM {old} WHERE created_at >= "
                    f"(CAST(:m AS timestamp) AT TIME ZONE 'UTC') AND created_at < "
                    f"((CAST(:m AS timestamp) + interval '1 month') AT TIME ZONE 'UTC')"
                ).bindparams(m=month)
            )
    else:
        op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    for definition in shape.indexes:
        op.execute(definition)
    for name, kind, columns in shape.keys:
        if partitioned and "created_at" not in columns:
            columns = [*columns, "created_at"]
        if not partitioned and columns[-1:] == ["created_at"] and len(columns) > 1:
            columns = columns[:-1]
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {kind} ({', '.join(columns)})")
    for name, definition in shape.foreign_keys:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION refuse_log_change()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change()"
    )
    op.execute(f"DROP TABLE {old}")
    op.execute(f"ANALYZE {table}")


def _schema(bind: sa.Connection) -> str:
    name = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    return str(bind.dialect.identifier_preparer.quote(name))


def upgrade() -> None:
    op.create_table(
        "tlog_archive",
        sa.Column("log", sa.String(length=16), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("first_leaf", sa.BigInteger(), nullable=False),
        sa.Column("end_leaf", sa.BigInteger(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("log", "month", name=op.f("pk_tlog_archive")),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TRIGGER tlog_archive_append_only BEFORE UPDATE OR DELETE ON tlog_archive "
        "FOR EACH ROW EXECUTE FUNCTION refuse_log_change()"
    )
    op.execute(
        "CREATE TRIGGER tlog_archive_no_truncate BEFORE TRUNCATE ON tlog_archive "
        "FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change()"
    )
    schema = _schema(bind)
    for function in (_GUARD_PARTITION, _CREATE_PARTITION, _ENSURE_PARTITIONS, _FEEDBACK_GUARD):
        op.execute(function.format(schema=schema))
    op.execute("REVOKE ALL ON FUNCTION ensure_log_partitions(integer) FROM PUBLIC")
    for name in _FEEDBACK_KEYS:
        op.execute(f"ALTER TABLE cds_feedback DROP CONSTRAINT {name}")
    for table in PARTITIONED:
        _rebuild(bind, table, partitioned=True)
    op.execute(
        "CREATE TRIGGER cds_feedback_names_a_logged_alert BEFORE INSERT OR UPDATE ON cds_feedback "
        "FOR EACH ROW EXECUTE FUNCTION feedback_names_a_logged_alert()"
    )


def downgrade() -> None:
    op.drop_table("tlog_archive")
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER cds_feedback_names_a_logged_alert ON cds_feedback")
    for table in PARTITIONED:
        _rebuild(bind, table, partitioned=False)
    for name, definition in _FEEDBACK_KEYS.items():
        op.execute(f"ALTER TABLE cds_feedback ADD CONSTRAINT {name} {definition}")
    op.execute("DROP FUNCTION feedback_names_a_logged_alert()")
    op.execute("DROP FUNCTION ensure_log_partitions(integer)")
    op.execute("DROP FUNCTION create_log_partition(text, date)")
    op.execute("DROP FUNCTION guard_log_partition(text, text)")
