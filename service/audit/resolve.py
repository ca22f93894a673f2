"""Filter values checked against what exists, so a typo is an error and never an empty list.

Parsing (``filters``) only knows the shape of a value; this step knows the knowledge base and the
clients. Ingredients are read the way a check reads a medication, so "alcohol" means ethanol and
"Xanax" alprazolam; a name the knowledge base does not know, a client nobody registered or a rule
no version ever had is refused with a message that says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..appctx import database, snapshots
from ..checking import active_snapshot
from ..db.models import ApiClient, Rule
from ..domain.snapshot import KbSnapshot
from .filters import CheckFilters, FilterError, parse_check_filters


def read_check_filters(args: Mapping[str, str]) -> CheckFilters:
    """Parse and resolve check filters against the active knowledge base: what every door calls."""
    filters = parse_check_filters(args)
    if not (filters.ingredients or filters.client or filters.rule):
        return filters
    # The snapshot only when names must be read: a process that has answered no check yet would
    # otherwise build it to resolve a client.
    kb = active_snapshot(database(), snapshots()) if filters.ingredients else None
    with database().unit_of_work(read_only=True) as session:
        return resolve_check_filters(session, kb, filters)


def resolve_check_filters(
    session: Session, kb: KbSnapshot | None, filters: CheckFilters
) -> CheckFilters:
    """``filters`` with ingredients as the KB names them, the client's id and the rule's code.

    ``kb`` may be None only when the filters name no ingredient.
    """
    errors: dict[str, str] = {}
    ingredients: list[str] = []
    if filters.ingredients:
        if kb is None:
            raise ValueError("ingredient names are read with a knowledge-base snapshot")
        unknown: list[str] = []
        for name in filters.ingredients:
            concept = kb.lookup_text(name)
            if concept is None:
                unknown.append(name)
            else:
                ingredients.extend(concept.ingredients)
        if unknown:
            errors["ingredient"] = "; ".join(_unknown_medicine(name, kb) for name in unknown)
    client = filters.client
    if client is not None:
        client = session.scalar(
            select(ApiClient.id).where(
                or_(ApiClient.id == client, func.lower(ApiClient.name) == client.lower())
            )
        )
        if client is None:
            errors["client"] = f"no client is named {filters.client!r}"
    rule = filters.rule
    if rule is not None:
        rule = session.scalar(
            select(Rule.code).where(func.upper(Rule.code) == rule.upper()).limit(1)
        )
        if rule is None:
            errors["rule"] = f"no knowledge-base version has a rule {filters.rule!r}"
    if errors:
        raise FilterError(errors)
    return replace(filters, ingredients=tuple(dict.fromkeys(ingredients)), client=client, rule=rule)


def _unknown_medicine(name: str, kb: KbSnapshot) -> str:
    suggestions = kb.suggest(name)
    hint = f" (did you mean {' or '.join(suggestions)}?)" if suggestions else ""
    return f"the knowledge base does not know {name!r}{hint}"
