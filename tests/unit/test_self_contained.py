"""The repository stands on its own: no file points at material outside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", "npm"}
OUTSIDE = re.compile(r"\.\./shared\b|\bshared/(?:clinical|reference|hooks|ARCHITECTURE|STYLE)")


def _files() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*")
        if path.is_file()
        and not SKIPPED.intersection(path.relative_to(ROOT).parts)
        and path.suffix in {".py", ".md", ".yaml", ".yml", ".csv", ".html", ".toml", ".cfg", ".ini", ""}
    ]


def test_no_file_of_the_project_points_outside_the_repository() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _files()
        if OUTSIDE.search(path.read_text(encoding="utf-8", errors="ignore"))
        and path != Path(__file__).resolve()
    ]
    assert offenders == []
