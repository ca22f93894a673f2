"""Start a throwaway PostgreSQL server for the test suite.

Tests that exercise PostgreSQL-specific behaviour need a real server, but we do
not want them to depend on a long-running, hand-configured one.  This module
runs ``initdb`` + ``pg_ctl`` into a temporary directory on a free loopback port
and hands back a SQLAlchemy URL.  It has no pytest imports so that conftest (or
a script) can decide what "unavailable" means: skip locally, fail in CI.

PostgreSQL refuses to run as root, so when we are root the server runs as the
``postgres`` system user (which Debian's package creates); otherwise it runs as
the current user.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PostgresServer", "PostgresUnavailable", "find_pg_bin", "start_postgres"]

SUPERUSER = "postgres"
DEFAULT_DB = "alerts_test"


class PostgresUnavailable(RuntimeError):
    """No server could be started; ``reason`` says why, so a skip message is actionable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _version_key(path: str) -> tuple[int, ...]:
    """Sort /usr/lib/postgresql/<ver>/bin paths numerically, so 16 beats 9.6."""
    ver = Path(path).parent.parent.name
    return tuple(int(p) for p in ver.split(".") if p.isdigit())


def find_pg_bin(name: str) -> str | None:
    """Locate a PostgreSQL program.

    Debian keeps the server binaries (initdb, pg_ctl) out of PATH under
    /usr/lib/postgresql/<ver>/bin, so look in PATH, /usr/local/bin, then the
    newest versioned directory.
    """
    found = shutil.which(name)
    if found:
        return found
    local = Path("/usr/local/bin") / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    return candidates[-1] if candidates else None


def _free_port() -> int:
    """Ask the kernel for an unused loopback port (tiny race, retried by the caller)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running throwaway server; ``stop()`` kills it and deletes its files."""

    url: str
    port: int
    base_dir: Path
    _pg_ctl: str = field(repr=False)
    _run_as: pwd.struct_passwd | None = field(repr=False, default=None)
    _stopped: bool = field(repr=False, default=False)
    _start_options: str = field(repr=False, default="")

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    def processes(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, ...), for fault tests."""
        postmaster = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended while we looked
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def shut_down(self) -> None:
        """Stop the server but keep its files, so that ``start()`` brings it back."""
        _run([self._pg_ctl, "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], self._run_as)

    def start(self) -> None:
        """Start a server stopped by ``shut_down()``, on its port."""
        log = str(self.base_dir / "server.log")
        options = ["-l", log, "-o", self._start_options, "-w", "-t", "30"]
        _run([self._pg_ctl, "-D", str(self.data_dir), *options, "start"], self._run_as)

    def stop(self) -> None:
        """Stop the server (idempotent; also registered with atexit as a safety net)."""
        if self._stopped:
            return
        self._stopped = True
        _run(
            [self._pg_ctl, "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
            self._run_as,
            check=False,
        )
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _run(
    cmd: list[str], run_as: pwd.struct_passwd | None, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a PG program, dropping to ``run_as`` (uid, gid, no extra groups) when set."""
    env = {**os.environ, "LC_ALL": "C"}
    if run_as is not None:
        env.update(HOME=run_as.pw_dir, USER=run_as.pw_name, LOGNAME=run_as.pw_name)
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        check=False,
        user=run_as.pw_uid if run_as else None,
        group=run_as.pw_gid if run_as else None,
        extra_groups=[] if run_as else None,
    )
    if check and proc.returncode != 0:
        raise PostgresUnavailable(
            f"{Path(cmd[0]).name} exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()}"
        )
    return proc


def _sibling(bin_path: str, name: str) -> str | None:
    """Prefer a program from the same install as initdb, so versions never mix."""
    candidate = Path(bin_path).resolve().parent / name
    return str(candidate) if candidate.is_file() else find_pg_bin(name)


def start_postgres(dbname: str = DEFAULT_DB, *, attempts: int = 3) -> PostgresServer:
    """Start a fresh server on a free 127.0.0.1 port with database ``dbname``.

    Uses trust auth and fsync off: it is disposable and only reachable on loopback.
    Raises PostgresUnavailable with the reason if it cannot.
    """
    initdb = find_pg_bin("initdb")
    if initdb is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found (initdb not in PATH, /usr/local/bin "
            "or /usr/lib/postgresql/*/bin); install them, e.g. `apt-get install postgresql`"
        )
    pg_ctl = _sibling(initdb, "pg_ctl")
    createdb = _sibling(initdb, "createdb")
    if pg_ctl is None or createdb is None:
        raise PostgresUnavailable(f"pg_ctl/createdb not found next to {initdb}")

    run_as: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            run_as = pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise PostgresUnavailable(
                "running as root, and PostgreSQL refuses to run as root, but there is no "
                f"'{SUPERUSER}' system user to run it as (create one: "
                f"`useradd --system --home-dir /var/lib/postgresql {SUPERUSER}`)"
            ) from None

    base = Path(tempfile.mkdtemp(prefix="pgtest-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if run_as is not None:
        for path in (base, sock):
            os.chown(path, run_as.pw_uid, run_as.pw_gid)

    try:
        _run(
            [
                initdb,
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "--locale=C",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            run_as,
        )
        last_error = ""
        for _ in range(attempts):
            port = _free_port()
            opts = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            log = base / "server.log"
            proc = _run(
                [pg_ctl, "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "30", "start"],
                run_as,
                check=False,
            )
            if proc.returncode == 0:
                break
            last_error = log.read_text(errors="replace")[-2000:] if log.exists() else proc.stderr
        else:
            raise PostgresUnavailable(f"pg_ctl start failed {attempts} times: {last_error.strip()}")

        server = PostgresServer(
            url=f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/{dbname}",
            port=port,
            base_dir=base,
            _pg_ctl=pg_ctl,
            _run_as=run_as,
            _start_options=opts,
        )
        atexit.register(server.stop)
        try:
            _run([createdb, "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, dbname], None)
        except BaseException:
            server.stop()
            raise
        return server
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
