"""Our logged answer rendered in the JSON shapes NLM's retired RxNav interaction API served.

Rendering reads only the answer document (what was logged and shown) plus RxNorm term types, so
what an RxNav client sees is exactly what the log says it was shown. NLM conventions kept: every
value is a string, repeating elements are arrays, empty elements are omitted.

Never silent. Clients of the retired API (OpenEMR above all) read nothing but the
``fullInteractionType`` entries (``minConcept`` names, the first pair's ``severity`` and
``description``) and print "No interactions found" when there are none. So everything a prescriber
must not read as "no interactions" is one more entry there, after the alerts, shaped like an
interaction so that such clients print it:

- ``not-checked``: an RxCUI that was not recognised (one entry each);
- ``outside-scope``: recognised drugs no rule covers: ONE entry naming every ingredient whose
  interactions were not checked;
- ``not-shown``: "n alerts below this client's minimum severity were not shown";
- ``check-failed``: the check did not run (error documents, ``failure_group``).

Their ``severity`` is a plain word (``not checked``, ``not shown``, ``check failed``), never NLM's
``"N/A"``: DrugBank's answers used "N/A" for every interaction, and client code maps it to "no
interaction" or "unknown severity" (one Next.js client shows "no interaction"), which would turn a
warning into reassurance. Their ``description`` starts with the same words in capitals.

Additions to NLM's shape (clients that do not know them ignore them):

- ``checkId``: the alert-log row of this answer, for auditors.
- ``unrecognizedRxcuis``, ``outsideScope``, ``alertsNotShown`` and ``note``: the same facts as the
  entries above, as data.
- ``kind`` on each ``fullInteractionType``: ``interaction`` or ``duplication`` (two input drugs),
  ``cumulative`` or ``dose`` (all the drugs involved, so ``minConcept`` may hold more or fewer than
  two), or one of the four above. Alerts about more than two drugs are listed with the pairs, in
  severity order, and not in a separate field: OpenEMR reads only this list, and three CNS
  depressants with no pair rule between them (alfentanil, cannabidiol, carbamazepine) raise a major
  alert that it would otherwise show as "No interactions found".
- Error documents (RFC 9457, 4xx/5xx) carry ``fullInteractionTypeGroup`` and
  ``interactionTypeGroup`` extension members that say the check failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..domain.answer import AnswerDocument, AnsweredAlert, IngredientRef, MedicationDocument
from ..domain.severity import Severity

SOURCE_NAME = "InteractionAlerts"
PAIR_KINDS = frozenset({"interaction", "duplication"})
# The severity words of entries that are not alerts: never "N/A" (see the module docstring).
NOT_CHECKED = "not checked"
NOT_SHOWN = "not shown"
CHECK_FAILED = "check failed"
NOT_NLM = (
    "This response does not come from the U.S. National Library of Medicine: NLM retired its drug "
    "interaction API on 2 January 2024. It comes from a self-hosted interaction alert service that "
    "answers in the same format, from its own knowledge base."
)

Json = dict[str, Any]


def source_name(kb_version: str) -> str:
    return f"{SOURCE_NAME} {kb_version[:12]}"


def interaction_list(
    answer: AnswerDocument, rxcuis: Sequence[str], ttys: Mapping[str, str], sources: str
) -> Json:
    """``/REST/interaction/list.json``: one ``fullInteractionType`` per shown alert, then unknowns."""
    meds = answer["medications"]
    drugs = [_drug(rxcui, med, ttys) for rxcui, med in zip(rxcuis, meds, strict=True)]
    source = source_name(answer["kb_version"])
    entries = []
    for alert in answer["alerts"]:  # most severe first, as the check ordered them
        inputs = _input_pair(alert, meds) if alert["kind"] in PAIR_KINDS else None
        if inputs is None:
            entries.append(_group_alert_type(alert, drugs, source))
        else:
            entries.append(_full_interaction_type(alert, drugs, inputs, source))
    unknown = [d["rxcui"] for d, m in zip(drugs, meds, strict=True) if m["status"] != "recognized"]
    entries += [_not_checked_type(rxcui) for rxcui in unknown]
    outside = answer["scope"]["recognized_without_rules"]
    if outside:
        holding = [
            drug
            for drug, med in zip(drugs, meds, strict=True)
            if any(i["name"] in outside for i in med["ingredients"])
        ]
        entries.append(_outside_scope_type(outside, holding, answer))
    hidden = answer["alerts_not_shown"]
    if hidden:
        entries.append(_not_shown_type(hidden, answer["min_severity"]))

    body: Json = {
        "nlmDisclaimer": _disclaimer(answer),
        "userInput": {"sources": [sources], "rxcuis": list(rxcuis)},
        "checkId": answer["check_id"],
    }
    notes = []
    if unknown:
        body["unrecognizedRxcuis"] = unknown
        notes.append(
            f"Incomplete check: RxCUI {', '.join(unknown)} {'was' if len(unknown) == 1 else 'were'} "
            "not recognised and NOT checked for interactions. The absence of alerts for "
            f"{'it' if len(unknown) == 1 else 'them'} does not mean the combination is safe."
        )
    if outside:
        body["outsideScope"] = list(outside)
        notes.append(_outside_scope_text(outside))
    if hidden:
        body["alertsNotShown"] = str(hidden)
        notes.append(_not_shown_text(hidden, answer["min_severity"]))
    if notes:
        body["note"] = " ".join(notes)
    if entries:
        body["fullInteractionTypeGroup"] = [
            {**_group_header(answer), "fullInteractionType": entries}
        ]
    return body


def drug_interactions(
    answer: AnswerDocument, rxcui: str, ttys: Mapping[str, str], sources: str
) -> Json:
    """``/REST/interaction/interaction.json``: every shown interaction of one recognised drug."""
    med = answer["medications"][0]
    drug = _drug(rxcui, med, ttys)
    own = [i["name"] for i in med["ingredients"]]
    body: Json = {
        "nlmDisclaimer": _disclaimer(answer),
        "userInput": {"sources": [sources], "rxcui": rxcui},
        "checkId": answer["check_id"],
    }
    pairs = []
    for alert in answer["alerts"]:
        # The queried drug's ingredient first, as NLM listed it.
        concepts = sorted(alert["ingredients"], key=lambda i: i["name"] not in own)
        pairs.append(_interaction_pair(alert, concepts))
    outside = answer["scope"]["recognized_without_rules"]
    if outside:
        text = _outside_scope_text(outside)
        pairs.append(_notice_pair(NOT_CHECKED, "NOT CHECKED", text, drug, ANY_OTHER))
    hidden = answer["alerts_not_shown"]
    if hidden:
        text = _not_shown_text(hidden, answer["min_severity"])
        pairs.append(_notice_pair(NOT_SHOWN, "NOT SHOWN", text, drug, ANY_OTHER))
    if pairs:
        resolved = ", ".join(_with_code(i) for i in med["ingredients"])
        interaction_type = {
            "comment": f"{drug['name']} ({rxcui}) is resolved to {resolved}",
            "minConceptItem": drug,
            "interactionPair": pairs,
        }
        body["interactionTypeGroup"] = [
            {**_group_header(answer), "interactionType": [interaction_type]}
        ]
    return body


def id_group(name: str, rxnorm_ids: Sequence[str]) -> Json:
    """``/REST/rxcui.json``: NLM leaves ``rxnormId`` out when nothing matches."""
    group: Json = {"name": name}
    if rxnorm_ids:
        group["rxnormId"] = list(rxnorm_ids)
    return {"idGroup": group}


def _disclaimer(answer: AnswerDocument) -> str:
    return f"{NOT_NLM} Scope: {answer['scope']['statement']}"


def _group_header(answer: AnswerDocument) -> Json:
    return {
        "sourceDisclaimer": answer["scope"]["statement"],
        "sourceName": source_name(answer["kb_version"]),
    }


def _drug(rxcui: str, med: MedicationDocument, ttys: Mapping[str, str]) -> Json:
    """An input as a ``minConcept``: the KB's name for the code (logged as ``matched``) and TTY."""
    return {"rxcui": rxcui, "name": med["matched"] or "", "tty": ttys.get(rxcui, "")}


