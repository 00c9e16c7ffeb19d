"""Fixtures: a real sotto-server per test, and helpers to register real clients.

The package is imported from this source tree (python/), the library from
SOTTO_LIBRARY (ctest sets it) or a build tree. The test files import the
package themselves; test_cdef.py does not need the library.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import CliUser, ServerProcess  # noqa: E402

# In the sanitizer tree ctest preloads clang's shared ASan runtime into this
# interpreter (python/CMakeLists.txt); the servers and CLIs it starts carry
# their own, so they must not inherit it.
os.environ.pop("LD_PRELOAD", None)

if TYPE_CHECKING:
    import sotto

PASSPHRASE = "correct horse battery staple"


# One server per test file: starting one takes about a second. Tests in a
# file therefore register handles of their own.
@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = ServerProcess()
    try:
        yield process
    finally:
        process.stop()


class People:
    """Registers Python clients and CLI users against `server`, in `tmp`."""

    def __init__(self, server: ServerProcess, tmp: Path) -> None:
        self.server = server
        self.tmp = tmp
        self._open = []

    def profile(self, handle: str) -> str:
        return str(self.tmp / f"{handle}.profile")

    def therapist(self, handle: str) -> "sotto.Client":
        import sotto  # here, not at the top: test_cdef.py runs without the library

        client = sotto.Client.register(
            self.profile(handle), self.server.address, handle, PASSPHRASE,
            role=sotto.Role.THERAPIST, enrolment_code=self.server.enrolment_code(handle),
            fast_key_derivation_for_tests=True)
        self._open.append(client)
        return client

    def client(self, handle: str, therapist: "sotto.Client") -> "sotto.Client":
        import sotto

        client = sotto.Client.register(
            self.profile(handle), self.server.address, handle, PASSPHRASE,
            invite_code=therapist.create_invite().code, fast_key_derivation_for_tests=True)
        self._open.append(client)
        return client

    def cli_client(self, handle: str, therapist: "sotto.Client") -> CliUser:
        user = CliUser(str(self.tmp), handle)
        user.init_client(self.server.address, therapist.create_invite().code)
        return user

    def close_all(self) -> None:
        for client in self._open:
            client.close()


@pytest.fixture
def people(server: ServerProcess, tmp_path: Path) -> Iterator[People]:
    p = People(server, tmp_path)
    try:
        yield p
    finally:
        p.close_all()
