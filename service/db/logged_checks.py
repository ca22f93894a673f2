"""A period's logged checks read back for re-evaluation, in batches, never the whole log at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.answer import MedicationDocument
from .models import AlertLog

BATCH = 1000


def asked(
    session: Session, start: datetime, end: datetime, batch: int = BATCH
) -> Iterator[tuple[str, dict[str, Any], list[MedicationDocument]]]:
    """(version, inputs, medications) of each check logged in [start, end), in id order.

    Keyset pagination by id (time-ordered UUIDv7): each batch starts where the last one ended, with
    no OFFSET to skip over, and only one batch of documents is in memory at a time.
    """
    after = ""
    while True:
        rows = session.execute(
            select(AlertLog.id, AlertLog.kb_version_id, AlertLog.inputs, AlertLog.medications)
            .where(AlertLog.created_at >= start, AlertLog.created_at < end, AlertLog.id > after)
            .order_by(AlertLog.id)
            .limit(batch)
        ).all()
        for row in rows:
            yield row.kb_version_id, row.inputs, row.medications
        if len(rows) < batch:
            return
        after = rows[-1].id
