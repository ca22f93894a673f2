"""On PostgreSQL the service connects as a role that may read the logs and add to them, and nothing
more: it cannot update, delete, truncate, alter or drop them or their append-only triggers. The
owner role migrates and loads knowledge bases; the service still checks, signs people in and
serves the admin and auditor pages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from service import create_app
from service.db import users
from service.domain.checkpoint import SigningKey

from .. import factories
from ..accounts.conftest import post_form, sign_in

pytestmark = pytest.mark.postgres

LOGS = {  # each log, and a column to try to rewrite
    "alert_log": "channel",
    "logged_alert": "severity",
    "audit_event": "actor",
    "cds_feedback": "outcome_at",
    "tlog_leaf": "hash",  # the transparency log's tree and checkpoints: only the sealer adds
    "tlog_node": "hash",
    "tlog_checkpoint": "note",
}
REFUSED = re.compile(r"permission denied|must be owner")


@dataclass(frozen=True)
class Roles:
    owner_url: str
    service_url: str
    service_role: str


@pytest.fixture(scope="module")
def roles(postgres_url: str) -> Iterator[Roles]:
    """A database owned by a fresh owner role, and a fresh service role: neither a superuser."""
    suffix = uuid.uuid4().hex[:8]
    owner, service, name = f"alerts_owner_{suffix}", f"alerts_app_{suffix}", f"least_{suffix}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {owner} LOGIN NOSUPERUSER"))
        connection.execute(text(f"CREATE ROLE {service} LOGIN NOSUPERUSER"))
        connection.execute(text(f"CREATE DATABASE {name} OWNER {owner}"))
    url = make_url(postgres_url).set(database=name)
    try:
        yield Roles(
            owner_url=url.set(username=owner).render_as_string(hide_password=False),
            service_url=url.set(username=service).render_as_string(hide_password=False),
            service_role=service,
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"DROP ROLE IF EXISTS {service}"))
            connection.execute(text(f"DROP ROLE IF EXISTS {owner}"))
        admin.dispose()


@pytest.fixture(scope="module")
def app(roles: Roles) -> Iterator[Flask]:
    """The service as deployed with two roles, migrated and loaded by the owner's commands."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": roles.service_url,
            "MIGRATIONS_DATABASE_URL": roles.owner_url,
        }
    )
    runner = app.test_cli_runner()
    upgrade = runner.invoke(args=["db", "upgrade"])
    assert upgrade.exit_code == 0, upgrade.output
    assert f"Granted {roles.service_role}" in upgrade.output
    assert set(LOGS) <= set(upgrade.output.rsplit("add to: ", 1)[1].rstrip(".\n").split(", "))
    loaded = runner.invoke(args=["kb", "load", "--activate"])
    assert loaded.exit_code == 0, loaded.output
    yield app
    app.extensions["database"].dispose()


@pytest.fixture(scope="module")
def service_engine(roles: Roles) -> Iterator[Engine]:
    engine = create_engine(roles.service_url)
    yield engine
    engine.dispose()