def _with_code(ingredient: IngredientRef) -> str:
    return (
        f"{ingredient['name']} ({ingredient['rxcui']})"
        if ingredient["rxcui"]
        else ingredient["name"]
    )


def _holding(
    ingredient: str, alert: AnsweredAlert, meds: Sequence[MedicationDocument]
) -> list[int]:
    return [
        i for i in alert["medications"] if ingredient in {x["name"] for x in meds[i]["ingredients"]}
    ]


def _input_pair(alert: AnsweredAlert, meds: Sequence[MedicationDocument]) -> tuple[int, int] | None:
    """The first two distinct input drugs holding the alert's two ingredients (one, if duplicated)."""
    first, last = alert["ingredients"][0]["name"], alert["ingredients"][-1]["name"]
    for a in _holding(first, alert, meds):
        for b in _holding(last, alert, meds):
            if a != b:
                return (a, b)
    return None


def _drugs_phrase(drugs: Sequence[Json]) -> str:
    return " ".join(
        f"Drug{n} (rxcui = {d['rxcui']}, name = {d['name']}, tty = {d['tty']})."
        for n, d in enumerate(drugs, 1)
    )


def _rule_phrase(alert: AnsweredAlert) -> str:
    return f"Rule {alert['rule']['id']}: {alert['rule']['title']}."


