"""Knowledge-base versions as an operator names them: a unique start of an id, the newest staged one."""

from __future__ import annotations

import string

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import kb_store
from .models import KbVersion


class VersionNotFound(LookupError):
    """No version, or more than one, matches what the operator typed."""


def by_prefix(session: Session, prefix: str) -> KbVersion:
    """The one version whose id starts with ``prefix``; a short prefix that matches two is refused."""
    wanted = prefix.strip().lower()
    if not wanted or not set(wanted) <= set(string.hexdigits.lower()):
        raise VersionNotFound(f"{prefix!r} is not a knowledge-base version id (hexadecimal).")
    found = session.scalars(
        select(KbVersion).where(KbVersion.id.startswith(wanted)).order_by(KbVersion.id).limit(2)
    ).all()
    if not found:
        raise VersionNotFound(f"No knowledge-base version starts with {wanted!r}.")
    if len(found) > 1:
        raise VersionNotFound(
            f"{wanted!r} starts more than one version ({found[0].id[:12]}…, {found[1].id[:12]}…); "
            "give more of the id."
        )
    return found[0]


def newest_staged(session: Session) -> KbVersion | None:
    """The most recently loaded version that was never activated: the one awaiting sign-off."""
    return session.scalars(
        select(KbVersion)
        .where(KbVersion.activated_at.is_(None))
        .order_by(KbVersion.created_at.desc(), KbVersion.id)
        .limit(1)
    ).first()


def to_review(session: Session) -> KbVersion | None:
    """What a review or impact report is about by default: the newest staged version, or the active."""
    return newest_staged(session) or kb_store.active_version(session)


def compared_with(session: Session, version: KbVersion) -> KbVersion | None:
    """What ``version`` replaces: the active version, or for the active one the one active before it."""
    active = kb_store.active_version(session)
    if active is None or active.id != version.id or version.activated_at is None:
        return active
    return session.scalars(
        select(KbVersion)
        .where(KbVersion.activated_at < version.activated_at)
        .order_by(KbVersion.activated_at.desc(), KbVersion.id)
        .limit(1)
    ).first()
