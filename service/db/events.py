"""The security-event log (``audit_event``): who did what to what, when, and how it turned out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from . import log_append
from .models import AuditEvent


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    outcome: str = "success",
    details: dict[str, Any] | None = None,
) -> None:
    event = AuditEvent(
        created_at=datetime.now(UTC),
        actor=actor,
        action=action,
        target=target,
        outcome=outcome,
        details=details or {},
    )
    log_append.add(session, event)
