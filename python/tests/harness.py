"""The real sotto-server and the real `sotto` CLI, driven from Python tests.

The Python twin of tests/testing/server_process.h and tests/e2e/cli_fixture.h:
a server on a free loopback port with a fresh data directory, therapists
enrolled the way an operator does it (`sotto-server enrol-therapist`), and
CLI users run as a person would. The binaries come from the environment
(SOTTO_SERVER_BINARY, SOTTO_CLI_BINARY, set by ctest) or the build tree.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

from postgres_instance import PostgresInstance, store_is_postgres

REPO = Path(__file__).resolve().parents[2]


def _binary(env_var: str, relative: str) -> str:
    """The binary named by `env_var`, else the first build tree that has it."""
    path = os.environ.get(env_var)
    if path:
        return path
    for build in sorted(REPO.glob("build*")):
        candidate = build / relative
        if candidate.is_file():
            return str(candidate)
    raise RuntimeError(f"set {env_var}: no {relative} in a build tree under {REPO}")


def server_binary() -> str:
    return _binary("SOTTO_SERVER_BINARY", "server/sotto-server")


def cli_binary() -> str:
    return _binary("SOTTO_CLI_BINARY", "cli/sotto")


def rate_limits_off_args(binary: str) -> List[str]:
    """Every `--rate-*` flag of `binary --help` set to 0/0, and quiet logs.

    As RateLimitsOffArgs in tests/testing/server_process.h: a test registers
    several accounts and sends from one address in a second, which is what
    the abuse limits exist to stop.
    """
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    args: List[str] = []
    for flag in re.findall(r"--rate-[a-z0-9-]+", help_text):
        arg = flag + "=0/0"
        if arg not in args:
            args.append(arg)
    if "--log-level" in help_text:
        args.append("--log-level=warn")
    return args


class ServerProcess:
    """sotto-server on 127.0.0.1:0 with a fresh data directory; `stop()` ends it.

    With SOTTO_TEST_STORE=postgres (postgres_instance.py) it stores in a fresh
    real PostgreSQL (`--store URL`), which `stop()` ends too; the data
    directory still holds its keys and operator socket.
    """

    LISTENING = "sotto-server listening on "

    def __init__(self, binary: Optional[str] = None) -> None:
        self.binary = binary or server_binary()
        self.root = tempfile.mkdtemp(prefix="sotto-py-server-")
        self.data_dir = os.path.join(self.root, "data")
        args = [self.binary, "--data-dir", self.data_dir, "--listen", "127.0.0.1:0"]
        args += rate_limits_off_args(self.binary)
        self.postgres: Optional[PostgresInstance] = None
        if store_is_postgres():
            self.postgres = PostgresInstance()
            args += ["--store", self.postgres.url]
        try:
            self.process = subprocess.Popen(args, stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL)
        except BaseException:
            if self.postgres is not None:
                self.postgres.stop()
            raise
        self.address = self._await_listening()

    def _await_listening(self) -> str:
        assert self.process.stdout is not None
        out = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if not ready:
                continue
            chunk = os.read(self.process.stdout.fileno(), 256)
            if not chunk:
                break  # The server exited.
            out += chunk
            if b"\n" in out:
                line = out.split(b"\n", 1)[0].decode()
                if line.startswith(self.LISTENING):
                    # Keep reading what else it prints, so that a full pipe
                    # never blocks the server.
                    threading.Thread(target=self._drain, daemon=True).start()
                    return line[len(self.LISTENING):].strip()
                break
        self.stop()
        raise RuntimeError(f"sotto-server did not report listening; it printed: {out!r}")

    def _drain(self) -> None:
        assert self.process.stdout is not None
        try:
            while os.read(self.process.stdout.fileno(), 4096):
                pass
        except (OSError, ValueError):
            pass  # closed by stop()

    def enrolment_code(self, handle: str) -> str:
        """A one-time enrolment code for therapist `handle`, as an operator issues it."""
        run = subprocess.run(
            [self.binary, "enrol-therapist", "--data-dir", self.data_dir, "--name", handle,
             "--quiet"], capture_output=True, text=True)
        code = run.stdout.strip()
        if run.returncode != 0 or not code or "\n" in code:
            raise RuntimeError(f"enrol-therapist failed: {run.stdout}{run.stderr}")
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.postgres is not None:
            self.postgres.stop()
        # The drain thread sees EOF now that the server is gone; the pipe is
        # closed when the Popen object is collected.
        shutil.rmtree(self.root, ignore_errors=True)


class CliUser:
    """A person using the `sotto` CLI with a profile under `directory`."""

    def __init__(self, directory: str, handle: str, passphrase: str = "correct horse",
                 binary: Optional[str] = None) -> None:
        self.profile = os.path.join(directory, handle)
        self.handle = handle
        self.passphrase = passphrase
        self.binary = binary or cli_binary()

    def run(self, *args: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess:
        """`sotto --profile DIR ARGS...`; raises with its output if it fails and `check`."""
        env: Dict[str, str] = dict(os.environ)
        # The tests' passphrases are weaker than `init` accepts (docs/CLI.md).
        env["SOTTO_ALLOW_WEAK_PASSPHRASE"] = "1"
        env["SOTTO_PASSPHRASE"] = self.passphrase
        run = subprocess.run([self.binary, "--profile", self.profile, *args], input=stdin,
                             capture_output=True, text=True, env=env, timeout=120)
        if check and run.returncode != 0:
            raise AssertionError(f"sotto {' '.join(args)} exited {run.returncode}:\n"
                                 f"{run.stdout}{run.stderr}")
        return run

    def init_client(self, server_address: str, invite_code: str) -> None:
        self.run("init", "--server", server_address, "--role", "client", "--name", self.handle,
                 "--invite", invite_code)
