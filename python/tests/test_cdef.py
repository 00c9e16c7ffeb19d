"""The package's embedded declarations are the header's, and it wraps all of them."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PYTHON_DIR))

import gen_cdef  # noqa: E402

# Read without importing the package, which would load the library: these
# checks need only the source.
_cdef_spec = importlib.util.spec_from_file_location("sotto_cdef", gen_cdef.OUTPUT)
_cdef = importlib.util.module_from_spec(_cdef_spec)
_cdef_spec.loader.exec_module(_cdef)

# Functions of sotto.h the package does not call, and why.
NOT_WRAPPED = {
    # Python copies every message into a dataclass during the callback.
    "sotto_message_copy", "sotto_message_free",
    # Kept for old apps; Client.restore calls sotto_restore2, which also says
    # whether the new sessions reached the server.
    "sotto_restore",
}


def test_embedded_cdef_matches_sotto_h():
    expected = gen_cdef.render(gen_cdef.HEADER.read_text())
    assert gen_cdef.OUTPUT.read_text() == expected, (
        "python/sotto/_cdef.py is stale: run python3 python/gen_cdef.py")


def test_no_digest_constant_matches_sotto_h():
    header = gen_cdef.HEADER.read_text()
    assert re.search(r"#define SOTTO_NO_DIGEST \(\(int64_t\)-1\)", header)


def test_every_function_of_the_header_is_wrapped():
    declared = set(re.findall(r"\b(sotto_\w+)\(", _cdef.CDEF))
    source = "".join(p.read_text() for p in (PYTHON_DIR / "sotto").glob("*.py")
                     if p.name != "_cdef.py")
    used = set(re.findall(r"\blib\.(sotto_\w+)", source))
    assert declared - used - NOT_WRAPPED == set()
    assert used - declared == set()
