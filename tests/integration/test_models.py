"""The schema guards what the loader also checks, so a bad row cannot slip in by another route."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db import clients, kb_store
from service.db.models import RuleParty

from ..factories import (
    AlertLogFactory,
    DoseLimitFactory,
    DrugClassFactory,
    DrugNameFactory,
    IngredientFactory,
    KbVersionFactory,
    RuleFactory,
    SourceFactory,
)

pytestmark = pytest.mark.both_databases  # column types and constraints


def test_a_rule_with_an_unknown_severity_is_rejected_by_the_database(session: Session) -> None:
    with pytest.raises(IntegrityError), session.begin_nested():
        RuleFactory(severity="severe")


def test_a_rule_party_must_name_exactly_one_target(session: Session) -> None:
    rule = RuleFactory()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(RuleParty(rule_id=rule.id, role="left", position=0))
        session.flush()


def test_a_dose_limit_belongs_to_one_rule(session: Session) -> None:
    limit = DoseLimitFactory()
    with pytest.raises(IntegrityError), session.begin_nested():
        DoseLimitFactory(rule_id=limit.rule_id)


def test_ingredient_names_are_unique_within_a_version(session: Session) -> None:
    version = KbVersionFactory()
    IngredientFactory(kb_version_id=version.id, name="testamine")
    IngredientFactory(
        kb_version_id=KbVersionFactory().id, name="testamine"
    )  # another version: fine
    with pytest.raises(IntegrityError), session.begin_nested():
        IngredientFactory(kb_version_id=version.id, name="testamine")


@pytest.mark.parametrize("make", [SourceFactory, DrugClassFactory], ids=["source", "drug class"])
def test_keys_are_unique_within_a_version(session: Session, make: Any) -> None:
    version = KbVersionFactory()
    make(kb_version_id=version.id, key="k1")
    make(kb_version_id=KbVersionFactory().id, key="k1")  # another version: fine
    with pytest.raises(IntegrityError), session.begin_nested():
        make(kb_version_id=version.id, key="k1")


def test_a_drug_name_and_a_class_read_their_ingredients_back_in_name_order(
    session: Session,
) -> None:
    version = KbVersionFactory()
    ingredients = [IngredientFactory(kb_version_id=version.id, name=n) for n in ("zeta", "alpha")]
    drug = DrugNameFactory(kb_version_id=version.id, ingredients=ingredients)
    drug_class = DrugClassFactory(kb_version_id=version.id, members=ingredients)
    session.expire_all()  # read back from the tables, not from the objects built here
    assert [i.name for i in drug.ingredients] == ["alpha", "zeta"]
    assert [i.name for i in drug_class.members] == ["alpha", "zeta"]


def test_a_logged_check_is_served_from_its_row(
    client: FlaskClient, session: Session, api_key: str
) -> None:
    owner = clients.active_by_key_hash(session.connection(), clients.hash_key(api_key))
    assert owner is not None
    owner_id, *_ = owner
    version = kb_store.active_version_id(session)
    entry = AlertLogFactory(
        client_id=owner_id,
        kb_version_id=version,
        alerts=[
            {
                "id": "R1:a+b",
                "rule": {"id": "R1", "title": "t"},
                "summary": "s",
                "severity": "major",
                "shown": True,
            },
            {
                "id": "R11:a+c",
                "rule": {"id": "R11", "title": "t"},
                "summary": "s",
                "severity": "moderate",
                "shown": False,
            },
        ],
        highest_severity="major",
    )
    session.commit()
    body = client.get(f"/api/v1/checks/{entry.id}").get_json()
    assert body["check_id"] == entry.id
    assert [a["id"] for a in body["alerts"]] == ["R1:a+b"]  # hidden alerts stay in the log only
    assert body["highest_severity"] == "major"
    assert body["checked_at"].endswith("Z")
    # The rule's wording comes back from the KB version that answered, not from the log row.
    assert body["alerts"][0]["patient_text"] and body["alerts"][0]["sources"]
