"""gunicorn's workers seal the logs themselves: a check answered by the server ends up in a signed
checkpoint that leaves the system (``CHECKPOINT_EXPORT``), with nothing else started."""

from __future__ import annotations

import json
import time
from pathlib import Path

from service.domain.checkpoint import VerifierKey

from .conftest import Server

WAIT = 60.0  # seconds: generous on a busy machine; a sealer's turn comes every second


def _newest_checkpoint_size(folder: Path) -> int:
    sizes = [int(path.name) for path in folder.glob("*") if path.name.isdigit()]
    return max(sizes, default=0)


def test_a_check_answered_by_the_server_is_sealed_into_an_exported_checkpoint(
    server: Server,
) -> None:
    status, body = server.request(
        "POST", "/api/v1/checks", {"medications": ["clonazepam", "oxycodone"]}
    )
    assert status == 200 and json.loads(body)["highest_severity"] == "major"
    folder = server.checkpoints / "alert_log"
    deadline = time.monotonic() + WAIT
    while _newest_checkpoint_size(folder) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    size = _newest_checkpoint_size(folder)
    assert size >= 1, "no alert_log checkpoint was exported"
    checkpoint = VerifierKey.from_text(server.verifier_key).open((folder / str(size)).read_text())
    assert checkpoint.origin == "127.0.0.1/alert_log" and checkpoint.size == size
