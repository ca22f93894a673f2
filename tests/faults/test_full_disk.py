"""SQLite on a small, full file system: 503 while full, back once a little space is freed, and every
200 has its row in the alert log."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from ..seeded import copy_sqlite
from .conftest import CHECK, add_client, logged_ids, service_on

DISK_BYTES = 28 * 1024 * 1024  # the seed database is ~13 MB
FREED_BYTES = 1024 * 1024
WAL_CHECKS = 150  # ~7 MB of WAL  # "a little": far less than the WAL took before it was truncated


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of ``DISK_BYTES``, mounted for this test (needs root, as in CI)."""
    if os.geteuid() != 0:
        pytest.fail(
            "filling a real file system needs root, to mount a small tmpfs (CI runs as root)"
        )
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount_point)], check=True
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(disk: Path) -> list[Path]:
    """Take every free byte, in files of ``FREED_BYTES`` (and a last, smaller one)."""
    chunk = b"\0" * FREED_BYTES
    files: list[Path] = []
    while True:
        path = disk / f"filler-{len(files)}"
        files.append(path)
        with path.open("wb") as out:
            try:
                out.write(chunk)
                out.flush()
            except OSError as error:
                assert error.errno == errno.ENOSPC
                return files


def log_rows(database: Path) -> int:
    with closing(sqlite3.connect(database)) as connection:
        return int(connection.execute("SELECT count(*) FROM alert_log").fetchone()[0])


@pytest.mark.slow
def test_a_full_disk_gives_503s_and_freeing_a_little_brings_the_checks_back(
    small_disk: Path, tmp_path: Path, seeded_sqlite: Path
) -> None:
    built = tmp_path / "built.sqlite3"
    key = add_client(copy_sqlite(seeded_sqlite, built))
    database = small_disk / "alerts.sqlite3"
    shutil.copy(built, database)
    rows_before = log_rows(database)
    url = f"sqlite:///{database}"
    app = service_on(url)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    answered: list[str] = []

    def check() -> int:
        response = client.post("/api/v1/checks", json=CHECK)
        if response.status_code == 200:
            answered.append(response.get_json()["check_id"])
        else:
            assert response.status_code == 503
            assert response.mimetype == "application/problem+json"
            assert "alerts" not in response.get_json()
        return response.status_code

    # A long read (an auditor's export, say) keeps the checks' pages in the WAL, which grows;
    # once copied into the database, the WAL's file keeps its size: writers reuse it from the start.
    with closing(sqlite3.connect(database)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM alert_log").fetchone()
        assert [check() for _ in range(WAL_CHECKS)] == [200] * WAL_CHECKS
        reader.execute("COMMIT")
        reader.execute("PRAGMA wal_checkpoint(PASSIVE)")
    wal = database.with_name(database.name + "-wal")
    wal_before = wal.stat().st_size

    fillers = fill(small_disk)
    # Checks go on in the WAL's old space; a checkpoint's copy fails for want of room, after
    # checks that were committed; then the WAL must grow, and cannot.
    statuses = [check() for _ in range(250)]
    assert 200 in statuses
    assert statuses[-20:] == [503] * 20
    assert log_rows(database) == rows_before + len(answered)  # every 200 logged, no 503 logged

    fillers.pop(0).unlink()  # a little: a checkpoint succeeds, and the WAL gives its space back
    after = [check() for _ in range(60)]  # more WAL than the space freed
    assert after == [200] * 60
    assert wal.stat().st_size < wal_before  # truncated, then grown by the 60 checks only
    assert logged_ids(url, answered) == set(answered)
    assert log_rows(database) == rows_before + len(answered)
    app.extensions["database"].dispose()  # before the file system goes
