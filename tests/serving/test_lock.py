"""requirements.lock, which the Dockerfile installs, pins every runtime dependency pyproject.toml names
within its range: a dependency added without ``make lock`` would be missing from the image."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def locked_versions() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", (ROOT / "requirements.lock").read_text(), re.M)
    return {canonicalize_name(name): version for name, version in pins}


def test_every_runtime_dependency_is_locked_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = locked_versions()
    for line in project["dependencies"]:
        wanted = Requirement(line)
        name = canonicalize_name(wanted.name)
        assert name in locked, f"{name} is not in requirements.lock: run make lock"
        assert wanted.specifier.contains(locked[name]), (name, locked[name], str(wanted.specifier))


def test_every_locked_package_carries_hashes() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9._-]+==)", (ROOT / "requirements.lock").read_text())
    pinned = [entry for entry in entries if re.match(r"[A-Za-z0-9._-]+==", entry)]
    assert pinned
    assert all("--hash=sha256:" in entry for entry in pinned)
