"""An archived month is checked from its files alone: a clean one passes, and every kind of
tampering with its rows or leaves is reported naming the row."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service import jsonio
from service.domain import archive, merkle
from service.domain.checkpoint import Checkpoint, SigningKey

KEY = SigningKey.generate("pharmacy.example/log")
ORIGIN = "pharmacy.example/log"
# Three months of entries, sealed in batches of four: leaves 0-4 October, 5-11 November, 12-15
# December (a November row sealed after a December one shows the months' leaves interleave).
MONTHS = ["2026-10"] * 5 + ["2026-11"] * 6 + ["2026-12", "2026-11"] + ["2026-12"] * 3


def _entry(seq: int, month: str) -> bytes:
    content = {"created_at": f"{month}-15T10:00:{seq:02d}.000000Z", "actor": "cli:root"}
    return jsonio.canonical({"log": "audit_event", "seq": seq, "content": content})


ENTRIES = [_entry(seq, month) for seq, month in enumerate(MONTHS, start=1)]
HASHES = [merkle.leaf_hash(e) for e in ENTRIES]


def _note(size: int) -> str:
    when = datetime(2026, 12, 3, tzinfo=UTC)
    return KEY.sign(Checkpoint(ORIGIN, size, merkle.root(HASHES[:size]), when))


def _nodes(size: int) -> dict[tuple[int, int], bytes]:
    """Every perfect subtree's hash, as the sealer stores them."""
    stored = {(0, i): h for i, h in enumerate(HASHES[:size])}
    appender = merkle.Appender()
    for digest in HASHES[:size]:
        stored.update(dict(appender.append(digest)))
    return stored


def write_month(folder: Path, month: str) -> Path:
    """What ``audit archive`` writes for ``month``, from the in-memory log above."""
    mine = [i for i, m in enumerate(MONTHS) if m == month]
    start, end = mine[0], mine[-1] + 1
    size = -(-end // 4) * 4  # the batch's checkpoint covering the month's last leaf
    frontier = [_nodes(start)[c] for c in merkle.frontier(start)]
    writer = archive.MonthWriter(folder, "audit_event", month, start, frontier)
    for index in range(start, size):
        row = ENTRIES[index] if MONTHS[index] == month else None
        writer.leaf(index, index + 1, HASHES[index], row)
    previous = start // 4 * 4
    proof = merkle.consistency_proof(previous, size, _nodes(size)) if previous else []
    writer.finish(_note(size), _note(previous) if previous else None, proof)
    return folder


@pytest.fixture()
def november(tmp_path: Path) -> Path:
    return write_month(tmp_path / "audit_event" / "2026-11", "2026-11")


def _problems(folder: Path) -> list[str]:
    return archive.verify_month(folder, KEY.verifier()).problems


def _rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


@pytest.mark.parametrize("month", ["2026-10", "2026-11", "2026-12"])
def test_each_untouched_month_verifies_on_its_own(tmp_path: Path, month: str) -> None:
    report = archive.verify_month(write_month(tmp_path / month, month), KEY.verifier())
    assert report.problems == []
    assert report.rows == MONTHS.count(month)


def test_an_altered_row_is_named(november: Path) -> None:
    rows = _lines(november / archive.ROWS)
    rows[2] = rows[2].replace(b"cli:root", b"cli:eve")
    _rewrite(november / archive.ROWS, rows)
    assert "row seq 8 (leaf 7) does not hash to its leaf: it was altered" in _problems(november)


def test_a_missing_row_is_named(november: Path) -> None:
    rows = _lines(november / archive.ROWS)
    _rewrite(november / archive.ROWS, rows[:1] + rows[2:])
    assert "row seq 7 (leaf 6) is missing" in _problems(november)


def test_an_inserted_row_is_named(november: Path) -> None:
    rows = _lines(november / archive.ROWS)
    _rewrite(november / archive.ROWS, [*rows, _entry(99, "2026-11")])
    problems = _problems(november)
    assert any(p.startswith("row seq 99 (rows.jsonl line 8)") for p in problems), problems


def test_reordered_rows_are_named(november: Path) -> None:
    rows = _lines(november / archive.ROWS)
    rows[1], rows[2] = rows[2], rows[1]
    _rewrite(november / archive.ROWS, rows)
    assert "row seq 7 (leaf 6) comes after leaf 7: the rows were reordered" in _problems(november)


def test_a_row_rehashed_with_its_leaf_still_fails_against_the_signed_root(november: Path) -> None:
    """The attacker rewrites the row, its leaf hash and the manifest consistently."""
    rows = _lines(november / archive.ROWS)
    rows[2] = rows[2].replace(b"cli:root", b"cli:eve")
    _rewrite(november / archive.ROWS, rows)
    leaves = [json.loads(line) for line in _lines(november / archive.LEAVES)]
    leaves[2]["hash"] = archive.b64(merkle.leaf_hash(rows[2]))
    _rewrite(november / archive.LEAVES, [json.dumps(leaf).encode() for leaf in leaves])
    manifest = json.loads((november / archive.MANIFEST).read_text())
    for name in (archive.ROWS, archive.LEAVES):
        manifest["files"][name] = archive.file_digest(november / name)
    (november / archive.MANIFEST).write_text(json.dumps(manifest))
    assert _problems(november) == [
        "the leaves do not hash to the signed root of checkpoint 16: "
        "a leaf or the frontier was rewritten"
    ]


def test_a_missing_leaf_is_named(november: Path) -> None:
    leaves = _lines(november / archive.LEAVES)
    _rewrite(november / archive.LEAVES, leaves[:3] + leaves[4:])
    assert "leaves.jsonl: leaf 8 expected, leaf 9 (seq 10) found: a leaf is missing" in _problems(
        november
    )


def test_an_archive_signed_by_another_key_is_refused(november: Path) -> None:
    other = SigningKey.generate(ORIGIN).verifier()
    problems = archive.verify_month(november, other).problems
    assert len(problems) == 1 and "not signed by" in problems[0]


def test_a_changed_file_is_named_against_the_manifest(november: Path) -> None:
    (november / archive.FRONTIER).write_text(json.dumps({"size": 5, "hashes": []}))
    problems = _problems(november)
    assert "frontier.json differs from the manifest's SHA-256" in problems