FORBIDDEN = (
    [
        statement.format(table=table, column=column)
        for table, column in LOGS.items()
        for statement in (
            "UPDATE {table} SET {column} = {column}",
            "DELETE FROM {table}",
            "TRUNCATE {table} CASCADE",
            "ALTER TABLE {table} DISABLE TRIGGER {table}_append_only",
            "ALTER TABLE {table} ADD COLUMN rewritten text",
            "DROP TRIGGER {table}_append_only ON {table}",
            "DROP TRIGGER {table}_no_truncate ON {table}",
            "DROP TABLE {table} CASCADE",
        )
    ]
    + [
        statement.format(partition=f"{table}_{month}")
        for table in ("alert_log", "audit_event", "logged_alert")
        for month in (datetime.now(UTC).strftime("%Y_%m"), "default")
        for statement in (
            "UPDATE {partition} SET created_at = created_at",
            "DELETE FROM {partition}",
            "TRUNCATE {partition}",
            "DROP TRIGGER {partition}_no_truncate ON {partition}",
            "ALTER TABLE {partition} DISABLE TRIGGER ALL",
            "DROP TABLE {partition}",
        )
    ]
    + [
        "ALTER TABLE alert_log DETACH PARTITION alert_log_default",
        "SELECT create_log_partition('alert_log', '2031-01-01')",  # only the months to come, below
        "DROP FUNCTION refuse_log_change() CASCADE",
        "CREATE OR REPLACE FUNCTION refuse_log_change() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NEW; END $$",
        "UPDATE kb_version SET activated_at = NULL",  # the knowledge base: the owner's to change
        "DELETE FROM rule",
        "UPDATE alembic_version SET version_num = 'x'",
    ]
)


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_the_service_role_cannot_rewrite_the_logs_their_guards_or_the_knowledge_base(
    app: Flask, service_engine: Engine, statement: str
) -> None:
    with service_engine.connect() as connection, pytest.raises(DBAPIError, match=REFUSED):
        connection.execute(text(statement))


@pytest.fixture()
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "_hasher", factories.FAST_HASHER)


def test_as_the_service_role_checks_sign_in_admin_and_auditor_pages_work(
    app: Flask, service_engine: Engine, fast_password_hashing: None
) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["clients", "create", "least-pharmacy"])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    person = runner.invoke(
        args=["users", "create", "ada", "--role", "admin"], input=f"{factories.PASSWORD}\n"
    )
    assert person.exit_code == 0, person.output

    pharmacy = app.test_client()
    answer = pharmacy.post(
        "/api/v1/checks",
        json={"medications": ["clonazepam", "oxycodone"]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200 and answer.get_json()["highest_severity"] == "major"
    assert pharmacy.get("/readyz").status_code == 200  # its probe writes a log entry, rolled back

    browser = app.test_client()
    assert sign_in(browser, "ada").status_code == 303
    for page in ("/account", "/admin/users", "/admin/clients", "/audit/checks", "/audit/events"):
        assert browser.get(page).status_code == 200, page
    form = {"name": "second-pharmacy", "min_severity": "minor"}
    added = post_form(browser, "/admin/clients", form, page="/admin/clients")
    assert added.status_code == 200 and "second-pharmacy created" in added.get_data(as_text=True)
    partitions_made = runner.invoke(args=["audit", "partitions", "--months-ahead", "6"])
    assert partitions_made.exit_code == 0 and "Made 9 partitions" in partitions_made.output
    app.config["AUDIT_SIGNING_KEY"] = SigningKey.generate("least").text()
    sealed = runner.invoke(args=["audit", "seal", "--once"])  # inserts leaves, nodes, checkpoints
    assert sealed.exit_code == 0 and "alert_log: leaves 0..0 sealed" in sealed.output, sealed.output
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and "Warning" not in verified.stderr, verified.output
    assert "alert_log: 1 sealed entries verified" in verified.output

    with service_engine.connect() as connection:
        logged = connection.execute(
            text("SELECT count(*) FROM alert_log WHERE id = :id"),
            {"id": answer.get_json()["check_id"]},
        ).scalar_one()
        actions = set(connection.execute(text("SELECT action FROM audit_event")).scalars())
        pharmacies = set(connection.execute(text("SELECT name FROM api_client")).scalars())
    assert logged == 1
    assert pharmacies == {"least-pharmacy", "second-pharmacy"}
    assert {"audit.verify", "kb.load", "login", "client.create"} <= actions


@pytest.mark.parametrize(
    ("role", "message"),
    [("nobody_of_that_name", "there is no role"), ("postgres", "superuser or the owner")],
)
def test_granting_to_a_missing_or_all_powerful_role_is_refused_with_a_reason(
    app: Flask, role: str, message: str
) -> None:
    refused = app.test_cli_runner().invoke(args=["db", "grant", role])
    assert refused.exit_code == 1 and message in refused.output, refused.output
