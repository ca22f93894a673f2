"""A sealed month of a log, archived to files that can be checked offline, without the database.

Why: at a busy pharmacy network the check log grows by tens of millions of rows a month; after six
years (about 2 billion rows) no one can keep every month attached, nor re-verify the whole tree
each time. Each archived month therefore carries what proves it on its own: the Merkle frontier
(RFC 9162) of the tree just before its first leaf, every leaf from there to the end of the signed
checkpoint that covers its last row, and that checkpoint. Rebuilding the tree from the frontier
with those leaves must give the checkpoint's signed root, so the month is checked without the
months before it, at a cost proportional to its own rows.

A month's folder (``<log>/<YYYY-MM>/``) holds:

- ``rows.jsonl``: the month's rows, one line each, exactly the bytes their leaves hash, in leaf order;
- ``leaves.jsonl``: every leaf from the month's first to the checkpoint's size: ``leaf_index``,
  ``seq``, ``hash`` (base64) and ``in_month`` (rows of the months around it are leaves only);
- ``frontier.json``: the tree size at the month's first leaf and the hashes of its frontier;
- ``checkpoint.txt``: the signed note of the first checkpoint covering the month's last row;
- ``previous.txt`` and ``consistency.json`` (when an earlier checkpoint exists): the latest signed
  checkpoint at or before the first leaf, and the consistency proof from it to ``checkpoint.txt``,
  so the archives link to each other and to checkpoints held elsewhere;
- ``manifest.json``: what the month is and the SHA-256 of each file (hex, as ``sha256sum`` writes).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import merkle
from .checkpoint import BadCheckpoint, Checkpoint, VerifierKey

ROWS = "rows.jsonl"
LEAVES = "leaves.jsonl"
FRONTIER = "frontier.json"
CHECKPOINT = "checkpoint.txt"
PREVIOUS = "previous.txt"
CONSISTENCY = "consistency.json"
MANIFEST = "manifest.json"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class MonthWriter:
    """Writes one month's folder as its leaves stream by; ``finish`` adds the proofs and manifest."""

    def __init__(
        self, folder: Path, log: str, month: str, start: int, frontier_hashes: list[bytes]
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.log, self.month, self.start = folder, log, month, start
        (folder / FRONTIER).write_text(
            json.dumps({"size": start, "hashes": [b64(h) for h in frontier_hashes]}) + "\n"
        )
        self._rows = (folder / ROWS).open("wb")
        self._leaves = (folder / LEAVES).open("wb")
        self.rows = 0
        self.end = start

    def leaf(self, index: int, seq: int, leaf_hash: bytes, row: bytes | None) -> None:
        """The next leaf; ``row`` (its leaf bytes) when it is one of the month's rows."""
        line = {
            "leaf_index": index,
            "seq": seq,
            "hash": b64(leaf_hash),
            "in_month": row is not None,
        }
        self._leaves.write(json.dumps(line).encode() + b"\n")
        if row is not None:
            self._rows.write(row + b"\n")
            self.rows += 1
        self.end = index + 1

    def finish(
        self, checkpoint_note: str, previous_note: str | None, consistency: list[bytes]
    ) -> None:
        self._rows.close()
        self._leaves.close()
        (self.folder / CHECKPOINT).write_text(checkpoint_note)
        names = [ROWS, LEAVES, FRONTIER, CHECKPOINT]
        if previous_note is not None:
            (self.folder / PREVIOUS).write_text(previous_note)
            (self.folder / CONSISTENCY).write_text(
                json.dumps({"proof": [b64(h) for h in consistency]}) + "\n"
            )
            names += [PREVIOUS, CONSISTENCY]
        manifest = {
            "log": self.log,
            "month": self.month,
            "first_leaf": self.start,
            "rows": self.rows,
            "files": {name: file_digest(self.folder / name) for name in names},
        }
        (self.folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


@dataclass
class MonthReport:
    """What checking one archived month found; ``problems`` name the rows or files concerned."""

    folder: Path
    log: str = "?"
    month: str = "?"
    rows: int = 0
    tree_size: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def month_folders(archive: Path) -> list[Path]:
    """Every archived month under ``archive`` (a folder holding a manifest), in path order."""
    return sorted(manifest.parent for manifest in archive.rglob(MANIFEST))


def verify_month(folder: Path, verifier: VerifierKey) -> MonthReport:
    """Check one month's files against its signed checkpoint; every problem found is listed."""
    report = MonthReport(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        report.log, report.month = str(manifest["log"]), str(manifest["month"])
        _check_files(folder, manifest, report)
        checkpoint = verifier.open((folder / CHECKPOINT).read_text())
        report.tree_size = checkpoint.size
        start, frontier = _frontier(folder)
        leaves = _check_leaves(folder, start, frontier, checkpoint, report)
        _check_rows(folder, report.month, leaves, report)
        _check_previous(folder, verifier, checkpoint, start, frontier, report)
    except (OSError, ValueError, KeyError, TypeError, BadCheckpoint) as error:
        # json.JSONDecodeError and binascii.Error are ValueErrors.
        report.problems.append(f"the archive cannot be read: {error}")
    return report


def _check_files(folder: Path, manifest: dict[str, Any], report: MonthReport) -> None:
    for name, expected in sorted(manifest["files"].items()):
        path = folder / name
        if not path.is_file():
            report.problems.append(f"{name} is missing")
        elif file_digest(path) != expected:
            report.problems.append(f"{name} differs from the manifest's SHA-256")


def _frontier(folder: Path) -> tuple[int, list[bytes]]:
    stored = json.loads((folder / FRONTIER).read_text())
    return int(stored["size"]), [unb64(h) for h in stored["hashes"]]


@dataclass(frozen=True)
class _Leaf:
    index: int
    seq: int
    hash: bytes
    in_month: bool


def _leaf_lines(folder: Path) -> Iterator[_Leaf]:
    with (folder / LEAVES).open("rb") as file:
        for line in file:
            leaf = json.loads(line)
            yield _Leaf(
                int(leaf["leaf_index"]), int(leaf["seq"]), unb64(leaf["hash"]), leaf["in_month"]
            )


def _check_leaves(
    folder: Path,
    start: int,
    frontier: list[bytes],
    checkpoint: Checkpoint,
    report: MonthReport,
) -> dict[int, _Leaf]:
    """Rebuild the tree from the frontier with the listed leaves: it must give the signed root.

    Returns the month's leaves by ``seq``, for the rows to be checked against.
    """
    appender = merkle.Appender(start, frontier)
    month_leaves: dict[int, _Leaf] = {}
    for leaf in _leaf_lines(folder):
        if leaf.index != appender.size:
            what = "missing" if leaf.index > appender.size else "inserted or out of order"
            report.problems.append(
                f"leaves.jsonl: leaf {appender.size} expected, leaf {leaf.index} (seq {leaf.seq}) "
                f"found: a leaf is {what}"
            )
            return month_leaves
        appender.append(leaf.hash)
        if leaf.in_month:
            month_leaves[leaf.seq] = leaf
    if appender.size != checkpoint.size:
        report.problems.append(
            f"leaves.jsonl ends at leaf {appender.size}, the checkpoint covers {checkpoint.size}"
        )
    elif appender.root() != checkpoint.root:
        report.problems.append(
            f"the leaves do not hash to the signed root of checkpoint {checkpoint.size}: "
            "a leaf or the frontier was rewritten"
        )
    return month_leaves


def _check_rows(folder: Path, month: str, leaves: dict[int, _Leaf], report: MonthReport) -> None:
    """Each row must hash to its own leaf, once, in leaf order; each of the month's leaves has one."""
    seen: set[int] = set()
    last_index = -1
    with (folder / ROWS).open("rb") as file:
        for number, line in enumerate(file, start=1):
            data = line.removesuffix(b"\n")
            try:
                entry = json.loads(data)
                seq = int(entry["seq"])
            except (ValueError, KeyError, TypeError):
                report.problems.append(f"rows.jsonl line {number} is not a log entry")
                continue
            report.rows += 1
            leaf = leaves.get(seq)
            if leaf is None or seq in seen:
                report.problems.append(
                    f"row seq {seq} (rows.jsonl line {number}) is not one of the month's leaves: "
                    "it was inserted"
                )
                continue
            seen.add(seq)
            if merkle.leaf_hash(data) != leaf.hash:
                report.problems.append(
                    f"row seq {seq} (leaf {leaf.index}) does not hash to its leaf: it was altered"
                )
            if str(entry.get("content", {}).get("created_at", ""))[:7] != month:
                report.problems.append(f"row seq {seq} (leaf {leaf.index}) is not of {month}")
            if leaf.index < last_index:
                report.problems.append(
                    f"row seq {seq} (leaf {leaf.index}) comes after leaf {last_index}: "
                    "the rows were reordered"
                )
            last_index = max(last_index, leaf.index)
    for seq, leaf in sorted(leaves.items()):
        if seq not in seen:
            report.problems.append(f"row seq {seq} (leaf {leaf.index}) is missing")


def _check_previous(
    folder: Path,
    verifier: VerifierKey,
    checkpoint: Checkpoint,
    start: int,
    frontier: list[bytes],
    report: MonthReport,
) -> None:
    """The month's checkpoint extends the earlier one (and, at equal size, the frontier is its)."""
    if not (folder / PREVIOUS).is_file():
        return  # no checkpoint before the month's first leaf: the frontier is proved by the root
    previous = verifier.open((folder / PREVIOUS).read_text())
    proof = [unb64(h) for h in json.loads((folder / CONSISTENCY).read_text())["proof"]]
    if previous.size > start:
        report.problems.append(f"{PREVIOUS} covers leaves of the month: {previous.size} > {start}")
    elif previous.size == start and merkle.root_from_frontier(frontier) != previous.root:
        report.problems.append(f"the frontier does not hash to the root of {PREVIOUS}")
    if not merkle.verify_consistency(
        previous.size, checkpoint.size, previous.root, checkpoint.root, proof
    ):
        report.problems.append(
            f"checkpoint {checkpoint.size} is not consistent with checkpoint {previous.size}"
        )
