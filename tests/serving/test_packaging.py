"""The wheel the container installs carries what the service reads at run time (knowledge base,
migrations, serving settings), and the installed package finds them without the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from service.cli import alembic_config
from service.kb.loader import read_knowledge_base

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# What the Dockerfile copies into its build stage.
BUILD_CONTEXT = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "service", "seed_data",
                 "migrations")  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built as the Dockerfile builds it, from a copy: an in-tree build would write into the checkout."""
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_CONTEXT:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(out),
            ".",
        ],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("interaction_alerts-*.whl")
    return built


def test_the_wheel_carries_the_seed_data_the_migrations_and_the_serving_settings(
    wheel: Path,
) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    in_checkout = {
        f"service/{path.relative_to(ROOT).as_posix()}"
        for folder in ("seed_data", "migrations")
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert in_checkout <= names, sorted(in_checkout - names)[:10]
    assert "service/gunicorn_config.py" in names
    assert not any("__pycache__" in name for name in names)


def test_the_installed_package_loads_the_knowledge_base_and_finds_the_migrations(
    wheel: Path, tmp_path: Path
) -> None:
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)  # a pure-Python wheel installs by unpacking
    probe = (
        "import json, service, service.cli as cli\n"
        "from service.config import from_environment\n"
        "from pathlib import Path\n"
        "from service.kb.loader import read_knowledge_base\n"
        "kb_dir = from_environment(Path('instance'))['KB_DIR']\n"
        "print(json.dumps({'package': service.__file__, 'kb_dir': kb_dir,\n"
        "    'kb': read_knowledge_base(Path(kb_dir)).content_hash(),\n"
        "    'migrations': str(cli.MIGRATIONS)}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(installed), "SECRET_KEY": "x" * 32}
    env.pop("KB_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,  # not the checkout: its service/ folder must not shadow the installed one
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    found = json.loads(done.stdout.splitlines()[-1])
    package = installed / "service"
    assert Path(found["package"]).is_relative_to(package)
    assert Path(found["kb_dir"]) == package / "seed_data"
    assert found["kb"] == read_knowledge_base(ROOT / "seed_data").content_hash()
    assert Path(found["migrations"]) == package / "migrations"
    assert ScriptDirectory(found["migrations"]).get_current_head() == (
        ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    )
