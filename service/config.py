"""Every setting the service reads, typed and described in one place, from the environment.

``Settings`` is the list: one field per setting, with its type, default and a one-line description
(the README table and ``.env.example`` are checked against it). ``from_environment`` feeds it into
``app.config`` under the same names, so views keep reading ``current_app.config[...]``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from .db.rate_limits import Rate
from .db.timeouts import Timeouts
from .shipped import shipped_folder

MAX_REQUEST_BYTES = 64 * 1024
# A CDS Hooks request carries the patient's whole medication list: 64 KiB is about 50 medications,
# so the patients on the most drugs would get no cards. The CDS door has its own, larger limit.
CDS_MAX_REQUEST_BYTES = 2 * 1024 * 1024
SEED_DATA = shipped_folder("seed_data")  # in the installed package, or the checkout's

# A key shorter than this, or one of few distinct characters, is guessable or a placeholder.
MIN_KEY_LENGTH = 32
MIN_KEY_DISTINCT_CHARACTERS = 10


class ConfigurationError(ValueError):
    """The environment names a setting the service cannot start with; the message says which."""


class Settings(BaseSettings):
    """The service's settings; each reads the environment variable of its own name.

    An empty variable counts as unset, so ``.env.example`` can list every setting blank.
    """

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore")

    SERVICE_ENV: Literal["development", "production"] = Field(
        default="development",
        description="`production` refuses to start without strong SECRET_KEY and PATIENT_REF_KEY, "
        "or without an audit signing key",
    )
    DATABASE_URL: str = Field(
        default="", description="SQLAlchemy URL; unset: SQLite at instance/alerts.sqlite3"
    )
    MIGRATIONS_DATABASE_URL: str = Field(
        default="",
        description="owner role's URL for `db upgrade` and `kb load`/`kb activate`; unset: DATABASE_URL",
    )
    DATABASE_CONNECT_TIMEOUT: PositiveFloat = Field(
        default=3.0, description="seconds to connect to the database before answering 503"
    )
    DATABASE_STATEMENT_TIMEOUT: PositiveFloat = Field(
        default=5.0, description="seconds one statement may run before answering 503"
    )
    DATABASE_LOCK_TIMEOUT: PositiveFloat = Field(
        default=3.0, description="seconds to wait for a lock (SQLite: the busy timeout)"
    )
    DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: PositiveFloat = Field(
        default=60.0,
        description="seconds PostgreSQL keeps a session idle inside a transaction (slow exports)",
    )
    DATABASE_FAST_PATHS: bool = Field(
        default=True,
        description="the check's statements straight on the driver's cursor; false: through "
        "SQLAlchemy's execution, seen by its logging, events and tracing",
    )
    SECRET_KEY: SecretStr = Field(
        default=SecretStr(""),
        description="signs sessions and forms; unset: generated once into instance/secret_key",
    )
    PATIENT_REF_KEY: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC key of the patient references kept in the log; unset: derived from SECRET_KEY",
    )
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="Python logging level of the JSON log lines on standard error"
    )
    METRICS_TOKEN: SecretStr = Field(
        default=SecretStr(""),
        description="bearer token Prometheus sends to read /metrics; unset: /metrics answers 404",
    )
    PROMETHEUS_MULTIPROC_DIR: Path | None = Field(
        default=None,
        description="directory where gunicorn workers pool their metrics; unset: per process",
    )
    KB_DIR: Path = Field(default=SEED_DATA, description="what `kb load` reads without an argument")
    PUBLIC_BASE_URL: str = Field(
        default="",
        description="external base URL: CDS Hooks JWT audience (JWTs refused when unset), card links",
    )
    CDS_CORS_ORIGINS: str = Field(
        default="",
        description="comma-separated origins allowed to call /cds-services from a browser",
    )
    CDS_MAX_REQUEST_BYTES: PositiveInt = Field(
        default=CDS_MAX_REQUEST_BYTES,
        description="largest CDS Hooks request body accepted (413 beyond)",
    )
    CDS_FHIR_CONNECT_TIMEOUT: PositiveFloat = Field(
        default=3.0, description="seconds to connect to an EHR's FHIR server"
    )
    CDS_FHIR_TOTAL_TIMEOUT: PositiveFloat = Field(
        default=10.0, description="seconds for all of one request's FHIR fetches (412 beyond)"
    )
    CDS_FHIR_MAX_BYTES: PositiveInt = Field(
        default=8 * 1024 * 1024, description="bytes one request may fetch from a FHIR server"
    )
    CDS_FHIR_MAX_PAGES: PositiveInt = Field(
        default=20, description="pages one request may fetch from a FHIR server"
    )
    WEB_RATE_LIMIT: str = Field(
        default="30 per minute",
        description="web form checks per client address (`N per minute`, `N per 5 minutes`, `N/hour`)",
    )
    LOGIN_ADDRESS_RATE_LIMIT: str = Field(
        default="30 per 15 minutes",
        description="staff sign-in attempts per client address, any names",
    )
    LOGIN_MAX_FAILURES: PositiveInt = Field(
        default=5, description="failed sign-ins at one name from one address before that is paused"
    )
    LOGIN_LOCKOUT_MINUTES: PositiveInt = Field(
        default=15, description="the window those failures are counted in, so the longest pause"
    )
    SESSION_IDLE_MINUTES: PositiveInt = Field(
        default=30, description="a staff session ends after this many minutes unused"
    )
    SESSION_MAX_HOURS: PositiveInt = Field(
        default=12, description="a staff session ends this many hours after sign-in, used or not"
    )
    SESSION_COOKIE_SECURE: bool | None = Field(
        default=None,
        description="staff session cookie Secure; unset: on, except in debug and testing mode",
    )
    AUDIT_SIGNING_KEY: SecretStr = Field(
        default=SecretStr(""),
        description="private key signing the logs' checkpoints (`audit keygen`); never in the database",
    )
    AUDIT_SIGNING_KEY_FILE: Path | None = Field(
        default=None,
        description="file holding that key instead; unset: instance/audit-signing.key",
    )
    AUDIT_PUBLIC_KEY: str = Field(
        default="",
        description="verifier key `audit verify --archive` checks archives with; unset: the signing key's",
    )
    LOG_ORIGIN: str = Field(
        default="",
        description="the logs' name in checkpoints; unset: PUBLIC_BASE_URL's host, else a local name",
    )
    CHECKPOINT_EXPORT: str = Field(
        default="",
        description="where each new checkpoint goes: a file, a directory or an http(s) URL (POST)",
    )
    SEAL_INTERVAL: PositiveFloat = Field(
        default=1.0, description="seconds between the sealer's turns"
    )
    UNSEALED_MAX_AGE: PositiveFloat = Field(
        default=60.0, description="seconds an entry may stay unsealed before verify fails"
    )
    PROXY_HOPS: NonNegativeInt = Field(
        default=0,
        description="reverse proxies in front whose X-Forwarded-For/-Proto the app believes",
    )

    @field_validator("WEB_RATE_LIMIT", "LOGIN_ADDRESS_RATE_LIMIT")
    @classmethod
    def _a_rate(cls, text: str) -> str:
        Rate.parse(text)  # a typo stops the start, not the first form post or sign-in
        return text

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper_case_level(cls, level: object) -> object:
        return level.upper() if isinstance(level, str) else level

    @model_validator(mode="after")
    def _strong_keys_in_production(self) -> Settings:
        if self.SERVICE_ENV == "production":
            secret = self.SECRET_KEY.get_secret_value()
            patient = self.PATIENT_REF_KEY.get_secret_value()
            problems = [
                f"{name} {weakness}"
                for name, value in (("SECRET_KEY", secret), ("PATIENT_REF_KEY", patient))
                if (weakness := key_weakness(value))
            ]
            if secret and secret == patient:
                problems.append("PATIENT_REF_KEY must differ from SECRET_KEY")
            key_file = self.AUDIT_SIGNING_KEY_FILE
            if self.AUDIT_SIGNING_KEY.get_secret_value():
                pass
            elif key_file is None:
                problems.append("AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE must be set")
            elif not key_file.is_file():
                problems.append("AUDIT_SIGNING_KEY_FILE names no file")
            if problems:
                raise ValueError("; ".join(problems))
        return self

    def flask_config(self, instance_path: Path) -> dict[str, Any]:
        """The settings as ``app.config`` entries, secrets unwrapped and defaults made concrete."""
        values = self.model_dump()
        for name, value in values.items():
            if isinstance(value, SecretStr):
                values[name] = value.get_secret_value()
        values["DATABASE_URL"] = (
            self.DATABASE_URL or f"sqlite:///{instance_path / 'alerts.sqlite3'}"
        )
        values["SECRET_KEY"] = values["SECRET_KEY"] or _local_secret(instance_path)
        values["KB_DIR"] = str(self.KB_DIR)
        values["AUDIT_SIGNING_KEY_FILE"] = str(
            self.AUDIT_SIGNING_KEY_FILE or instance_path / "audit-signing.key"
        )
        return values


def key_weakness(key: str) -> str | None:
    """Why ``key`` is unfit to guard production data, or None when it is fit."""
    if not key:
        return "is not set"
    if len(key) < MIN_KEY_LENGTH:
        return f"is shorter than {MIN_KEY_LENGTH} characters"
    if len(set(key)) < MIN_KEY_DISTINCT_CHARACTERS:
        return "repeats too few characters to be random"
    return None


def load_settings() -> Settings:
    """The settings from the environment; a ``ConfigurationError`` naming every bad one."""
    try:
        return Settings()
    except ValidationError as error:
        reasons = "; ".join(_reason(detail) for detail in error.errors())
        raise ConfigurationError(f"the service cannot start: {reasons}") from None


def _reason(detail: Any) -> str:
    """One validation error as ``NAME: why``, never echoing the value (it may be a secret)."""
    name = ".".join(str(part) for part in detail["loc"])
    message = str(detail["msg"]).removeprefix("Value error, ")
    return f"{name}: {message}" if name else message


def from_environment(instance_path: Path) -> dict[str, Any]:
    """The ``app.config`` entries of the settings, plus the fixed request-size limit."""
    return {
        **load_settings().flask_config(instance_path),
        "MAX_CONTENT_LENGTH": MAX_REQUEST_BYTES,
    }


def database_timeouts(settings: Mapping[str, Any]) -> Timeouts:
    """The service's waits for its database, from the ``DATABASE_*_TIMEOUT`` settings."""
    return Timeouts(
        connect=settings["DATABASE_CONNECT_TIMEOUT"],
        statement=settings["DATABASE_STATEMENT_TIMEOUT"],
        lock=settings["DATABASE_LOCK_TIMEOUT"],
        idle_in_transaction=settings["DATABASE_IDLE_IN_TRANSACTION_TIMEOUT"],
    )


def _local_secret(instance_path: Path) -> str:
    """Generated once and kept, so sessions survive restarts of a local install."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
