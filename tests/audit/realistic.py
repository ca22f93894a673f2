"""Realistic log entries for the browser tests and screenshots: real engine answers, spread over days.

The service stamps every check with the time it ran; a review page needs weeks of history, so these
entries are built from the engine's output with the same document functions the service logs with,
and appended with their ``seq`` and chosen times, in order, as the service writes them.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from service.db import log_append, logged_alerts
from service.db.models import AlertLog, CdsFeedback
from service.domain.check import CheckContext, MedicationInput, check, recognize
from service.domain.document import alert_record, is_shown, medication_document, scope_document
from service.domain.severity import Severity
from service.domain.snapshot import KbSnapshot

LISTS = [
    ["Klonopin", "oxycodone"],
    ["alprazolam", "hydrocodone", "metformin"],
    ["zolpidem", "lorazepam", "lisinopril"],
    ["gabapentin", "oxycodone", "atorvastatin"],
    ["Xyrem", "alcohol"],
    ["tramadol", "sertraline"],
    ["metformin", "lisinopril"],
    ["diazepam", "methadone", "quetiapine"],
    ["Ambien", "klonopinn"],
    ["oxycodone", "Percocet"],
    ["buprenorphine", "clonazepam"],
    ["amoxicillin", "xanaxx"],
    ["morphine", "alprazolam", "zolpidem", "gabapentin"],
    ["aspirin"],
]
OVERRIDE_REASONS = [
    {
        "code": "benefit",
        "display": "Benefit outweighs risk",
        "system": "https://example.org/reasons",
    },
    {
        "code": "monitor",
        "display": "Will monitor the patient",
        "system": "https://example.org/reasons",
    },
    {"code": "palliative", "display": "Palliative care", "system": "https://example.org/reasons"},
]


def add_checks(
    session: Session,
    kb: KbSnapshot,
    clients: list[tuple[str, str]],
    count: int,
    days: int,
    seed: int = 7,
) -> None:
    """Append ``count`` checks over the last ``days`` days; ``clients`` are (id, minimum severity)."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=days)
    for n in range(count):
        items = rng.choice(LISTS)
        channel = rng.choice(["api", "cds-hooks", "cds-hooks", "rxnav", "web", "cli"])
        client_id, floor = (
            rng.choice(clients) if channel in ("api", "cds-hooks", "rxnav") else (None, None)
        )
        minimum = Severity(floor) if floor else None
        result = check(recognize([MedicationInput(text=t) for t in items], kb), kb, CheckContext())
        alerts = []
        for alert in result.alerts:
            alert_uuid = str(uuid.UUID(int=rng.getrandbits(128)))
            alerts.append(alert_record(alert, kb, is_shown(alert, minimum), alert_uuid))
        entry = AlertLog(
            id=str(uuid.UUID(int=rng.getrandbits(128))),
            created_at=start + timedelta(days=days) * (n + rng.random() * 0.5) / count,
            channel=channel,
            client_id=client_id,
            request_id=f"{rng.getrandbits(64):016x}",
            kb_version_id=kb.version,
            inputs={"medications": items},
            medications=[
                medication_document(m, raw, kb)
                for m, raw in zip(result.medications, items, strict=True)
            ],
            alerts=alerts,
            scope=scope_document(result, kb),
            complete=result.complete,
            highest_severity=result.highest_severity.value if result.highest_severity else None,
            min_severity=minimum.value if minimum else None,
            patient_ref=f"{rng.getrandbits(256):064x}" if channel == "cds-hooks" else None,
        )
        log_append.add(session, entry)
        logged_alerts.project(session.connection())  # the index the auditors' filters read
        for document in alerts:
            if channel == "cds-hooks" and document["shown"] and rng.random() < 0.6:
                session.flush()
                overridden = rng.random() < 0.5
                session.add(
                    CdsFeedback(
                        alert_uuid=document["uuid"],
                        alert_log_id=entry.id,
                        check_created_at=entry.created_at,
                        client_id=client_id,
                        outcome="overridden" if overridden else "accepted",
                        accepted_suggestions=[],
                        override_reason=rng.choice(OVERRIDE_REASONS) if overridden else None,
                        override_comment="Discussed with the prescriber" if overridden else None,
                        outcome_at=entry.created_at + timedelta(seconds=30),
                        received_at=entry.created_at + timedelta(seconds=31),
                    )
                )
        session.flush()
