"""The typed answer, the published schema and the log table describe one shape, key for key."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from service.api import schemas
from service.db.models import AlertLog
from service.domain import answer
from service.domain.document import alert_record, with_texts
from service.domain.snapshot import KbSnapshot

from .helpers import alert_for, run

PUBLISHED_AS = [
    (answer.AnswerDocument, schemas.CheckResponse),
    (answer.AnsweredAlert, schemas.AlertResult),
    (answer.MedicationDocument, schemas.MedicationResult),
    (answer.ScopeDocument, schemas.Scope),
    (answer.IngredientRef, schemas.IngredientRef),
    (answer.RuleRef, schemas.RuleRef),
    (answer.SourceRef, schemas.SourceRef),
    (answer.NcpdpCodes, schemas.Ncpdp),
    (answer.AlsoApplies, schemas.AlsoApplies),
]


@pytest.mark.parametrize(("typed", "published"), PUBLISHED_AS, ids=lambda t: t.__name__)
def test_every_key_the_renderers_read_is_one_the_openapi_document_publishes(
    typed: type, published: type[BaseModel]
) -> None:
    assert typed.__required_keys__ == frozenset(published.model_fields)  # type: ignore[attr-defined]
    assert not typed.__optional_keys__  # type: ignore[attr-defined]


def test_a_logged_check_has_exactly_the_alert_log_columns() -> None:
    assert answer.CheckLogRow.__required_keys__ == frozenset(AlertLog.__table__.columns.keys())


def test_an_answered_alert_is_its_log_record_with_texts_and_without_the_shown_flag(
    seed_kb: KbSnapshot,
) -> None:
    alert = alert_for(run(seed_kb, "clonazepam", "oxycodone"), "clonazepam", "oxycodone")
    assert alert is not None
    record = alert_record(alert, seed_kb, shown=True, uuid="0190d7a6-0000-7000-8000-000000000002")
    answered = with_texts(record, seed_kb)
    assert set(record) == answer.AlertRecord.__required_keys__
    assert set(answered) == answer.AnsweredAlert.__required_keys__
    assert answered["uuid"] == record["uuid"]
    texts = answer.AnsweredAlert.__required_keys__ - answer.AlertRecord.__required_keys__
    kept = {key: value for key, value in answered.items() if key not in texts}
    assert kept == {key: value for key, value in record.items() if key != "shown"}
