"""Drug-interaction safety alerts: one check, many doors, every answer logged.

The app factory is imported on first use, not with the package: ``import service.domain.check``
(a script, a benchmark, a unit test) then loads neither Flask nor SQLAlchemy. ``flask --app service``
and ``gunicorn 'service:create_app()'`` still find ``create_app`` here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .factory import AlertsApp, create_app

__all__ = ["AlertsApp", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import factory

        return getattr(factory, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
