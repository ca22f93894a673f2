"""Read CSV and YAML so that every record remembers the file and line it came from."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Record:
    """One CSV row or YAML list entry, with where it came from for error messages."""

    file: str
    line: int
    data: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping  # type: ignore[return-value]


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


FOLDERS = frozenset({"sources", "classes", "rules"})


class FileFormatError(ValueError):
    pass


def read_csv(path: Path) -> list[Record]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return [
            Record(path.name, reader.line_num, {k: (v or "").strip() for k, v in row.items() if k})
            for row in reader
        ]


def read_yaml_list(path: Path) -> list[Record]:
    where = f"{path.parent.name}/{path.name}" if path.parent.name in FOLDERS else path.name
    try:
        loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as error:
        raise FileFormatError(f"{where}: not valid YAML: {error}") from error
    if loaded is None:
        return []
    if not isinstance(loaded, list) or not all(isinstance(item, dict) for item in loaded):
        raise FileFormatError(f"{where}:1: expected a list of entries")
    return [Record(where, item.pop("__line__"), _strip_lines(item)) for item in loaded]


def read_yaml_dir(directory: Path) -> list[Record]:
    """Every entry of every ``*.yaml`` file in ``directory``, files in name order (it is rule order)."""
    if not directory.is_dir():
        raise FileFormatError(f"{directory.name}/: missing (expected a folder of .yaml files)")
    return [
        record for path in sorted(directory.glob("*.yaml")) for record in read_yaml_list(path)
    ]


def read_yaml_mapping(path: Path) -> Record:
    try:
        loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as error:
        raise FileFormatError(f"{path.name}: not valid YAML: {error}") from error
    if not isinstance(loaded, dict):
        raise FileFormatError(f"{path.name}:1: expected a mapping")
    return Record(path.name, loaded.pop("__line__"), _strip_lines(loaded))


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value
