"""OpenEMR's own reading of an RxNav ``list.json`` answer, replicated line by line in Python.

Two generations of OpenEMR call ``https://rxnav.nlm.nih.gov/REST/interaction/list.json?rxcuis=A+B``
(the base URL is what an operator points at this service) and render what they read:

- 7.x: ``controllers/C_Prescription.class.php``, ``C_Prescription::list_action`` (openemr/openemr
  at 0107e7fb6328, standards.md section 3.5). ``oeHttp::get(...)`` then ``$response->body()``: the
  body is read WHATEVER the HTTP status. ``json_decode($data, true)``; if
  ``$json['fullInteractionTypeGroup'][0]['fullInteractionType']`` is not empty, one
  ``<div class="alert alert-danger">`` per item with ``Comment``, ``Drug1 Name``
  (``minConcept[0].name``), ``Drug2 Name`` (``minConcept[1].name``), ``Severity``
  (``interactionPair[0].severity``) and ``Description`` (``interactionPair[0].description``);
  otherwise ``xlt('No interactions found')``.
- 5.0.x: ``interface/weno/drug-drug.php`` (openemr/openemr, the 2016-2017 versions).
  ``$data = file_get_contents("https://rxnav.nlm.nih.gov/REST/interaction/list.json?rxcuis=" ...)``:
  PHP's http stream wrapper (``ignore_errors`` off) returns ``false`` for any 4xx or 5xx, so the
  body of every failure is DROPPED; ``json_decode(false, true)`` is ``null`` and the page prints
  "No interactions found". The same five fields are printed from the same place otherwise.

Both ``text()``-escape the values and print PHP's ``null`` (a missing key) as an empty string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

NO_INTERACTIONS = "No interactions found"


@dataclass(frozen=True)
class Row:
    """One alert box as OpenEMR prints it."""

    comment: str
    drug1: str
    drug2: str
    severity: str
    description: str


def _php_get(value: Any, *path: str | int) -> Any:
    """``$value[a][b]...`` in PHP: a missing key or index is null (with a notice), not an error."""
    for key in path:
        if isinstance(value, dict) and isinstance(key, str):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        else:
            return None
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _render(data: str | None) -> list[Row] | str:
    """What both versions do once they hold the body (``$data``), from ``json_decode`` on."""
    try:
        decoded = json.loads(data) if data else None
    except ValueError:
        decoded = None  # json_decode of a non-JSON body is null
    items = _php_get(decoded, "fullInteractionTypeGroup", 0, "fullInteractionType")
    if not items:  # PHP's empty(): null, [] and "" alike
        return NO_INTERACTIONS
    return [
        Row(
            comment=_text(_php_get(item, "comment")),
            drug1=_text(_php_get(item, "minConcept", 0, "name")),
            drug2=_text(_php_get(item, "minConcept", 1, "name")),
            severity=_text(_php_get(item, "interactionPair", 0, "severity")),
            description=_text(_php_get(item, "interactionPair", 0, "description")),
        )
        for item in items
    ]


def openemr_7_list_action(status: int, body: str) -> list[Row] | str:
    """7.x ``C_Prescription::list_action``: ``oeHttp::get`` hands back the body of any status."""
    del status  # never looked at
    return _render(body)


def openemr_5_drug_drug(status: int, body: str) -> list[Row] | str:
    """5.0.x ``interface/weno/drug-drug.php``: ``file_get_contents`` is false for 4xx and 5xx."""
    data = body if 200 <= status < 400 else None
    return _render(data)
