"""Store a validated knowledge base as a version and read one back, exactly as it was loaded."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session, selectinload

from ..domain import knowledge as kb
from ..domain.severity import AlertKind, Severity
from . import models as m
from . import prepared

_VERSIONS = m.Base.metadata.tables["kb_version"]
# Core, not the ORM: 40k rows inserted and read as plain tuples, a second faster each way.
_CONCEPTS = m.Base.metadata.tables["rxnorm_concept"]
# A staged version (never activated) has no activation time and is never the active one.
_ACTIVE_VERSION = (
    select(_VERSIONS.c.id)
    .where(_VERSIONS.c.activated_at.is_not(None))
    .order_by(_VERSIONS.c.activated_at.desc(), _VERSIONS.c.id)
    .limit(1)
)


def active_version_id(db: Session | Connection) -> str | None:
    """The most recently activated version: one indexed row, cheap enough to ask on every check."""
    if isinstance(db, Session):
        return db.scalar(_ACTIVE_VERSION)  # after flushing what the session has pending
    row = prepared.fetch_one(db, _ACTIVE_VERSION, {})
    return row[0] if row else None


def ask_active_version(connection: Connection) -> prepared.Pending:
    """``active_version_id``, sent now and read later, so it can share a round trip."""
    return prepared.send(connection, _ACTIVE_VERSION, {})


def active_version(session: Session) -> m.KbVersion | None:
    version_id = active_version_id(session)
    return session.get(m.KbVersion, version_id) if version_id else None


def store(session: Session, knowledge: kb.KnowledgeBase) -> tuple[m.KbVersion, bool]:
    """Stage ``knowledge`` (stored, not active); returns the version and whether it is new."""
    version_id = knowledge.content_hash()
    existing = session.get(m.KbVersion, version_id)
    if existing is not None:
        return existing, False
    version = m.KbVersion(
        id=version_id,
        created_at=datetime.now(UTC),
        activated_at=None,
        scope=knowledge.scope,
        counts=knowledge.counts(),
        naloxone_rxcui=knowledge.naloxone_rxcui,
        routes=[asdict(route) for route in knowledge.routes],
        never_alert=list(knowledge.never_alert),
        vocabulary_id=_store_vocabulary(session, knowledge.vocabulary),
        alcohol_class=knowledge.alcohol_class,
        naloxone_offer=asdict(knowledge.naloxone_offer) if knowledge.naloxone_offer else None,
    )
    session.add(version)
    _write_content(session, version_id, knowledge)
    return version, True


def _store_vocabulary(session: Session, vocabulary: kb.Vocabulary | None) -> str | None:
    """Store the bulk vocabulary unless a version already did: once per content digest."""
    if vocabulary is None:
        return None
    if session.get(m.RxnormVocabulary, vocabulary.digest) is None:
        session.add(
            m.RxnormVocabulary(
                id=vocabulary.digest,
                release=vocabulary.release,
                created_at=datetime.now(UTC),
                concept_count=len(vocabulary.concepts),
            )
        )
        session.flush()
        rows = [
            {
                "vocabulary_id": vocabulary.digest,
                "rxcui": c.rxcui,
                "name": c.name,
                "tty": c.tty,
                "ingredient_rxcuis": ";".join(c.ingredient_rxcuis),
                "route": c.route,
            }
            for c in vocabulary.concepts
        ]
        for start in range(0, len(rows), _VOCABULARY_BATCH):
            session.execute(insert(_CONCEPTS), rows[start : start + _VOCABULARY_BATCH])
    return vocabulary.digest


_VOCABULARY_BATCH = 5000


def load_vocabulary(session: Session, vocabulary_id: str) -> kb.Vocabulary:
    """The stored vocabulary, read as plain rows (40k ORM objects would cost a second per worker)."""
    stored = session.get_one(m.RxnormVocabulary, vocabulary_id)
    table = _CONCEPTS
    rows = session.execute(
        select(table.c.rxcui, table.c.name, table.c.tty, table.c.ingredient_rxcuis, table.c.route)
        .where(table.c.vocabulary_id == vocabulary_id)
        .order_by(table.c.rxcui)
    )
    return kb.Vocabulary.from_rows(stored.release, ((r[0], r[1], r[2], r[3], r[4]) for r in rows))


def activate(session: Session, version: m.KbVersion) -> bool:
    """Make ``version`` the active one; running workers switch on their next check. False if it was."""
    if active_version_id(session) == version.id:
        return False
    version.activated_at = datetime.now(UTC)  # re-activating an earlier version is a change
    return True


def _write_content(session: Session, version_id: str, knowledge: kb.KnowledgeBase) -> None:
    sources = {
        s.id: m.Source(kb_version_id=version_id, key=s.id, label=s.label, url=s.url, kind=s.kind)
        for s in knowledge.sources
    }
    ingredients = {
        i.name: m.Ingredient(
            kb_version_id=version_id,
            name=i.name,
            rxcui=i.rxcui,
            schedule=i.schedule,
            notes=i.notes,
            no_rxcui_reason=i.no_rxcui_reason,
        )
        for i in knowledge.ingredients
    }
    session.add_all([*sources.values(), *ingredients.values()])
    session.add_all(
        m.DrugName(
            kb_version_id=version_id,
            name=n.name,
            kind=n.kind,
            rxcui=n.rxcui,
            tty=n.tty,
            provenance=n.provenance,
            notes=n.notes,
            route=n.route,
            ingredients=[ingredients[i] for i in n.ingredients],
        )
        for n in knowledge.names
    )
    classes = {
        c.id: m.DrugClass(
            kb_version_id=version_id,
            key=c.id,
            name=c.name,
            parent_key=c.parent,
            union_of=list(c.union_of),
            notes=c.notes,
            products_combining=(
                {
                    "member_of": c.products_combining.member_of,
                    "with_any_of": c.products_combining.with_any_of,
                }
                if c.products_combining
                else None
            ),
            members=[ingredients[i] for i in c.members],
            sources=[sources[s] for s in c.sources],
            member_sources={member: list(keys) for member, keys in c.member_sources},
            routes=list(c.routes),
            helper=c.helper,
        )
        for c in knowledge.classes
    }
    session.add_all(classes.values())
    session.flush()
    for position, rule in enumerate(knowledge.rules):
        row = m.Rule(
            kb_version_id=version_id,
            code=rule.id,
            position=position,
            kind=rule.kind.value,
            title=rule.title,
            severity=rule.severity.value,
            summary=rule.summary,
            effect=rule.effect,
            mechanism=rule.mechanism,
            management=rule.management,
            patient_text=rule.patient_text,
            notes=rule.notes,
            suggest_naloxone=rule.suggest_naloxone,
            criteria=_criteria(rule),
            family=rule.family,
            evidence=rule.evidence,
            unconfirmed=rule.unconfirmed,
            always_say=rule.always_say,
            always_tell_patient=rule.always_tell_patient,
            translations={
                t.language: {
                    "patient_text": t.patient_text,
                    "always_tell_patient": t.always_tell_patient,
                    "title": t.title,
                }
                for t in rule.translations
            },
        )
        session.add(row)
        session.flush()
        session.add_all(
            m.RuleSource(rule_id=row.id, source_id=sources[s].id, position=p)
            for p, s in enumerate(rule.sources)
        )
        if rule.between:
            sides = (*rule.between, *rule.excluded)
            for role, refs in zip(_PARTY_ROLES, sides, strict=True):
                session.add_all(
                    m.RuleParty(
                        rule_id=row.id,
                        role=role,
                        position=p,
                        class_id=classes[ref.id].id if ref.kind == "class" else None,
                        ingredient_id=ingredients[ref.id].id if ref.kind == "drug" else None,
                    )
                    for p, ref in enumerate(refs)
                )
        if rule.dose_limit:
            limit = rule.dose_limit
            session.add(
                m.DoseLimit(
                    rule_id=row.id,
                    ingredient_id=ingredients[limit.ingredient].id,
                    max_daily_mg=limit.max_daily_mg,
                    unless_indication=list(limit.unless_indication),
                )
            )
    session.flush()


_PARTY_ROLES = ("left", "right", "except_left", "except_right")


def _criteria(rule: kb.Rule) -> dict[str, Any] | None:
    if rule.fallback:
        return {"fallback": True}
    if rule.duplication:
        d = rule.duplication
        return {
            "same_ingredient": d.same_ingredient,
            "except": [str(r) for r in d.except_refs],
            "same_class": [str(r) for r in d.same_class],
        }
    if rule.cumulative:
        c = rule.cumulative
        older = c.older_adults
        return {
            "class": c.class_id,
            "min_count": c.min_count,
            "major_if_any_of": [str(r) for r in c.major_if_any_of],
            "older_adults": None
            if older is None
            else {
                "min_age": older.min_age,
                "class": older.class_id,
                "min_count": older.min_count,
                "severity": older.severity.value,
            },
        }
    return None


def load(session: Session, version_id: str) -> kb.KnowledgeBase:
    """Rebuild the knowledge base of one version from its rows (its content hash is ``version_id``)."""
    version = session.get_one(m.KbVersion, version_id)
    where = {"kb_version_id": version_id}
    sources = session.scalars(select(m.Source).filter_by(**where).order_by(m.Source.key)).all()
    ingredients = session.scalars(
        select(m.Ingredient).filter_by(**where).order_by(m.Ingredient.name)
    ).all()
    names = session.scalars(
        select(m.DrugName)
        .filter_by(**where)
        .options(selectinload(m.DrugName.ingredients))
        .order_by(m.DrugName.id)
    ).all()
    classes = session.scalars(
        select(m.DrugClass)
        .filter_by(**where)
        .options(selectinload(m.DrugClass.members), selectinload(m.DrugClass.sources))
        .order_by(m.DrugClass.id)
    ).all()
    rules = session.scalars(
        select(m.Rule)
        .filter_by(**where)
        .order_by(m.Rule.position)
        .options(
            selectinload(m.Rule.sources),
            selectinload(m.Rule.parties).selectinload(m.RuleParty.drug_class),
            selectinload(m.Rule.parties).selectinload(m.RuleParty.ingredient),
            selectinload(m.Rule.dose_limit).selectinload(m.DoseLimit.ingredient),
        )
    ).all()
    return kb.KnowledgeBase(
        scope=version.scope,
        sources=tuple(kb.Source(s.key, s.label, s.url, s.kind) for s in sources),
        ingredients=tuple(
            kb.Ingredient(i.name, i.rxcui, i.schedule, i.notes, i.no_rxcui_reason)
            for i in ingredients
        ),
        names=tuple(
            kb.DrugName(
                n.name,
                tuple(i.name for i in n.ingredients),
                n.kind,
                n.rxcui,
                n.tty,
                n.provenance,
                n.notes,
                n.route,
            )
            for n in names
        ),
        classes=tuple(
            kb.DrugClass(
                id=c.key,
                name=c.name,
                members=tuple(i.name for i in c.members),
                parent=c.parent_key,
                union_of=tuple(c.union_of),
                products_combining=kb.ProductCombination(**c.products_combining)
                if c.products_combining
                else None,
                sources=tuple(s.key for s in c.sources),
                notes=c.notes,
                member_sources=tuple(
                    (member, tuple(keys)) for member, keys in sorted(c.member_sources.items())
                ),
                routes=tuple(c.routes),
                helper=c.helper,
            )
            for c in classes
        ),
        rules=tuple(_rule(r) for r in rules),
        naloxone_rxcui=version.naloxone_rxcui,
        routes=tuple(kb.Route(r["id"], r["name"], r["systemic"]) for r in version.routes),
        never_alert=tuple(version.never_alert),
        vocabulary=load_vocabulary(session, version.vocabulary_id)
        if version.vocabulary_id
        else None,
        alcohol_class=version.alcohol_class,
        naloxone_offer=kb.NaloxoneOffer(**version.naloxone_offer)
        if version.naloxone_offer
        else None,
    )


def _rule(row: m.Rule) -> kb.Rule:
    def refs(role: str) -> tuple[kb.Ref, ...]:
        return tuple(
            kb.Ref("class", p.drug_class.key) if p.drug_class else kb.Ref("drug", p.ingredient.name)  # type: ignore[union-attr]
            for p in row.parties
            if p.role == role
        )

    criteria = row.criteria or {}
    duplication = cumulative = dose_limit = None
    if row.kind == AlertKind.DUPLICATION.value:
        duplication = kb.DuplicationCriteria(
            criteria["same_ingredient"],
            tuple(kb.Ref.parse(r) for r in criteria["except"]),
            tuple(kb.Ref.parse(r) for r in criteria["same_class"]),
        )
    if row.kind == AlertKind.CUMULATIVE.value:
        older = criteria.get("older_adults")
        cumulative = kb.CumulativeCriteria(
            criteria["class"],
            criteria["min_count"],
            tuple(kb.Ref.parse(r) for r in criteria["major_if_any_of"]),
            kb.OlderAdultEscalation(
                older["min_age"], older["class"], older["min_count"], Severity(older["severity"])
            )
            if older
            else None,
        )
    if row.dose_limit is not None:
        limit = row.dose_limit
        dose_limit = kb.DoseLimit(
            limit.ingredient.name, limit.max_daily_mg, tuple(limit.unless_indication)
        )
    return kb.Rule(
        id=row.code,
        kind=AlertKind(row.kind),
        title=row.title,
        severity=Severity(row.severity),
        summary=row.summary,
        effect=row.effect,
        mechanism=row.mechanism,
        management=row.management,
        patient_text=row.patient_text,
        sources=tuple(s.key for s in row.sources),
        notes=row.notes,
        suggest_naloxone=row.suggest_naloxone,
        between=(refs("left"), refs("right")) if row.kind == AlertKind.INTERACTION.value else None,
        excluded=(refs("except_left"), refs("except_right")),
        fallback=bool(criteria.get("fallback")),
        always_say=row.always_say,
        always_tell_patient=row.always_tell_patient,
        evidence=row.evidence,
        unconfirmed=row.unconfirmed,
        family=row.family,
        duplication=duplication,
        cumulative=cumulative,
        dose_limit=dose_limit,
        translations=tuple(
            kb.PatientTranslation(
                language,
                texts["patient_text"],
                texts["always_tell_patient"],
                # Absent in versions stored before titles were translated: see PatientTranslation.
                texts.get("title", ""),
            )
            for language, texts in sorted((row.translations or {}).items())
        ),
    )


def counts(session: Session, version_id: str) -> dict[str, int]:
    version = session.get_one(m.KbVersion, version_id)
    logged = session.scalar(
        select(func.count()).select_from(m.AlertLog).filter_by(kb_version_id=version_id)
    )
    return {**version.counts, "checks_logged": logged or 0}
