"""The one severity scale and every mapping other formats need, in one table."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class SeverityMapping:
    rank: int
    cds_indicator: str
    ncpdp_clinical_significance: str
    rxnav_severity: str
    colour: str


class Severity(enum.Enum):
    """Ordered so that ``max()`` and sorting pick the most severe alert."""

    MINOR = "minor"
    MODERATE = "moderate"
    MAJOR = "major"
    CONTRAINDICATED = "contraindicated"

    # Members are singletons compared by identity; Enum's own hash (of the name, in Python) was a
    # large share of a check's time, since every ranking looks severities up in a table.
    __hash__ = object.__hash__

    @property
    def mapping(self) -> SeverityMapping:
        return _MAPPINGS[self]

    @property
    def rank(self) -> int:
        return _MAPPINGS[self].rank

    # All four written out: ``max()`` over alerts compares severities dozens of times per check.
    def __lt__(self, other: Severity) -> bool:
        return _RANKS[self] < _RANKS[other]

    def __le__(self, other: Severity) -> bool:
        return _RANKS[self] <= _RANKS[other]

    def __gt__(self, other: Severity) -> bool:
        return _RANKS[self] > _RANKS[other]

    def __ge__(self, other: Severity) -> bool:
        return _RANKS[self] >= _RANKS[other]

    @classmethod
    def parse(cls, label: str) -> Severity:
        try:
            return cls(label.strip().lower())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {label!r} (expected one of: {allowed})") from None


_MAPPINGS = {
    Severity.CONTRAINDICATED: SeverityMapping(4, "critical", "1", "high", "#7a0019"),
    Severity.MAJOR: SeverityMapping(3, "critical", "1", "high", "#b3261e"),
    Severity.MODERATE: SeverityMapping(2, "warning", "2", "moderate", "#8a5300"),
    Severity.MINOR: SeverityMapping(1, "info", "3", "low", "#1f5f99"),
}
_RANKS = {severity: mapping.rank for severity, mapping in _MAPPINGS.items()}


class AlertKind(enum.Enum):
    __hash__ = object.__hash__  # as for Severity

    INTERACTION = "interaction"
    DUPLICATION = "duplication"
    CUMULATIVE = "cumulative"
    DOSE = "dose"
