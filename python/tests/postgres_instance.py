"""A real PostgreSQL for the Python tests' servers, when SOTTO_TEST_STORE=postgres.

The Python twin of tests/testing/postgres_instance.h and store_switch.h (issue
17: the end-to-end suites runnable against either backend): a fresh cluster
copied from the same template cluster the C++ tests initdb once per machine
($TMPDIR/sotto-pg15-template-UID, made under the same lock file), in its own
temporary directory, on a free loopback port, fsync on. Run as root, the
cluster belongs to Debian's `postgres` user and every command goes through
`runuser`. Missing binaries fail the test (never skip): a PostgreSQL run that
quietly ran on RocksDB would prove nothing.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from typing import List, Optional


def store_is_postgres() -> bool:
    """SOTTO_TEST_STORE: unset or "rocksdb" is RocksDB, "postgres" PostgreSQL."""
    value = os.environ.get("SOTTO_TEST_STORE", "")
    if value in ("", "rocksdb"):
        return False
    if value == "postgres":
        return True
    # A typo must not run everything on RocksDB and call it a PostgreSQL run.
    raise RuntimeError(f'SOTTO_TEST_STORE must be "postgres" or "rocksdb", got "{value}"')


def _bin(name: str) -> str:
    return os.path.join(os.environ.get("SOTTO_PG_BINDIR") or "/usr/lib/postgresql/15/bin", name)


def _as_owner(args: List[str]) -> List[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: List[str]) -> str:
    run = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {run.stdout}")
    return run.stdout


def _own(path: str) -> None:
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root, and there is no `postgres` user to run PostgreSQL "
                           "as (install postgresql-15: scripts/install-deps.sh)") from None
    _run(["chown", "-R", "postgres:", path])


def _tmp_dir() -> str:
    tmp = os.environ.get("TMPDIR") or "/tmp"
    if os.geteuid() == 0 and tmp != "/tmp":
        # The cluster runs as `postgres`, which may not enter a root-only $TMPDIR.
        probe = subprocess.run(_as_owner(["test", "-w", tmp, "-a", "-x", tmp]))
        if probe.returncode != 0:
            return "/tmp"
    return tmp


def _template() -> str:
    """The template cluster's data directory, made by the first caller on the machine."""
    directory = os.path.join(_tmp_dir(), f"sotto-pg15-template-{os.geteuid()}")
    with open(directory + ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the same lock the C++ tests take
        if not os.path.exists(os.path.join(directory, "data", "PG_VERSION")):
            shutil.rmtree(directory, ignore_errors=True)
            os.makedirs(directory)
            _own(directory)
            _run(_as_owner([_bin("initdb"), "-D", os.path.join(directory, "data"), "-U", "sotto",
                            "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]))
    return os.path.join(directory, "data")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresInstance:
    """A started cluster; `url` is what `sotto-server --store` takes, `stop()` ends it."""

    def __init__(self) -> None:
        if not os.path.exists(_bin("pg_ctl")):
            raise RuntimeError(f"no PostgreSQL binaries in {os.path.dirname(_bin('pg_ctl'))} "
                               "(install postgresql-15 with scripts/install-deps.sh, or set "
                               "SOTTO_PG_BINDIR)")
        template = _template()
        self.root = tempfile.mkdtemp(prefix="sotto-pg-", dir=_tmp_dir())
        self.data_dir = os.path.join(self.root, "data")
        self._running = False
        try:
            _run(["cp", "-a", template, self.data_dir])
            _own(self.root)
            self.port = self._start()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    @property
    def url(self) -> str:
        return f"postgres://sotto@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *action: str) -> List[str]:
        return _as_owner([_bin("pg_ctl"), "-D", self.data_dir, "-s", "-w", "-t", "60", *action])

    def _start(self) -> int:
        last: Optional[Exception] = None
        # Another process may take the free port before PostgreSQL binds it.
        for _ in range(3):
            port = _free_port()
            options = (f"-p {port} -k '{self.root}' -c listen_addresses=127.0.0.1 -c fsync=on "
                       "-c shared_buffers=16MB -c max_connections=100")
            try:
                _run(self._pg_ctl("-l", os.path.join(self.root, "log"), "-o", options, "start"))
                self._running = True
                return port
            except RuntimeError as e:
                last = e
        raise RuntimeError(f"PostgreSQL did not start: {last}")

    def stop(self) -> None:
        if self._running:
            subprocess.run(self._pg_ctl("stop", "-m", "immediate"), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            self._running = False
        shutil.rmtree(self.root, ignore_errors=True)
