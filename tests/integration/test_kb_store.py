"""Loading the knowledge base into the database and reading it back, exactly."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from service.checking import SnapshotCache
from service.db import kb_store
from service.db.models import KbVersion, Rule
from service.domain.snapshot import KbSnapshot
from service.kb.loader import read_knowledge_base

from ..conftest import SEED_DIR


def test_the_stored_knowledge_base_reads_back_to_the_same_content_hash(session: Session) -> None:
    version_id = kb_store.active_version_id(session)
    assert version_id is not None
    assert kb_store.load(session, version_id).content_hash() == version_id


def test_loading_unchanged_files_is_a_no_op(session: Session) -> None:
    versions = session.scalar(select(func.count()).select_from(KbVersion))
    _, changed = kb_store.store(session, read_knowledge_base(SEED_DIR))
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
    assert session.scalar(select(func.count()).select_from(Rule).filter_by(kb_version_id=old)) > 0
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
