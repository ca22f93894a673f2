"""The layers hold: doors over checking and the KB pipeline, over persistence, over the domain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    """import-linter in a fresh interpreter, on the service as it is on disk (no cache to go stale)."""
    script = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True))"
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_no_layer_imports_a_higher_one_and_no_door_imports_another() -> None:
    run = _lint_imports(ROOT / "pyproject.toml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_the_contract_notices_a_lower_layer_importing_a_higher_one(tmp_path: Path) -> None:
    # Upside down, the API door sits below the domain, so its every import of the domain breaks it.
    upside_down = tmp_path / "contract.toml"
    upside_down.write_text(
        '[tool.importlinter]\nroot_package = "service"\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "upside down"\ntype = "layers"\nlayers = ["service.domain", "service.api"]\n'
    )
    run = _lint_imports(upside_down)
    assert run.returncode != 0
    assert "service.api is not allowed to import service.domain" in run.stdout


def test_the_domain_imports_neither_flask_nor_sqlalchemy() -> None:
    """A script or a benchmark can use the check without loading the web or database stacks."""
    script = (
        "import sys; import service.domain.check, service.domain.document, service.domain.naloxone; "
        "print(sorted(m for m in ('flask', 'werkzeug', 'sqlalchemy') if m in sys.modules))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "[]"
