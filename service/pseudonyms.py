"""Keyed hashes of patient identifiers: auditors can group a patient's checks, the log holds no id."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def patient_ref(identifier: str) -> str:
    """HMAC-SHA256 of the identifier under ``PATIENT_REF_KEY`` (derived from ``SECRET_KEY`` if unset)."""
    configured: str = current_app.config.get("PATIENT_REF_KEY") or ""
    key = (
        configured
        or hmac.new(
            current_app.config["SECRET_KEY"].encode(), b"patient-reference-key", hashlib.sha256
        ).hexdigest()
    )
    return hmac.new(key.encode(), identifier.strip().encode(), hashlib.sha256).hexdigest()
