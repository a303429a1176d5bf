"""A throwaway PostgreSQL cluster for the tests and benchmarks: Debian's binaries, a temp dir, the ``postgres`` user when root.

One cluster per test session (initdb costs seconds), one fresh database per test (milliseconds).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

# Durability is not under test here; skipping fsync keeps the session fast on a shared 2-core machine.
_SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"


def find_bindir() -> Path:
    """The newest installed server's bin dir (``/usr/lib/postgresql/<major>/bin`` on Debian)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name),
        reverse=True,
    )
    if candidates:
        return candidates[0].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL is not installed: run `make test`, which installs Debian's postgresql")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """initdb + pg_ctl in a temp dir; as root everything runs as ``postgres`` (initdb refuses root)."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="imagine-pg-"))
        self._as_postgres = os.geteuid() == 0
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 {_SERVER_OPTIONS}"
        self._run(
            "pg_ctl", "-D", str(data), "-w", "-t", "60", "-l", str(self.dir / "log"), "-o", options, "start"
        )

    def stop(self) -> None:
        log = self.dir / "log"
        if log.is_file() and any(word in log.read_text() for word in ("PANIC", "terminated by signal")):
            shutil.copy(log, Path(tempfile.gettempdir()) / "imagine-pg-crash.log")  # keep the evidence
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)