def _full_interaction_type(
    alert: AnsweredAlert, drugs: Sequence[Json], inputs: tuple[int, int], source: str
) -> Json:
    """NLM's layout: two input drugs, the ingredient of each, the assertion between them."""
    first, last = alert["ingredients"][0], alert["ingredients"][-1]
    (one, a), (two, b) = sorted([(inputs[0], first), (inputs[1], last)], key=lambda p: p[0])
    comment = (
        f"{_drugs_phrase([drugs[one], drugs[two]])} Drug1 is resolved to {a['name']}, Drug2 is "
        f"resolved to {b['name']} and {alert['kind']} asserted in {source} between {a['name']} "
        f"and {b['name']}. {_rule_phrase(alert)}"
    )
    return {
        "comment": comment,
        "kind": alert["kind"],
        "minConcept": [drugs[one], drugs[two]],
        "interactionPair": [_interaction_pair(alert, [a, b])],
    }


def _group_alert_type(alert: AnsweredAlert, drugs: Sequence[Json], source: str) -> Json:
    """An alert about a set of drugs (or one dose): every drug and ingredient involved."""
    involved = [drugs[i] for i in alert["medications"]]
    ingredients = " + ".join(i["name"] for i in alert["ingredients"])
    comment = (
        f"{_drugs_phrase(involved)} {alert['kind'].capitalize()} alert asserted in {source} for "
        f"{ingredients}. {_rule_phrase(alert)}"
    )
    return {
        "comment": comment,
        "kind": alert["kind"],
        "minConcept": involved,
        "interactionPair": [_interaction_pair(alert, alert["ingredients"])],
    }


def _interaction_pair(alert: AnsweredAlert, ingredients: Sequence[IngredientRef]) -> Json:
    severity = Severity(alert["severity"])
    url = alert["sources"][0]["url"] if alert["sources"] else "NA"
    return {
        "interactionConcept": [
            {
                "minConceptItem": {"rxcui": i["rxcui"] or "", "name": i["name"], "tty": "IN"},
                "sourceConceptItem": {"id": alert["rule"]["id"], "name": i["name"], "url": url},
            }
            for i in ingredients
        ],
        "severity": severity.mapping.rxnav_severity,
        "description": " ".join(
            [
                f"{severity.value.upper()}: {alert['summary']} {alert['management']}",
                *(
                    f"ALSO APPLIES ({other['severity'].upper()}, rule {other['id']}): "
                    f"{other['summary']} {other['management']}"
                    for other in alert["also_applies"]
                ),
            ]
        ),
    }


EVERYTHING = {"rxcui": "", "name": "all drugs in this list", "tty": ""}
OTHERS = {"rxcui": "", "name": "the other drugs in this list", "tty": ""}
ANY_OTHER = {"rxcui": "", "name": "any other drug", "tty": ""}


def _notice_pair(severity: str, label: str, text: str, *concepts: Json) -> Json:
    """An ``interactionPair`` that is a notice, not an interaction: OpenEMR prints its first pair."""
    items = list(concepts) + [EVERYTHING] * (2 - len(concepts))
    return {
        "interactionConcept": [
            {
                "minConceptItem": item,
                "sourceConceptItem": {"id": "NA", "name": item["name"], "url": "NA"},
            }
            for item in items[:2]
        ],
        "severity": severity,
        "description": f"{label}: {text}",
    }


