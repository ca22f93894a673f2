"""Folders that sit beside the package in a checkout and inside it once installed (see setup.py)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def shipped_folder(name: str) -> Path:
    """``service/NAME`` in an installed package, else the checkout's top-level ``NAME/``."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else PACKAGE.parent / name
