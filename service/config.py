"""Configuration from the environment, with safe defaults for a local, embedded install."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from .shipped import shipped_folder

MAX_REQUEST_BYTES = 64 * 1024
# A CDS Hooks request carries the patient's whole medication list: 64 KiB is about 50 medications,
# so the patients on the most drugs would get no cards. The CDS door has its own, larger limit.
CDS_MAX_REQUEST_BYTES = 2 * 1024 * 1024


def from_environment(instance_path: Path) -> dict[str, Any]:
    """``DATABASE_URL``, ``SECRET_KEY`` and ``LOG_LEVEL``; SQLite under ``instance/`` by default."""
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL")
        or f"sqlite:///{instance_path / 'alerts.sqlite3'}",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _local_secret(instance_path),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO").upper(),
        "MAX_CONTENT_LENGTH": MAX_REQUEST_BYTES,
        "PATIENT_REF_KEY": os.environ.get("PATIENT_REF_KEY", ""),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", ""),
        "CDS_CORS_ORIGINS": os.environ.get("CDS_CORS_ORIGINS", ""),
        "CDS_MAX_REQUEST_BYTES": _number("CDS_MAX_REQUEST_BYTES", CDS_MAX_REQUEST_BYTES),
        # Fetching from an EHR's FHIR server: seconds to connect, seconds for everything (all pages),
        # bytes over all pages, and pages, before the service gives up and answers 412.
        "CDS_FHIR_CONNECT_TIMEOUT": _number("CDS_FHIR_CONNECT_TIMEOUT", 3.0),
        "CDS_FHIR_TOTAL_TIMEOUT": _number("CDS_FHIR_TOTAL_TIMEOUT", 10.0),
        "CDS_FHIR_MAX_BYTES": _number("CDS_FHIR_MAX_BYTES", 8 * 1024 * 1024),
        "CDS_FHIR_MAX_PAGES": _number("CDS_FHIR_MAX_PAGES", 20),
        "KB_DIR": os.environ.get("KB_DIR") or str(shipped_folder("seed_data")),
        # Reverse proxies in front whose X-Forwarded-For/-Proto the app believes (nginx in compose: 1).
        "PROXY_HOPS": int(os.environ.get("PROXY_HOPS", "0")),
    }


def _number(name: str, default: int | float) -> Any:
    """A positive number from the environment, of the default's type; the default when unset."""
    raw = os.environ.get(name)
    if not raw:
        return default
    value = type(default)(raw)
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {raw!r}")
    return value


def _local_secret(instance_path: Path) -> str:
    """Generated once and kept, so sessions survive restarts of a local install."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
