"""Render a check's answer as CDS Hooks cards: one per alert that involves a new order."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from ..domain.naloxone import NaloxoneSuggestion
from .fhir import RXNORM, FhirMedication

OVERRIDE_REASONS = (
    ("benefit-outweighs-risk", "Benefit outweighs risk"),
    ("already-tolerating", "Patient already tolerating the combination"),
    ("will-monitor", "Will monitor the patient"),
    ("not-clinically-relevant", "Not clinically relevant"),
)
# Every ASCII punctuation character can be backslash-escaped in CommonMark/GFM; escaping them all
# leaves no markup, link, autolink (www., https:), HTML tag or entity in the text.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def escape(text: str) -> str:
    """Text from the EHR goes into Markdown as text on one line, never as links or markup."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def compact(value: Any) -> Any:
    """CDS Hooks forbids null and empty values: omit them (an empty ``cards`` list is the exception)."""
    if isinstance(value, dict):
        kept = {k: compact(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value


class CardRenderer:
    """Knows the request's orders and the service's URLs; turns alerts into cards."""

    def __init__(
        self,
        orders: Sequence[FhirMedication],
        new_count: int,
        patient_id: str,
        base_url: str,
        naloxone: NaloxoneSuggestion | None,
    ) -> None:
        self.orders = orders
        self.new_count = new_count
        self.patient_id = patient_id
        self.base_url = base_url
        self.naloxone = naloxone

    def cards(self, answer: dict[str, Any], notes: Sequence[str] = ()) -> list[dict[str, Any]]:
        """One card per shown alert involving a new order, then one card for what was not checked.

        ``notes`` are other things the check could not use (the patient's age), said on that card.
        """
        cards = [
            self._alert_card(alert)
            for alert in answer["alerts"]
            if any(index < self.new_count for index in alert["medications"])
        ]
        not_checked = [
            self.orders[i]
            for i, m in enumerate(answer["medications"])
            if m["status"] != "recognized"
        ]
        if not_checked or notes:
            cards.append(self._not_checked_card(answer, not_checked, notes))
        return [compact(card) for card in cards]

    def _alert_card(self, alert: dict[str, Any]) -> dict[str, Any]:
        card_uuid = alert["uuid"]
        suggestions = [
            self._remove(card_uuid, self.orders[i])
            for i in alert["medications"]
            if i < self.new_count and self.orders[i].reference.startswith("MedicationRequest/")
        ]
        if alert["suggest_naloxone"] and self.naloxone:
            suggestions.append(self._add_naloxone(card_uuid, self.naloxone))
        first_source = alert["sources"][0]
        return {
            "uuid": card_uuid,
            "summary": alert["summary"],
            "indicator": alert["cds_indicator"],
            "detail": self._detail(alert),
            "source": {
                "label": f"Interaction alerts, rule {alert['rule']['id']}: {first_source['label']}",
                "url": first_source["url"],
                "topic": {
                    "system": f"{self.base_url}/api/v1/rules",
                    "code": alert["rule"]["id"],
                    "display": alert["rule"]["title"],
                },
            },
            "suggestions": suggestions,
            "selectionBehavior": "any" if suggestions else None,
            "overrideReasons": [
                {
                    "system": f"{self.base_url}/cds-services/override-reasons",
                    "code": code,
                    "display": text,
                }
                for code, text in OVERRIDE_REASONS
            ],
        }

    def _detail(self, alert: dict[str, Any]) -> str:
        involved = ", ".join(escape(self.orders[i].label) for i in alert["medications"])
        lines = [
            f"**{alert['severity'].capitalize()}** ({alert['kind']}, rule {alert['rule']['id']}: "
            f"{alert['rule']['title']}). Orders involved: {involved}.",
            "",
            alert["clinician_text"].removeprefix(alert["summary"]).strip(),
            "",
            "**Sources:**",
            *[f"- [{s['label']}]({s['url']})" for s in alert["sources"]],
        ]
        if alert["also_applies"]:
            lines += ["", "**Also applies:**"]
            lines += [
                f"- {other['severity'].capitalize()}, rule {other['id']} ({other['title']}): "
                f"{other['summary']} {other['management']}"
                for other in alert["also_applies"]
            ]
        return "\n".join(lines)

    def _remove(self, card_uuid: str, order: FhirMedication) -> dict[str, Any]:
        return {
            "label": f"Remove the draft order for {order.label}",
            "uuid": str(uuid.uuid5(uuid.UUID(card_uuid), f"remove {order.reference}")),
            "actions": [
                {
                    "type": "delete",
                    "description": f"Remove the draft order for {order.label}.",
                    "resourceId": order.reference,
                }
            ],
        }

    def _add_naloxone(self, card_uuid: str, naloxone: NaloxoneSuggestion) -> dict[str, Any]:
        return {
            "label": naloxone.offer.label,
            "uuid": str(uuid.uuid5(uuid.UUID(card_uuid), "add naloxone")),
            "isRecommended": True,
            "actions": [
                {
                    "type": "create",
                    "description": naloxone.offer.order,
                    "resource": {
                        "resourceType": "MedicationRequest",
                        "status": "draft",
                        "intent": "proposal",
                        "subject": {"reference": f"Patient/{self.patient_id}"},
                        "medicationCodeableConcept": {
                            "coding": [
                                {
                                    "system": RXNORM,
                                    "code": naloxone.rxcui,
                                    "display": naloxone.name,
                                }
                            ],
                            "text": naloxone.name,
                        },
                        "dosageInstruction": [{"text": naloxone.offer.dosing}],
                    },
                }
            ],
        }

    def _not_checked_card(
        self, answer: dict[str, Any], orders: Sequence[FhirMedication], notes: Sequence[str]
    ) -> dict[str, Any]:
        """What the check could not cover, and why: never an empty answer for an unread medication.

        Its uuid is the check's id, so feedback on it finds its check.
        """
        unread = [o for o in orders if o.problem]
        unrecognised = [o for o in orders if not o.problem]
        sections = []
        if unread:
            listed = "\n".join(
                f"- {escape(o.reference)}: {escape(o.problem or '')}" for o in unread
            )
            sections.append(
                "These could not be read from the EHR's FHIR data, so no interaction check covered "
                f"them:\n\n{listed}"
            )
        if unrecognised:
            listed = "\n".join(f"- {escape(o.label)} ({escape(o.reference)})" for o in unrecognised)
            sections.append(
                f"These were not recognised, so no interaction check covered them:\n\n{listed}"
            )
        sections += [escape(note) for note in notes]
        sections.append(answer["scope"]["statement"])
        count = len(orders)
        if count:
            summary = f"{count} medication{'s' if count > 1 else ''} could not be checked for interactions"
        else:
            summary = "The interaction check could not use everything it needed"
        return {
            "uuid": answer["check_id"],
            "summary": summary,
            "indicator": "warning" if unread else "info",
            "detail": "\n\n".join(sections),
            "source": {
                "label": "Interaction alerts knowledge base",
                "url": f"{self.base_url}/api/v1/kb",
            },
        }
