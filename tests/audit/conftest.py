"""People and a known alert log for the audit tests.

People are made directly with the models (an auditor, an admin, a personal token) and signed in by
naming a server-side session in the cookie, so these tests do not depend on the login pages. The log
is a table of ``Spec`` rows written through the hash chain; tests compute what each filter, sort or
report must return from the same table in Python and compare.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import clients, kb_store, logged_alerts, transparency
from service.db.models import (
    AlertLog,
    User,
)
from service.db.users import token_hash
from service.pseudonyms import patient_ref

from .. import factories

RANK = {"contraindicated": 4, "major": 3, "moderate": 2, "minor": 1}
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TOKEN = "iat_" + "t" * 40
BENEFIT = ("benefit", "Benefit outweighs risk")


@dataclass
class Alert:
    rule: str
    severity: str
    ingredients: tuple[str, ...]
    shown: bool = True
    feedback: tuple[str, ...] = ()  # outcomes, in order: "accepted" / "overridden"
    also: tuple[str, ...] = ()  # rules that matched too (``also_matched``)
    reason: tuple[str, str] | None = BENEFIT  # an override's (code, display); None: none given
    suggestions: tuple[str, ...] = ()  # what an acceptance took


@dataclass
class Spec:
    """One check of the fixture log, as the tests think of it."""

    created_at: datetime
    channel: str
    client: str | None = None
    patient: str | None = None
    alerts: list[Alert] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    min_severity: str | None = None
    # Filled in when written:
    id: str = ""
    seq: int = 0
    ref: str | None = None

    @property
    def highest(self) -> str | None:
        return max((a.severity for a in self.alerts), key=RANK.__getitem__, default=None)

    @property
    def complete(self) -> bool:
        return not self.not_checked


def _specs() -> list[Spec]:
    """24 checks over 8 days: every channel, two clients and none, ties in time, every outcome."""
    rules = [
        Alert("R1", "major", ("clonazepam", "oxycodone")),
        Alert("R5", "contraindicated", ("sodium oxybate", "ethanol")),
        Alert("R11", "moderate", ("clonazepam", "zolpidem")),
        Alert("D1", "minor", ("clonazepam",)),
        Alert("R12", "moderate", ("oxycodone", "zolpidem")),
    ]
    channels = ["api", "cds-hooks", "rxnav", "web", "cli", "cds-hooks"]
    client_names = ["north", "south", None]
    specs = []
    for i in range(24):
        # Pairs of checks share a timestamp, so the seq tiebreak decides their order.
        created = T0 + timedelta(hours=9 * (i // 2))
        chosen = [rules[(i + k) % 5] for k in range(i % 3)]
        alerts = []
        for k, a in enumerate(chosen):
            feedback: tuple[str, ...] = ()
            if i % 4 == 1 and k == 0:
                feedback = ("overridden",)
            elif i % 4 == 2 and k == 0:
                feedback = ("accepted",)
            elif i % 8 == 3 and k == 0:
                feedback = ("accepted", "overridden")
            alerts.append(
                Alert(a.rule, a.severity, a.ingredients, shown=not (i % 5 == 0 and k == 1),
                      feedback=feedback)
            )  # fmt: skip
        specs.append(
            Spec(
                created_at=created,
                channel=channels[i % len(channels)],
                client=client_names[i % 3] if channels[i % len(channels)] != "web" else None,
                patient=f"MRN-{i % 4}" if i % 2 else None,
                alerts=alerts,
                not_checked=["Klonopinn"] if i % 7 == 0 else (["xanaxx", "klonopinn "] if i % 7 == 3 else []),
                min_severity="moderate" if i % 5 == 0 else None,
            )
        )  # fmt: skip
    return specs


@dataclass
class Log:
    specs: list[Spec]
    client_ids: dict[str, str]
    kb_version: str


def write(session: Session, specs: list[Spec], kb_version: str, client_ids: dict[str, str]) -> None:
    """Append ``specs`` to the log through the chain, with their logged alerts and feedback."""
    for spec in specs:
        spec.ref = patient_ref(spec.patient) if spec.patient else None
        documents = []
        for a in spec.alerts:
            documents.append(
                {
                    "id": f"{a.rule}:{'+'.join(a.ingredients)}",
                    "uuid": str(uuid.uuid4()),
                    "severity": a.severity,
                    "rule": {"id": a.rule, "title": f"Rule {a.rule}"},
                    "summary": f"{' + '.join(a.ingredients)}",
                    "also_matched": list(a.also),
                    "shown": a.shown,
                }
            )
        entry: AlertLog = factories.AlertLogFactory(
            created_at=spec.created_at,
            channel=spec.channel,
            client_id=client_ids[spec.client] if spec.client else None,
            kb_version_id=kb_version,
            inputs={"medications": [i for a in spec.alerts for i in a.ingredients] + spec.not_checked},
            medications=[{"input": t, "status": "unrecognized"} for t in spec.not_checked],
            alerts=documents,
            scope={"statement": "scope", "not_checked": spec.not_checked, "recognized_without_rules": []},
            complete=spec.complete,
            highest_severity=spec.highest,
            min_severity=spec.min_severity,
            patient_ref=spec.ref,
        )  # fmt: skip
        spec.id, spec.seq = entry.id, entry.seq
        session.flush()
        logged_alerts.project(session.connection())  # the index the auditors' filters read
        for a, doc in zip(spec.alerts, documents, strict=True):
            for n, outcome in enumerate(a.feedback):
                factories.CdsFeedbackFactory(
                    alert_uuid=doc["uuid"],
                    alert_log_id=entry.id,
                    check_created_at=spec.created_at,
                    client_id=entry.client_id,
                    outcome=outcome,
                    accepted_suggestions=list(a.suggestions) if outcome == "accepted" else [],
                    override_reason={"code": a.reason[0], "display": a.reason[1]}
                    if outcome == "overridden" and a.reason
                    else None,
                    override_comment="Palliative care" if outcome == "overridden" else None,
                    outcome_at=spec.created_at + timedelta(minutes=1 + n),
                    received_at=spec.created_at + timedelta(minutes=2 + n),
                )
    session.flush()


@pytest.fixture()
def log(app: Flask, session: Session) -> Log:
    """The 24-check fixture log, committed (in the test's outer transaction)."""
    client_ids = {}
    for name, level in (("north", "moderate"), ("south", "minor")):
        client, _ = clients.create(session, name, level, actor="test")
        client_ids[name] = client.id
    version = kb_store.active_version_id(session)
    assert version is not None
    specs = _specs()
    with app.test_request_context():  # patient_ref reads the app's key
        write(session, specs, version, client_ids)
    session.commit()
    return Log(specs, client_ids, version)


# ---- people -----------------------------------------------------------------------------------


def make_user(session: Session, name: str, role: str) -> User:
    user: User = factories.UserFactory(name=name, role=role)
    return user


def signed_in(app: Flask, session: Session, user: User) -> FlaskClient:
    """A browser whose cookie names a fresh server-side session of ``user``."""
    sid: str = factories.UserSessionFactory(user_id=user.id).id
    session.commit()
    browser = app.test_client()
    with browser.session_transaction() as cookie:
        cookie["sid"] = sid
    return browser


@pytest.fixture()
def auditor(app: Flask, session: Session) -> FlaskClient:
    return signed_in(app, session, make_user(session, "avery", "auditor"))


@pytest.fixture()
def admin(app: Flask, session: Session) -> FlaskClient:
    return signed_in(app, session, make_user(session, "morgan", "admin"))


@pytest.fixture()
def auditor_token(app: Flask, session: Session) -> FlaskClient:
    """A tool that sends an auditor's personal token and no cookie."""
    user = make_user(session, "tool-owner", "auditor")
    factories.UserTokenFactory(user_id=user.id, token_hash=token_hash(TOKEN))
    session.commit()
    tool = app.test_client()
    tool.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    return tool


@pytest.fixture()
def pharmacy(app: Flask, session: Session) -> FlaskClient:
    """A pharmacy system with a valid client key: it may check, never read the audit log."""
    _, key = clients.create(session, "pharmacy-x", "minor", actor="test")
    session.commit()
    system = app.test_client()
    system.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return system


def exported_as_sealed(session: Session, record: dict[str, Any]) -> bool:
    """An exported check carries exactly the leaf bytes its stored row has: verifiable outside."""
    entry = session.scalars(select(AlertLog).where(AlertLog.seq == record["seq"])).one()
    fields = transparency.FIELDS[transparency.ALERT_LOG]
    stored = transparency.leaf_bytes(
        transparency.ALERT_LOG, entry.seq, {f: getattr(entry, f) for f in fields}
    )
    return transparency.leaf_bytes(transparency.ALERT_LOG, record["seq"], record) == stored
