"""Ship ``seed_data/`` and ``migrations/`` inside the package, as ``service/seed_data`` and
``service/migrations``.

Why a build step and not a move: both folders stay at the top of the repository, where pharmacists
review the knowledge base and Alembic expects its scripts; an installed service still needs them, and
``service.shipped`` finds either place. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("seed_data", "migrations")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's folders directly
            return
        for name in SHIPPED:
            target = Path(self.build_lib) / "service" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(name, target, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"))


setup(cmdclass={"build_py": BuildPyWithData})
