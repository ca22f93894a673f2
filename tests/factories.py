"""factory-boy factories for every model, writing through the current test's session."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

import factory
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from service.db import log_append
from service.db import models as m

_session: Session | None = None


def bind(session: Session) -> None:
    """Point every factory at this test's session (the fixture calls it)."""
    global _session
    _session = session


def _current_session() -> Session:
    assert _session is not None, "use the `session` fixture before creating rows"
    return _session


class _Base(factory.alchemy.SQLAlchemyModelFactory):  # type: ignore[misc]
    class Meta:
        abstract = True
        sqlalchemy_session_factory = _current_session
        sqlalchemy_session_persistence = "flush"


class KbVersionFactory(_Base):
    class Meta:
        model = m.KbVersion

    id = factory.Sequence(lambda n: f"{n:064x}")
    created_at = factory.LazyFunction(lambda: datetime.now(UTC))
    activated_at = factory.LazyFunction(lambda: datetime(2000, 1, 1, tzinfo=UTC))
    scope = "A test knowledge base."
    counts: Any = factory.LazyFunction(dict)


class SourceFactory(_Base):
    class Meta:
        model = m.Source

    kb_version_id = factory.LazyAttribute(lambda _: KbVersionFactory().id)
    key = factory.Sequence(lambda n: f"T{n}")
    label = "A test source"
    url = "https://example.org/source"


class IngredientFactory(_Base):
    class Meta:
        model = m.Ingredient

    kb_version_id = factory.LazyAttribute(lambda _: KbVersionFactory().id)
    name = factory.Sequence(lambda n: f"testamine {n}")
    rxcui = factory.Sequence(lambda n: str(900000000 + n))
    schedule = None
    notes = ""


class DrugNameFactory(_Base):
    class Meta:
        model = m.DrugName

    kb_version_id = factory.LazyAttribute(lambda _: KbVersionFactory().id)
    name = factory.Sequence(lambda n: f"Brandol {n}")
    kind = "brand"
    notes = ""


class DrugClassFactory(_Base):
    class Meta:
        model = m.DrugClass

    kb_version_id = factory.LazyAttribute(lambda _: KbVersionFactory().id)
    key = factory.Sequence(lambda n: f"class_{n}")
    name = factory.Sequence(lambda n: f"Class {n}")
    union_of: Any = factory.LazyFunction(list)
    notes = ""


class RuleFactory(_Base):
    class Meta:
        model = m.Rule

    kb_version_id = factory.LazyAttribute(lambda _: KbVersionFactory().id)
    code = factory.Sequence(lambda n: f"T{n}")
    position = factory.Sequence(int)
    kind = "interaction"
    title = "Test rule"
    severity = "moderate"
    summary = "A test summary."
    effect = "An effect."
    mechanism = "A mechanism."
    management = "Monitor."
    patient_text = "Talk to your pharmacist."
    notes = ""
    suggest_naloxone = False


class DoseLimitFactory(_Base):
    class Meta:
        model = m.DoseLimit

    rule_id = factory.LazyAttribute(lambda _: RuleFactory(kind="dose").id)
    ingredient_id = factory.LazyAttribute(lambda _: IngredientFactory().id)
    max_daily_mg = 4.0
    unless_indication: Any = factory.LazyFunction(list)


class _Chained(_Base):
    """Log rows are appended with their ``seq``, as the service writes them."""

    class Meta:
        abstract = True

    @classmethod
    def _create(
        cls, model_class: type[m.AlertLog | m.AuditEvent], *args: Any, **kwargs: Any
    ) -> Any:
        row = model_class(*args, **kwargs)
        session = _current_session()
        log_append.add(session, row)
        return row


class AlertLogFactory(_Chained):
    class Meta:
        model = m.AlertLog

    id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    created_at = factory.LazyFunction(lambda: datetime.now(UTC))
    channel = "api"
    client_id = None
    request_id = factory.LazyFunction(lambda: uuid.uuid4().hex)
    kb_version_id = factory.LazyAttribute(lambda _: KbVersionFactory().id)
    inputs: Any = factory.LazyFunction(lambda: {"medications": ["clonazepam"]})
    medications: Any = factory.LazyFunction(list)
    alerts: Any = factory.LazyFunction(list)
    scope: Any = factory.LazyFunction(
        lambda: {"statement": "scope", "not_checked": [], "recognized_without_rules": []}
    )
    complete = True
    highest_severity = None
    min_severity = None
    patient_ref = None


class AuditEventFactory(_Chained):
    class Meta:
        model = m.AuditEvent

    created_at = factory.LazyFunction(lambda: datetime.now(UTC))
    actor = "cli:test"
    action = "client.create"
    target = factory.Sequence(lambda n: f"client-{n}")
    outcome = "success"
    details: Any = factory.LazyFunction(dict)


PASSWORD = "correct horse battery staple"  # every UserFactory user's password

# argon2id as cheap as it goes, for tests: production's parameters cost a good fraction of a second
# per hash on a busy two-core machine, and the accounts tests sign in hundreds of times.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@cache
def _password_hash() -> str:
    return FAST_HASHER.hash(PASSWORD)


class UserFactory(_Base):
    """An auditor (``role="admin"`` for an admin) whose password is ``PASSWORD``."""

    class Meta:
        model = m.User

    name = factory.Sequence(lambda n: f"person{n}")
    role = "auditor"
    password_hash = factory.LazyFunction(_password_hash)
    created_at = factory.LazyFunction(lambda: datetime.now(UTC))
    disabled_at = None


class UserSessionFactory(_Base):
    """A signed-in browser's server-side session; its ``id`` is what the cookie carries."""

    class Meta:
        model = m.UserSession

    id = factory.LazyFunction(lambda: secrets.token_hex(32))
    user_id = factory.LazyAttribute(lambda _: UserFactory().id)
    created_at = factory.LazyFunction(lambda: datetime.now(UTC))
    last_seen_at = factory.LazyAttribute(lambda row: row.created_at)
    ended_at = None


class UserTokenFactory(_Base):
    """An auditor's API token; pass ``token_hash`` of the token the test will send."""

    class Meta:
        model = m.UserToken

    user_id = factory.LazyAttribute(lambda _: UserFactory().id)
    token_hash = factory.LazyFunction(lambda: secrets.token_hex(32))
    created_at = factory.LazyFunction(lambda: datetime.now(UTC))
    revoked_at = None


class CdsFeedbackFactory(_Base):
    """What a clinician did with ``alert`` (a projected ``LoggedAlert``): accepted, by default,
    at the time of its check."""

    class Meta:
        model = m.CdsFeedback

    class Params:
        alert: m.LoggedAlert | None = None

    alert_uuid = factory.LazyAttribute(lambda row: row.alert.uuid)
    alert_log_id = factory.LazyAttribute(lambda row: row.alert.alert_log_id)
    check_created_at = factory.LazyAttribute(
        lambda row: _current_session().get_one(m.AlertLog, row.alert_log_id).created_at
    )
    client_id = None
    outcome = "accepted"
    accepted_suggestions: Any = factory.LazyFunction(list)
    override_reason = None
    override_comment = None
    outcome_at = factory.LazyAttribute(lambda row: row.check_created_at)
    received_at = factory.LazyAttribute(lambda row: row.outcome_at)
