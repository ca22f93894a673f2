"""Build ``seed_data/rxnorm/rxnorm-2025-10.csv.gz`` from the shared RxNorm reference table.

Usage: python tools/build_rxnorm_vocabulary.py REFERENCE_DIR seed_data/rxnorm, where REFERENCE_DIR
holds ``rxnorm-full.csv`` and ``supplement-A-ingredients-rxclass2022.csv`` (described in
``seed_data/README.md``, "The RxNorm vocabulary").

Keeps the columns the service uses (rxcui, name, tty, ingredient_rxcuis, route), drops the rows that
link to no ingredient (nothing could be checked for them), and adds the A-named ingredients of the
RxClass 2022 supplement that the main table lacks (an IN as itself; a PIN through the longest IN name
it starts with; a MIN when every part is an IN). Written sorted by RxCUI, gzip without a timestamp,
so the same input always gives the same bytes (and the same knowledge-base version id).
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

COLUMNS = ("rxcui", "name", "tty", "ingredient_rxcuis", "route")
OUTPUT = "rxnorm-2025-10.csv.gz"


def main(reference: Path, target: Path) -> None:
    with (reference / "rxnorm-full.csv").open(newline="", encoding="utf-8") as file:
        rows = [r for r in csv.DictReader(file) if r["ingredient_rxcuis"]]
    known = {r["rxcui"] for r in rows}
    in_by_name = {r["name"].lower(): r["rxcui"] for r in rows if r["tty"] == "IN"}
    with (reference / "supplement-A-ingredients-rxclass2022.csv").open(
        newline="", encoding="utf-8"
    ) as file:
        supplement = [r for r in csv.DictReader(file) if r["rxcui"] not in known]
    added = []
    for row in supplement:
        if row["tty"] == "IN":
            in_by_name.setdefault(row["name"].lower(), row["rxcui"])
            added.append({**row, "ingredient_rxcuis": row["rxcui"], "route": ""})
    for row in supplement:
        name = row["name"].lower()
        if row["tty"] == "PIN":
            bases = [n for n in in_by_name if name.startswith(n + " ")]
            if bases:
                added.append(
                    {**row, "ingredient_rxcuis": in_by_name[max(bases, key=len)], "route": ""}
                )
        elif row["tty"] == "MIN":
            parts = [in_by_name.get(p.strip()) for p in name.split(" / ")]
            if all(parts):
                ingredients = ";".join(sorted(set(p for p in parts if p)))
                added.append({**row, "ingredient_rxcuis": ingredients, "route": ""})
    rows += added
    rows.sort(key=lambda r: int(r["rxcui"]))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([r[c] for c in COLUMNS] for r in rows)
    target.mkdir(parents=True, exist_ok=True)
    with (
        (target / OUTPUT).open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out,
    ):
        out.write(text.getvalue().encode("utf-8"))
    print(f"{len(rows)} concepts ({len(added)} from the supplement) -> {target / OUTPUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
