"""Every report as one flat table (a header and rows), for its CSV download on the pages and the API.

Long form, one row per counted thing: a spreadsheet filters and pivots that more easily than a
picture of the page's layout. A rule × client cell is one row; the rule's total is a row whose
client is "(all clients)".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from . import reports
from .export import safe_cell
from .filters import CheckFilters

Table = tuple[list[str], list[list[Any]]]
ALL_CLIENTS = "(all clients)"


def _reasons(found: Iterable[reports.ReasonCount]) -> str:
    return "; ".join(f"{r.reason} ({r.times})" for r in found)


def _counts(found: Iterable[tuple[str, int]]) -> str:
    return "; ".join(f"{name} ({n})" for name, n in found)


def report_table(session: Session, name: str, filters: CheckFilters) -> Table:
    """The named report's numbers as a header and rows."""
    if name == "alerts-per-day":
        per_day = reports.alerts_per_day(session, filters)
        header = ["day", *per_day.counts, "total"]
        return header, [
            [d.isoformat(), *(c[i] for c in per_day.counts.values()), per_day.totals[i]]
            for i, d in enumerate(per_day.days)
        ]
    if name == "top-rules":
        return ["rule", "title", "alerts", "shown"], [
            [r.rule, r.title, r.alerts, r.shown] for r in reports.top_rules(session, filters)
        ]
    if name in ("override-by-rule", "override-by-client"):
        by_rule = name == "override-by-rule"
        rates = (reports.override_by_rule if by_rule else reports.override_by_client)(
            session, filters
        )
        key, label = ("rule", "title") if by_rule else ("client_id", "client")
        return [key, label, "responses", "accepted", "overridden", "override_rate"], [
            [r.key, r.label, r.responses, r.accepted, r.overridden, round(r.rate, 4)] for r in rates
        ]
    if name == "override-matrix":
        matrix = reports.override_matrix(session, filters)
        rows = []
        for code, title in matrix.rules:
            cells = [(cid, cname, matrix.cells.get((code, cid))) for cid, cname in matrix.clients]
            cells.append(("", ALL_CLIENTS, matrix.totals[code]))
            for client_id, client, cell in cells:
                if cell is not None:
                    rows.append(
                        [code, title, client_id, client, cell.responses,
                         cell.responses - cell.overridden, cell.overridden, round(cell.rate, 4),
                         _reasons(cell.reasons)]
                    )  # fmt: skip
        header = ["rule", "title", "client_id", "client", "responses", "accepted", "overridden"]
        return [*header, "override_rate", "top_reasons"], rows
    if name == "override-reasons":
        return ["reason", "code", "times", "share_of_overrides", "rules", "clients"], [
            [r.reason, r.code, r.times, round(r.share, 4), _counts(r.rules), _counts(r.clients)]
            for r in reports.override_reasons(session, filters)
        ]
    found = reports.unrecognised_inputs(session, filters)
    return ["input", "times"], [[i.text, i.times] for i in found.inputs]


def as_csv(table: Table) -> str:
    """The table as CSV text, with cells that a spreadsheet would run as formulas made inert."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header, rows = table
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue()
