"""What activating a version would change for the checks already answered: re-evaluated, de-identified.

Each logged check is rebuilt from what it asked (its medication items and the patient's age), checked
against the baseline (the version that answered it, or the active one) and the candidate, and the
alerts that differ are counted by rule and severity. Examples keep only the inputs: never a client,
check id, patient reference or time, and the age only as a band.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..domain.answer import MedicationDocument
from ..domain.check import CheckContext, MedicationInput, check, recognize
from ..domain.snapshot import KbSnapshot
from ..domain.text import to_milligrams

EXAMPLES_PER_LINE = 3
# Lower bounds; the top band stays wide so that no example singles out the very old.
AGE_BANDS = ((85, "85+"), (75, "75-84"), (65, "65-74"), (45, "45-64"), (18, "18-44"), (0, "0-17"))
APPEARS, DISAPPEARS, SEVERITY = "appears", "disappears", "severity changes"
# A one-drug lookup (what does this drug interact with?) answers no list check: nothing to re-run.
LOOKUP_ENDPOINT = "interaction/interaction.json"


@dataclass(frozen=True)
class LoggedCheck:
    """What a logged check asked, and the version that answered it."""

    kb_version: str
    items: tuple[MedicationInput, ...]
    patient_age: int | None


def logged_check(
    kb_version: str, inputs: Mapping[str, Any], medications: Sequence[MedicationDocument]
) -> LoggedCheck | None:
    """Rebuild a check from its log row's documents; None for a one-drug lookup.

    The items are the medication documents' ``input`` (as each door received them: a text, or a
    mapping with text, rxcui, daily_dose, indication and route). The age is where the JSON API and the
    shell put it (``patient.age``) or the patient page (``age``); CDS Hooks log no age.
    """
    if inputs.get("endpoint") == LOOKUP_ENDPOINT:
        return None
    patient = inputs.get("patient")
    age = patient.get("age") if isinstance(patient, Mapping) else inputs.get("age")
    return LoggedCheck(
        kb_version,
        tuple(_item(m["input"]) for m in medications),
        age if isinstance(age, int) else None,
    )


def _item(raw: str | dict[str, Any]) -> MedicationInput:
    if isinstance(raw, str):
        return MedicationInput(text=raw)
    dose = raw.get("daily_dose")
    return MedicationInput(
        text=raw.get("text"),
        rxcui=raw.get("rxcui"),
        daily_dose_mg=to_milligrams(float(dose["value"]), str(dose["unit"])) if dose else None,
        indication=raw.get("indication"),
        route=raw.get("route"),
    )


@dataclass(frozen=True)
class Example:
    medications: tuple[str, ...]
    age_band: str | None


@dataclass(frozen=True)
class Line:
    rule: str
    change: str  # APPEARS, DISAPPEARS or SEVERITY
    severity: str  # the alert's, or "before → after"
    alerts: int
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class ImpactReport:
    version: str
    baseline: str  # "answered" (each check's own version) or the id of the active version
    start: str
    end: str
    checks_compared: int
    checks_changed: int
    lookups_skipped: int
    lines: tuple[Line, ...]


@dataclass
class Tally:
    """Counts differences check by check, so the log can be read in batches and never held whole."""

    checks_compared: int = 0
    checks_changed: int = 0
    lookups_skipped: int = 0
    _alerts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    _examples: dict[tuple[str, str, str], list[Example]] = field(default_factory=dict)

    def skip_lookup(self) -> None:
        self.lookups_skipped += 1

    def add(self, logged: LoggedCheck, baseline: KbSnapshot, candidate: KbSnapshot) -> None:
        before, after = _alerts(logged, baseline), _alerts(logged, candidate)
        lines = [(rule, APPEARS, sev) for key, (rule, sev) in after.items() if key not in before]
        lines += [
            (rule, DISAPPEARS, sev) for key, (rule, sev) in before.items() if key not in after
        ]
        lines += [
            (rule, SEVERITY, f"{before[key][1]} → {sev}")
            for key, (rule, sev) in after.items()
            if key in before and before[key][1] != sev
        ]
        self.checks_compared += 1
        self.checks_changed += bool(lines)
        example = _example(logged)
        for line in lines:
            self._alerts[line] = self._alerts.get(line, 0) + 1
            examples = self._examples.setdefault(line, [])
            if len(examples) < EXAMPLES_PER_LINE and example not in examples:
                examples.append(example)

    def report(self, version: str, baseline: str, start: str, end: str) -> ImpactReport:
        return ImpactReport(
            version=version,
            baseline=baseline,
            start=start,
            end=end,
            checks_compared=self.checks_compared,
            checks_changed=self.checks_changed,
            lookups_skipped=self.lookups_skipped,
            lines=tuple(
                Line(*key, self._alerts[key], tuple(self._examples[key]))
                for key in sorted(self._alerts, key=_line_order)
            ),
        )


def _alerts(logged: LoggedCheck, kb: KbSnapshot) -> dict[str, tuple[str, str]]:
    """Alert id → (rule, severity): an alert is the same one in two versions if its id is."""
    result = check(recognize(logged.items, kb), kb, CheckContext(patient_age=logged.patient_age))
    return {a.id: (a.rule.id, a.severity.value) for a in result.alerts}


def _example(logged: LoggedCheck) -> Example:
    return Example(tuple(_label(i) for i in logged.items), age_band(logged.patient_age))


def _label(item: MedicationInput) -> str:
    label = item.text or ""
    if item.rxcui:
        label = f"{label} (RxCUI {item.rxcui})" if label else f"RxCUI {item.rxcui}"
    if item.route:
        label += f", {item.route}"
    if item.daily_dose_mg is not None:
        label += f", {item.daily_dose_mg:g} mg/day"
    return label


def age_band(age: int | None) -> str | None:
    return None if age is None else next(band for low, band in AGE_BANDS if age >= low)


def _line_order(key: tuple[str, str, str]) -> tuple[Any, ...]:
    """Rules in natural order (R2 before R10), then appearing, disappearing, changing."""
    rule, change, severity = key
    natural = tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", rule))
    return (natural, (APPEARS, DISAPPEARS, SEVERITY).index(change), severity)


def to_json(report: ImpactReport) -> str:
    return json.dumps(asdict(report), indent=2, ensure_ascii=False)


def to_markdown(report: ImpactReport) -> str:
    baseline = (
        "the version each check was answered with"
        if report.baseline == "answered"
        else f"the active version {report.baseline}"
    )
    out = [
        f"# Impact of knowledge-base version {report.version}",
        "",
        f"Checks logged {report.start} to {report.end} (UTC), re-evaluated against {baseline}.",
        "",
        f"- checks compared: {report.checks_compared}",
        f"- checks whose alerts would change: {report.checks_changed}",
        f"- one-drug lookups not compared: {report.lookups_skipped}",
        "",
        "| rule | change | severity | alerts | examples (inputs only) |",
        "|---|---|---|---|---|",
    ]
    for line in report.lines:
        examples = "<br>".join(_example_text(e) for e in line.examples)
        out.append(
            f"| {line.rule} | {line.change} | {line.severity} | {line.alerts} | {examples} |"
        )
    if not report.lines:
        out.append("| — | no alert would change | | | |")
    return "\n".join(out) + "\n"


def _example_text(example: Example) -> str:
    meds = "; ".join(m.replace("|", "/") for m in example.medications)
    return f"{meds} (age {example.age_band})" if example.age_band else meds