def _failure_text(reason: str) -> str:
    return f"The interaction check FAILED and NOTHING was checked: {reason}."


def failure_group(reason: str) -> list[Json]:
    """A ``fullInteractionTypeGroup`` saying nothing was checked, for error documents.

    OpenEMR 7.x shows "No interactions found" for any body without this group, whatever the HTTP
    status, so a failed check (bad key, bad list, wrong URL, service down) says so where it looks.
    """
    text = _failure_text(reason)
    entry = {
        "comment": f"{text} This is not 'no interactions'.",
        "kind": "check-failed",
        "minConcept": [EVERYTHING, EVERYTHING],
        "interactionPair": [
            _notice_pair(CHECK_FAILED, "CHECK FAILED", f"{text} Check these drugs by other means.")
        ],
    }
    return [
        {"sourceDisclaimer": NOT_NLM, "sourceName": SOURCE_NAME, "fullInteractionType": [entry]}
    ]


def drug_failure_group(reason: str) -> list[Json]:
    """The same for ``interaction.json``'s ``interactionTypeGroup``."""
    text = _failure_text(reason)
    entry = {
        "comment": f"{text} This is not 'no interactions'.",
        "kind": "check-failed",
        "minConceptItem": EVERYTHING,
        "interactionPair": [
            _notice_pair(CHECK_FAILED, "CHECK FAILED", f"{text} Check this drug by other means.")
        ],
    }
    return [{"sourceDisclaimer": NOT_NLM, "sourceName": SOURCE_NAME, "interactionType": [entry]}]


def _not_checked_type(rxcui: str) -> Json:
    """Shaped like an interaction so that clients reading only interactions still show it."""
    unknown = {"rxcui": rxcui, "name": f"RxCUI {rxcui} (not recognised)", "tty": ""}
    text = f"RxCUI {rxcui} was not recognised and was NOT checked for interactions."
    return {
        "comment": f"{text} Do not read the absence of alerts for it as safe.",
        "kind": "not-checked",
        "minConcept": [unknown, OTHERS],
        "interactionPair": [
            _notice_pair(
                NOT_CHECKED,
                "NOT CHECKED",
                f"{text} Check this drug by other means.",
                unknown,
                OTHERS,
            )
        ],
    }


def _outside_scope_text(outside: Sequence[str]) -> str:
    names = ", ".join(outside)
    return (
        f"The interactions of {names} were NOT checked: {'it is' if len(outside) == 1 else 'they are'}"
        " recognised, but no rule of this service covers "
        f"{'it' if len(outside) == 1 else 'them'}, so no alert here does not mean no interaction "
        f"(this service is not a full drug compendium). Check {names} by other means."
    )


def _outside_scope_type(
    outside: Sequence[str], holding: Sequence[Json], answer: AnswerDocument
) -> Json:
    """ONE entry for every recognised ingredient outside the rules' scope, naming them all."""
    concepts = list(holding) if len(holding) >= 2 else [*holding, OTHERS]
    return {
        "comment": f"{_outside_scope_text(outside)} Scope: {answer['scope']['statement']}",
        "kind": "outside-scope",
        "minConcept": concepts,
        "interactionPair": [
            _notice_pair(NOT_CHECKED, "NOT CHECKED", _outside_scope_text(outside), *concepts[:2])
        ],
    }


def _not_shown_text(hidden: int, min_severity: str | None) -> str:
    alerts = "1 alert" if hidden == 1 else f"{hidden} alerts"
    floor = f" ({min_severity})" if min_severity else ""
    return (
        f"{alerts} below this client's minimum severity{floor} {'was' if hidden == 1 else 'were'} "
        f"not shown. The alert log keeps {'it' if hidden == 1 else 'them'}; ask your "
        f"administrator to lower the threshold to see {'it' if hidden == 1 else 'them'}."
    )


def _not_shown_type(hidden: int, min_severity: str | None) -> Json:
    text = _not_shown_text(hidden, min_severity)
    return {
        "comment": text,
        "kind": "not-shown",
        "minConcept": [EVERYTHING, EVERYTHING],
        "interactionPair": [_notice_pair(NOT_SHOWN, "NOT SHOWN", text)],
    }
