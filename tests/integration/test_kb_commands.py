"""Staging, activating, reviewing and weighing a knowledge-base version from the shell."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import kb_store
from service.db.models import AlertLog, AuditEvent, KbVersion

from ..conftest import SEED_DIR
from ..factories import KbVersionFactory

pytestmark = pytest.mark.both_databases  # loading a knowledge base is bulk SQL

RULES_FILE = Path("rules") / "01-cns-depression.yaml"


def _run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def _changed_kb(tmp_path: Path) -> Path:
    """The seed with R1 now moderate, R15 (clonazepam + valproate) gone and R99 added
    (clonazepam + acetaminophen, which no rule pairs today)."""
    directory = tmp_path / "kb"
    shutil.copytree(SEED_DIR, directory)
    path = directory / RULES_FILE
    rules: list[dict[str, Any]] = yaml.safe_load(path.read_text())
    by_id = {r["id"]: r for r in rules}
    by_id["R1"]["severity"] = "moderate"
    added = {
        **by_id["R15"],
        "id": "R99",
        "title": "Clonazepam with acetaminophen",
        "severity": "minor",
        "between": [["drug:clonazepam"], ["drug:acetaminophen"]],
    }
    rules = [r for r in rules if r["id"] != "R15"] + [added]
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    return directory


def _stage(app: Flask, tmp_path: Path) -> str:
    result = _run(app, "kb", "load", str(_changed_kb(tmp_path)))
    assert result.exit_code == 0, result.output
    return result.output.split()[3]  # "Staged knowledge base <id> (...)."


def test_kb_load_stages_a_version_without_activating_it(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    active = kb_store.active_version_id(session)
    assert active is not None
    staged = _stage(app, tmp_path)
    assert staged != active and kb_store.active_version_id(session) == active
    assert session.get_one(KbVersion, staged).activated_at is None
    assert f"kb activate {staged[:12]}" in _run(app, "kb", "load", str(tmp_path / "kb")).output
    assert f"staged, not active: {staged}" in _run(app, "kb", "show").output
    # A staged version is never used by a check.
    assert f"knowledge base {active[:12]}" in _run(app, "check", "Klonopin", "Percocet").output


def test_kb_activate_switches_the_version_checks_use_and_records_who_did_it(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    previous = kb_store.active_version_id(session)
    staged = _stage(app, tmp_path)
    result = _run(app, "kb", "activate", staged[:10])
    assert result.exit_code == 0 and f"Activated knowledge base {staged}" in result.output
    assert kb_store.active_version_id(session) == staged
    checked = _run(app, "check", "Klonopin", "Percocet")
    assert f"knowledge base {staged[:12]}" in checked.output
    assert "[MODERATE] R1" in checked.output  # the staged version's severity
    event = session.scalars(select(AuditEvent).filter_by(action="kb.activate")).one()
    assert (event.target, event.details) == (staged, {"previous": previous})
    assert "already active" in _run(app, "kb", "activate", staged).output


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("ffffffff", "No knowledge-base version starts with 'ffffffff'."),
        ("abc", "'abc' starts more than one version"),
        ("not-hex", "is not a knowledge-base version id"),
    ],
)
def test_kb_activate_refuses_an_unknown_or_ambiguous_version(
    app: Flask, session: Session, prefix: str, message: str
) -> None:
    KbVersionFactory(id="abc1" + "0" * 60, activated_at=None)
    KbVersionFactory(id="abc2" + "0" * 60, activated_at=None)
    active = kb_store.active_version_id(session)
    result = _run(app, "kb", "activate", prefix)
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output
    assert kb_store.active_version_id(session) == active


def test_make_runs_kb_load_activate_leaves_the_loaded_version_active(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    result = _run(app, "kb", "load", "--activate", str(_changed_kb(tmp_path)))
    assert result.exit_code == 0 and "Activated knowledge base" in result.output
    staged = result.output.split()[3]
    assert kb_store.active_version_id(session) == staged
    again = _run(app, "kb", "load", "--activate", str(tmp_path / "kb"))
    assert "unchanged" in again.output and "already stored (active)" in again.output
    assert "flask --app service kb load --activate" in (SEED_DIR.parent / "Makefile").read_text()


def test_kb_review_lists_families_and_what_changed_since_the_active_version(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    active = kb_store.active_version_id(session)
    staged = _stage(app, tmp_path)
    result = _run(app, "kb", "review")  # the newest staged version, against the active one
    assert result.exit_code == 0, result.output
    text = result.output
    assert f"# Knowledge-base review: {staged}" in text
    assert f"## What changed since {active}" in text
    assert "- added: R99" in text and "- removed: R15" in text
    assert "- severity: R1 major → moderate" in text
    for heading in (
        "### cns-depression",
        "### duplication-cumulative-dose",
        "## Unconfirmed",
        "## Rules without a primary source",
        "## Classes",
    ):
        assert heading in text


def test_kb_review_as_json_compares_with_any_version(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    active = kb_store.active_version_id(session)
    assert active is not None
    staged = _stage(app, tmp_path)
    result = _run(app, "kb", "review", active[:12], "--against", staged, "--format", "json")
    document = json.loads(result.output)
    assert document["version"] == active and document["changes"]["against"] == staged
    assert document["changes"]["rules_added"] == ["R15"]
    assert document["changes"]["rules_removed"] == ["R99"]
    assert {f["name"] for f in document["families"]} >= {"cns-depression"}


def test_kb_review_of_an_unknown_version_is_a_clear_error(app: Flask) -> None:
    result = _run(app, "kb", "review", "ffffffff")
    assert result.exit_code == 1 and "No knowledge-base version starts with" in result.output


def test_kb_impact_shows_alerts_appearing_and_disappearing_with_de_identified_examples(
    app: Flask, session: Session, client: FlaskClient, tmp_path: Path
) -> None:
    asked = [
        {"medications": ["Klonopin 2 mg", "acetaminophen"], "patient": {"age": 70}},
        {"medications": ["Klonopin", {"text": "Depakote ER", "rxcui": "40254"}]},
        {"medications": ["Klonopin", "Depakote ER"], "patient": {"age": 91}},
    ]
    answers = [client.post("/api/v1/checks", json=body).get_json() for body in asked]
    staged = _stage(app, tmp_path)
    result = _run(app, "kb", "impact", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["version"] == staged and report["baseline"] == "answered"
    assert report["checks_compared"] == 3
    lines = {(line["rule"], line["change"]): line for line in report["lines"]}
    appears = lines["R99", "appears"]
    assert (appears["severity"], appears["alerts"]) == ("minor", 1)
    assert appears["examples"] == [
        {"medications": ["Klonopin 2 mg", "acetaminophen"], "age_band": "65-74"}
    ]
    disappears = lines["R15", "disappears"]
    assert disappears["alerts"] == 2
    assert {tuple(e["medications"]) for e in disappears["examples"]} == {
        ("Klonopin", "Depakote ER (RxCUI 40254)"),
        ("Klonopin", "Depakote ER"),
    }
    assert {e["age_band"] for e in disappears["examples"]} == {None, "85+"}
    # Inputs only: no check id, client, patient reference or time.
    client_ids = set(session.scalars(select(AlertLog.client_id)))
    for secret in [a["check_id"] for a in answers] + [a["checked_at"] for a in answers]:
        assert secret not in result.output
    assert not any(c and c in result.output for c in client_ids)
    markdown = _run(app, "kb", "impact", staged[:12]).output
    assert "| R99 | appears | minor | 1 | Klonopin 2 mg; acetaminophen (age 65-74) |" in markdown


def test_kb_impact_outside_the_period_compares_nothing(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    client.post("/api/v1/checks", json={"medications": ["Klonopin", "Depakote ER"]})
    _stage(app, tmp_path)
    result = _run(app, "kb", "impact", "--from", "2020-01-01", "--to", "2020-01-31")
    assert result.exit_code == 0
    assert "checks compared: 0" in result.output and "no alert would change" in result.output


@pytest.mark.parametrize(
    "dates",
    [
        ["--from", "2026-13-01"],
        ["--to", "yesterday"],
        ["--from", "2026-12-05", "--to", "2026-12-01"],
    ],
)
def test_kb_impact_refuses_bad_dates_with_exit_code_2(app: Flask, dates: list[str]) -> None:
    result = _run(app, "kb", "impact", *dates)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Invalid value" in result.output
