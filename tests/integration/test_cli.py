"""The operator commands, run through Flask's CLI runner against the test database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db.models import AlertLog, KbVersion

from ..conftest import SEED_DIR
from ..strategies import seed_knowledge

pytestmark = pytest.mark.both_databases  # commands that write and read the database


def test_kb_show_prints_the_active_version_and_counts(app: Flask, session: Session) -> None:
    result = app.test_cli_runner().invoke(args=["kb", "show"])
    assert result.exit_code == 0
    version = session.scalar(select(KbVersion.id).order_by(KbVersion.activated_at.desc()))
    assert f"version (content SHA-256): {version}" in result.output
    rules = len(seed_knowledge().rules)
    assert f"rules: {rules}" in result.output


def test_kb_load_of_unchanged_files_is_a_no_op(app: Flask, session: Session) -> None:
    result = app.test_cli_runner().invoke(args=["kb", "load", str(SEED_DIR)])
    assert result.exit_code == 0 and "unchanged" in result.output
    assert session.scalar(select(func.count()).select_from(KbVersion)) == 1


def test_kb_load_of_an_invalid_directory_writes_nothing(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    shutil.copytree(SEED_DIR, tmp_path / "kb")
    rules = tmp_path / "kb" / "rules" / "01-cns-depression.yaml"
    rules.write_text(rules.read_text().replace("severity: major", "severity: severe", 1))
    result = app.test_cli_runner().invoke(args=["kb", "load", str(tmp_path / "kb")])
    assert result.exit_code == 1
    assert (
        "rules/01-cns-depression.yaml:" in result.output and "nothing was written" in result.output
    )
    assert session.scalar(select(func.count()).select_from(KbVersion)) == 1


def test_check_prints_alerts_and_logs_the_check(app: Flask, session: Session) -> None:
    result = app.test_cli_runner().invoke(args=["check", "Klonopin 2 mg", "Percocet", "klonopinn"])
    assert result.exit_code == 0
    assert "[MAJOR] R1" in result.output
    assert "klonopinn: NOT RECOGNISED" in result.output and "Klonopin" in result.output
    assert "INCOMPLETE" in result.output
    assert session.scalar(select(func.count()).select_from(AlertLog).filter_by(channel="cli")) == 1
