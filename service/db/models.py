"""Typed SQLAlchemy 2.0 models: knowledge-base versions (each a full copy) and the alert log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ..domain.answer import AlertRecord, MedicationDocument, ScopeDocument

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SEVERITIES = "'contraindicated', 'major', 'moderate', 'minor'"
# Severities ranked by meaning, none as 0: the auditors sort checks by it, and an index on exactly
# this expression lets "most severe first" over the whole log read the first page from the index.
# Laid out as PostgreSQL prints it back, so alembic's comparison of models and migrations matches it.
SEVERITY_RANK = {"contraindicated": 4, "major": 3, "moderate": 2, "minor": 1}
HIGHEST_SEVERITY_RANK = (
    "(\nCASE highest_severity\n"
    + "".join(f"    WHEN '{name}'::text THEN {rank}\n" for name, rank in SEVERITY_RANK.items())
    + "    ELSE 0\nEND)"
)
KINDS = "'interaction', 'duplication', 'cumulative', 'dose'"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class KbVersion(Base):
    """One loaded knowledge base; its id is the SHA-256 of its content."""

    __tablename__ = "kb_version"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # None while staged: loaded and reviewable, never used by a check until activated.
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    scope: Mapped[str] = mapped_column(Text)
    counts: Mapped[dict[str, Any]]
    naloxone_rxcui: Mapped[str | None] = mapped_column(String(12))
    # The suggestion's wording (label, order, dosing); None in versions stored before 0017.
    naloxone_offer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    routes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    never_alert: Mapped[list[Any]] = mapped_column(JSON, default=list)
    alcohol_class: Mapped[str | None] = mapped_column(String(64))
    # The bulk RxNorm vocabulary this version recognises; its digest is part of the version's id.
    vocabulary_id: Mapped[str | None] = mapped_column(ForeignKey("rxnorm_vocabulary.id"))


class RxnormVocabulary(Base):
    """All of RxNorm one or more versions recognise, stored once: its id is its content digest.

    Forty thousand concepts copied into every version would make each ``kb load`` slow and the
    database grow by megabytes per version for a file that changes with RxNorm's releases only.
    """

    __tablename__ = "rxnorm_vocabulary"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    release: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    concept_count: Mapped[int] = mapped_column(Integer)


class RxnormConcept(Base):
    __tablename__ = "rxnorm_concept"

    vocabulary_id: Mapped[str] = mapped_column(
        ForeignKey("rxnorm_vocabulary.id", ondelete="CASCADE"), primary_key=True
    )
    rxcui: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    tty: Mapped[str] = mapped_column(String(8))
    ingredient_rxcuis: Mapped[str] = mapped_column(Text)  # ";"-separated IN codes
    route: Mapped[str | None] = mapped_column(String(32))


class _Versioned:
    kb_version_id: Mapped[str] = mapped_column(
        ForeignKey("kb_version.id", ondelete="CASCADE"), index=True
    )


class Source(_Versioned, Base):
    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("kb_version_id", "key", name="uq_source_version_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="secondary")


class Ingredient(_Versioned, Base):
    __tablename__ = "ingredient"
    __table_args__ = (UniqueConstraint("kb_version_id", "name", name="uq_ingredient_version_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    rxcui: Mapped[str | None] = mapped_column(String(12))
    schedule: Mapped[str | None] = mapped_column(String(4))
    notes: Mapped[str] = mapped_column(Text, default="")
    no_rxcui_reason: Mapped[str] = mapped_column(Text, default="")


class DrugNameIngredient(Base):
    __tablename__ = "drug_name_ingredient"

    drug_name_id: Mapped[int] = mapped_column(
        ForeignKey("drug_name.id", ondelete="CASCADE"), primary_key=True
    )
    ingredient_id: Mapped[int] = mapped_column(
        ForeignKey("ingredient.id", ondelete="CASCADE"), primary_key=True
    )


class DrugName(_Versioned, Base):
    """A brand, synonym, salt, misspelling, combination product or RxNorm concept of any TTY."""

    __tablename__ = "drug_name"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    rxcui: Mapped[str | None] = mapped_column(String(12), index=True)
    tty: Mapped[str | None] = mapped_column(String(8))
    provenance: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    route: Mapped[str | None] = mapped_column(String(32))
    ingredients: Mapped[list[Ingredient]] = relationship(
        secondary="drug_name_ingredient", order_by="Ingredient.name"
    )


class ClassMember(Base):
    __tablename__ = "class_member"

    class_id: Mapped[int] = mapped_column(
        ForeignKey("drug_class.id", ondelete="CASCADE"), primary_key=True
    )
    ingredient_id: Mapped[int] = mapped_column(
        ForeignKey("ingredient.id", ondelete="CASCADE"), primary_key=True
    )


class ClassSource(Base):
    __tablename__ = "class_source"

    class_id: Mapped[int] = mapped_column(
        ForeignKey("drug_class.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[int] = mapped_column(
        ForeignKey("source.id", ondelete="CASCADE"), primary_key=True
    )


class DrugClass(_Versioned, Base):
    __tablename__ = "drug_class"
    __table_args__ = (UniqueConstraint("kb_version_id", "key", name="uq_drug_class_version_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    parent_key: Mapped[str | None] = mapped_column(String(64))
    union_of: Mapped[list[Any]]
    products_combining: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    notes: Mapped[str] = mapped_column(Text, default="")
    member_sources: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    routes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    helper: Mapped[bool] = mapped_column(Boolean, default=False)
    members: Mapped[list[Ingredient]] = relationship(
        secondary="class_member", order_by="Ingredient.name"
    )
    sources: Mapped[list[Source]] = relationship(secondary="class_source", order_by="Source.key")


class RuleSource(Base):
    __tablename__ = "rule_source"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("rule.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[int] = mapped_column(
        ForeignKey("source.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)


class RuleParty(Base):
    """One side of an interaction rule, or a class a duplication/cumulative rule refers to."""

    __tablename__ = "rule_party"
    __table_args__ = (
        CheckConstraint("(class_id IS NULL) <> (ingredient_id IS NULL)", name="exactly_one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rule.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    position: Mapped[int] = mapped_column(Integer)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("drug_class.id", ondelete="CASCADE"))
    ingredient_id: Mapped[int | None] = mapped_column(
        ForeignKey("ingredient.id", ondelete="CASCADE")
    )
    drug_class: Mapped[DrugClass | None] = relationship()
    ingredient: Mapped[Ingredient | None] = relationship()


class Rule(_Versioned, Base):
    __tablename__ = "rule"
    __table_args__ = (
        UniqueConstraint("kb_version_id", "code", name="uq_rule_version_code"),
        CheckConstraint(f"severity IN ({SEVERITIES})", name="severity"),
        CheckConstraint(f"kind IN ({KINDS})", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(200))
    effect: Mapped[str] = mapped_column(Text)
    mechanism: Mapped[str] = mapped_column(Text)
    management: Mapped[str] = mapped_column(Text)
    patient_text: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    suggest_naloxone: Mapped[bool] = mapped_column(Boolean, default=False)
    criteria: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    family: Mapped[str] = mapped_column(String(64), default="")
    evidence: Mapped[str] = mapped_column(String(32), default="")
    unconfirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    always_say: Mapped[str] = mapped_column(Text, default="")
    always_tell_patient: Mapped[str] = mapped_column(Text, default="")
    # {"es": {"patient_text": ..., "always_tell_patient": ...}}; None in versions stored before.
    translations: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    parties: Mapped[list[RuleParty]] = relationship(order_by="RuleParty.position")
    sources: Mapped[list[Source]] = relationship(
        secondary="rule_source", order_by="RuleSource.position"
    )
    dose_limit: Mapped[DoseLimit | None] = relationship()


class DoseLimit(Base):
    __tablename__ = "dose_limit"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rule.id", ondelete="CASCADE"), unique=True)
    ingredient_id: Mapped[int] = mapped_column(ForeignKey("ingredient.id", ondelete="CASCADE"))
    max_daily_mg: Mapped[float] = mapped_column(Float)
    unless_indication: Mapped[list[Any]]
    ingredient: Mapped[Ingredient] = relationship()


# What the check list shows and filters by, besides the time.
PERIOD_LIST_COLUMNS = [
    "seq", "id", "channel", "client_id", "patient_ref", "highest_severity", "complete",
    "kb_version_id",
]  # fmt: skip


class AlertLog(Base):
    """Every answered check, written in the same transaction as the answer; never updated."""

    __tablename__ = "alert_log"
    __table_args__ = (
        CheckConstraint(f"highest_severity IN ({SEVERITIES})", name="highest_severity"),
        # A period's checks listed, counted and filtered from the index alone (PostgreSQL).
        Index("ix_alert_log_created_at", "created_at", postgresql_include=PERIOD_LIST_COLUMNS),
        # The auditors' filters: by severity or channel within a period.
        Index("ix_alert_log_highest_severity_created_at", "highest_severity", "created_at"),
        Index("ix_alert_log_channel_created_at", "channel", "created_at"),
        # The auditors' sorts over the whole log, in keyset order (sort key, then seq).
        Index("ix_alert_log_channel_seq", "channel", "seq"),
        # PostgreSQL only: SQLite, the small embedded database, cannot reflect expression indexes.
        Index("ix_alert_log_severity_rank_seq", text(HIGHEST_SEVERITY_RANK), "seq").ddl_if(
            dialect="postgresql"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str | None] = mapped_column(ForeignKey("api_client.id"), index=True)
    request_id: Mapped[str] = mapped_column(String(64))
    kb_version_id: Mapped[str] = mapped_column(ForeignKey("kb_version.id"), index=True)
    inputs: Mapped[dict[str, Any]]
    medications: Mapped[list[MedicationDocument]] = mapped_column(JSON)
    alerts: Mapped[list[AlertRecord]] = mapped_column(JSON)
    scope: Mapped[ScopeDocument] = mapped_column(JSON)
    complete: Mapped[bool] = mapped_column(Boolean)
    highest_severity: Mapped[str | None] = mapped_column(String(16))
    min_severity: Mapped[str | None] = mapped_column(String(16))
    patient_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    # The entry's place in its log: a sequence's next value on PostgreSQL (no shared row to lock,
    # so it may have gaps and commit out of order), the last one plus one on SQLite (its writers
    # are serialised). The transparency log's leaves name it (``service/db/transparency.py``).
    seq: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue(), unique=True)


class ApiClient(Base):
    """A pharmacy system or EHR allowed to call the service; only a hash of its key is kept."""

    __tablename__ = "api_client"
    __table_args__ = (CheckConstraint(f"min_severity IN ({SEVERITIES})", name="min_severity"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    min_severity: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    jwt_issuer: Mapped[str | None] = mapped_column(String(300), unique=True)
    jwks_url: Mapped[str | None] = mapped_column(Text)
    # For RxNav clients that drop the body of any non-200 answer (OpenEMR 5.0.x): 200, so that a
    # failure's "CHECK FAILED" entry reaches the screen. None: failures keep their HTTP status.
    rxnav_failure_status: Mapped[int | None] = mapped_column(Integer)
    keys: Mapped[list[ClientKey]] = relationship(order_by="ClientKey.id")
    fhir_servers: Mapped[list[ClientFhirServer]] = relationship(order_by="ClientFhirServer.id")


class ClientKey(Base):
    """A public JWK a CDS client signs its JWTs with."""

    __tablename__ = "client_key"
    __table_args__ = (UniqueConstraint("client_id", "kid", name="uq_client_key_client_kid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("api_client.id", ondelete="CASCADE"), index=True
    )
    kid: Mapped[str] = mapped_column(String(200))
    jwk: Mapped[dict[str, Any]]
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClientFhirServer(Base):
    """A FHIR base URL a CDS client's requests may name as ``fhirServer``: the only ones fetched from."""

    __tablename__ = "client_fhir_server"
    __table_args__ = (
        UniqueConstraint("client_id", "url", name="uq_client_fhir_server_client_url"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("api_client.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SeenJwt(Base):
    """JWT ids already used, kept until they expire, so a captured token cannot be replayed."""

    __tablename__ = "seen_jwt"

    issuer: Mapped[str] = mapped_column(String(300), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AuditEvent(Base):
    """A security-relevant action: who did what to what, when, and how it turned out."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]]
    # The entry's place in its log: a sequence's next value on PostgreSQL (no shared row to lock,
    # so it may have gaps and commit out of order), the last one plus one on SQLite (its writers
    # are serialised). The transparency log's leaves name it (``service/db/transparency.py``).
    seq: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue(), unique=True)


class LoggedAlert(Base):
    """One alert of a logged check, addressable by uuid (CDS cards, feedback, audit queries)."""

    __tablename__ = "logged_alert"
    __table_args__ = (
        CheckConstraint(f"severity IN ({SEVERITIES})", name="severity"),
        # A check's alerts, counted and probed for feedback from the index alone (PostgreSQL).
        Index(
            "ix_logged_alert_alert_log_id",
            "alert_log_id",
            postgresql_include=["uuid", "shown", "created_at"],
        ),
        # Alert-level filters (the ingredient one reads alert_id) and reports read one period of
        # alerts from the index alone, never every alert of the log.
        Index(
            "ix_logged_alert_created_at",
            "created_at",
            postgresql_include=[
                "alert_log_id",
                "uuid",
                "rule_code",
                "severity",
                "shown",
                "alert_id",
            ],
        ),
        Index(
            "ix_logged_alert_rule_code_created_at",
            "rule_code",
            "created_at",
            postgresql_include=["alert_log_id"],
        ),
        Index(
            "ix_logged_alert_severity_created_at",
            "severity",
            "created_at",
            postgresql_include=["alert_log_id"],
        ),
    )

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    # No foreign key: PostgreSQL's check of it, once per alert, cost more than the rest of the
    # check's writes (migration 0007). Projected from the check's own row (``logged_alerts``).
    alert_log_id: Mapped[str] = mapped_column(String(36))
    alert_id: Mapped[str] = mapped_column(String(300))
    rule_code: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    shown: Mapped[bool] = mapped_column(Boolean)
    # The check's ``created_at``, copied when the alert is logged, so that filters and reports over
    # a period read only that period's alerts. The server default covers writers that predate it.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("CURRENT_TIMESTAMP")
    )


class CdsFeedback(Base):
    """What a clinician did with a card: accepted (which suggestions) or overridden (why)."""

    __tablename__ = "cds_feedback"
    __table_args__ = (
        CheckConstraint("outcome IN ('accepted', 'overridden')", name="outcome"),
        # The outcome filters and the override reports read one period's feedback by its check's
        # time, from the index alone (PostgreSQL), never through every alert of the period.
        Index(
            "ix_cds_feedback_outcome_check_created_at",
            "outcome",
            "check_created_at",
            postgresql_include=["alert_log_id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_uuid: Mapped[str] = mapped_column(ForeignKey("logged_alert.uuid"), index=True)
    # The alert's check and its time, copied: "was this check answered?" is one index probe.
    alert_log_id: Mapped[str] = mapped_column(ForeignKey("alert_log.id"), index=True)
    check_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    client_id: Mapped[str | None] = mapped_column(ForeignKey("api_client.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    accepted_suggestions: Mapped[list[Any]]
    override_reason: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    override_comment: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TlogLeaf(Base):
    """A log entry sealed into its log's Merkle tree: its leaf hash at its place in the tree."""

    __tablename__ = "tlog_leaf"
    __table_args__ = (UniqueConstraint("log", "entry_seq", name="uq_tlog_leaf_log_entry_seq"),)

    log: Mapped[str] = mapped_column(String(16), primary_key=True)
    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entry_seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class TlogNode(Base):
    """A perfect subtree's hash (level 1 and up), stored so that any proof is O(log n) reads."""

    __tablename__ = "tlog_node"

    log: Mapped[str] = mapped_column(String(16), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class TlogCheckpoint(Base):
    """A signed tree head: the note as exported, and its size and root for queries."""

    __tablename__ = "tlog_checkpoint"

    log: Mapped[str] = mapped_column(String(16), primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text)


class TlogArchive(Base):
    """A month written to files by ``audit archive``: its rows may be detached from the database.

    ``audit verify`` accepts a sealed leaf without its row only inside such a month's leaves
    ``[first_leaf, end_leaf)``; the files prove those rows (``audit verify --archive``).
    """

    __tablename__ = "tlog_archive"

    log: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    first_leaf: Mapped[int] = mapped_column(BigInteger)
    end_leaf: Mapped[int] = mapped_column(BigInteger)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    archived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProjectionMark(Base):
    """The last log entry (``seq``) a table derived from the log has been brought up to."""

    __tablename__ = "projection_mark"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class User(Base):
    """A person who reviews (auditor) or also administers (admin) the service."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint("role IN ('auditor', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserSession(Base):
    """A login: the cookie names it, so logout and disabling a user end it on the server too.

    ``created_at`` bounds its absolute lifetime, ``last_seen_at`` its idle time (``access``).
    """

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserToken(Base):
    """An auditor's API token for their own tools; only its hash is kept."""

    __tablename__ = "user_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateLimitCounter(Base):
    """Requests counted under one key (a keyed hash of an address, or of a name and an address) in
    a window that starts with the first of them; every worker counts in the same row."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    resets_at: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch
