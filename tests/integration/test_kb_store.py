"""Loading the knowledge base into the database and reading it back, exactly."""

from __future__ import annotations

import gc
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from service.checking import SnapshotCache
from service.db import kb_store
from service.db.models import KbVersion, Rule
from service.domain.snapshot import KbSnapshot
from service.kb.loader import read_knowledge_base

from ..conftest import SEED_DIR
from ..strategies import seed_knowledge

pytestmark = pytest.mark.both_databases  # loading a knowledge base is bulk SQL


def test_the_stored_knowledge_base_reads_back_to_the_same_content_hash(session: Session) -> None:
    version_id = kb_store.active_version_id(session)
    assert version_id is not None
    assert kb_store.load(session, version_id).content_hash() == version_id


def test_loading_unchanged_files_is_a_no_op(session: Session) -> None:
    versions = session.scalar(select(func.count()).select_from(KbVersion))
    _, changed = kb_store.store(session, seed_knowledge())
    assert changed is False
    assert session.scalar(select(func.count()).select_from(KbVersion)) == versions


def test_a_changed_knowledge_base_is_staged_and_becomes_active_only_when_activated(
    session: Session, tmp_path: Path
) -> None:
    shutil.copytree(SEED_DIR, tmp_path / "kb")
    scope = tmp_path / "kb" / "kb.yaml"
    scope.write_text(scope.read_text().replace("not a full drug compendium", "not a compendium"))
    old = kb_store.active_version_id(session)
    version, created = kb_store.store(session, read_knowledge_base(tmp_path / "kb"))
    assert created and version.id != old and version.activated_at is None
    assert kb_store.active_version_id(session) == old
    assert kb_store.activate(session, version) and kb_store.active_version_id(session) == version.id
    # Both versions keep their own rules, so old checks stay traceable to the rules as they were.
    assert session.scalar(select(func.count()).select_from(Rule).filter_by(kb_version_id=old))
    assert kb_store.activate(session, session.get_one(KbVersion, old))
    assert kb_store.active_version_id(session) == old
    assert not kb_store.activate(session, session.get_one(KbVersion, old))


def test_rules_keep_their_family_the_rules_file_without_its_order_prefix(
    session: Session,
) -> None:
    version_id = kb_store.active_version_id(session)
    assert version_id is not None
    families = {r.family for r in kb_store.load(session, version_id).rules}
    assert "cns-depression" in families and "" not in families


def test_the_snapshot_built_from_the_database_matches_the_files(
    session: Session, seed_kb: KbSnapshot
) -> None:
    version_id = kb_store.active_version_id(session)
    assert version_id == seed_kb.version


def test_a_new_snapshot_is_frozen_out_of_full_garbage_collections(connection: Connection) -> None:
    gc.unfreeze()
    snapshot = SnapshotCache().get(connection)
    assert gc.is_tracked(snapshot) and gc.get_freeze_count() > 0
    assert not any(tracked is snapshot for tracked in gc.get_objects())  # the frozen are not listed


def test_a_version_keeps_its_spanish_patient_texts(session: Session) -> None:
    version_id = kb_store.active_version_id(session)
    assert version_id is not None
    r2 = next(rule for rule in kb_store.load(session, version_id).rules if rule.id == "R2")
    spanish = r2.patient_texts("es")
    assert spanish is not None
    assert spanish[0].startswith("La buprenorfina o la metadona")
    assert spanish[1].startswith("No deje de tomar por su cuenta su medicamento")


def test_a_version_stored_before_translations_reads_back_english_only_with_its_own_id(
    session: Session,
) -> None:
    knowledge = seed_knowledge()
    untranslated = replace(
        knowledge, rules=tuple(replace(rule, translations=()) for rule in knowledge.rules)
    )
    version, _ = kb_store.store(session, untranslated)
    # What the migration leaves in the rows of a version stored before it: no translations at all.
    session.execute(update(Rule).filter_by(kb_version_id=version.id).values(translations=None))
    session.expire_all()
    loaded = kb_store.load(session, version.id)
    assert all(rule.patient_texts("es") is None for rule in loaded.rules)
    assert loaded.content_hash() == version.id


def test_a_version_stored_before_titles_were_translated_keeps_its_id_and_speaks_english(
    session: Session,
) -> None:
    knowledge = seed_knowledge()
    untitled = replace(
        knowledge,
        rules=tuple(
            replace(rule, translations=tuple(replace(t, title="") for t in rule.translations))
            for rule in knowledge.rules
        ),
    )
    version, _ = kb_store.store(session, untitled)
    # What such a version holds: the patient texts by language, without a title.
    for row in session.scalars(select(Rule).filter_by(kb_version_id=version.id)):
        row.translations = {
            language: {key: value for key, value in texts.items() if key != "title"}
            for language, texts in (row.translations or {}).items()
        }
    session.flush()
    session.expire_all()
    loaded = kb_store.load(session, version.id)
    assert loaded.content_hash() == version.id
    assert all(rule.patient_title("es") is None for rule in loaded.rules)
    assert all(rule.patient_texts("es") is None for rule in loaded.rules)  # never half Spanish
