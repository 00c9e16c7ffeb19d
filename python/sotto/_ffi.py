"""Loads the Sotto C library (libsotto) with cffi in ABI mode.

No compiler is needed at import time: the declarations of sotto.h are
embedded (_cdef.py) and the shared library is opened with dlopen. Where the
library comes from, first match wins:

1. the environment variable SOTTO_LIBRARY (a path to the .so);
2. when this package runs from a Sotto source tree, a build tree beside it
   (build*/client-lib/libsotto.so*, then libsotto_client.so);
3. when this package is installed under a prefix (`cmake --install --prefix
   P` puts it in P/lib/python3/dist-packages/sotto), that prefix's library
   directory (P/lib/libsotto.so.N or P/lib/<multiarch>/libsotto.so.N);
4. the system's library path (libsotto.so, else whatever `ldconfig` knows
   as libsotto.so.N), as installed by the Debian packages.
"""

from __future__ import annotations

import ctypes.util
import os
import re
from pathlib import Path
from typing import Any, List, Tuple

import cffi

from ._cdef import CDEF

ffi = cffi.FFI()
ffi.cdef(CDEF)

#: SOTTO_NO_DIGEST of sotto.h (a cast cffi's parser does not read).
NO_DIGEST = -1
#: The major version of the header these declarations come from.
HEADER_MAJOR = int(re.search(r"#define SOTTO_VERSION_MAJOR (\d+)", CDEF).group(1))
HEADER_MINOR = int(re.search(r"#define SOTTO_VERSION_MINOR (\d+)", CDEF).group(1))


def _build_tree_candidates() -> List[Path]:
    repo = Path(__file__).resolve().parents[2]
    if not (repo / "client-lib" / "include" / "sotto" / "sotto.h").is_file():
        return []
    found: List[Path] = []
    for build in sorted(repo.glob("build*")):
        lib_dir = build / "client-lib"
        found += sorted(lib_dir.glob("libsotto.so*"), key=lambda p: len(p.name))
        found += [p for p in [lib_dir / "libsotto_client.so"] if p.is_file()]
    return found


def _install_prefix_candidates() -> List[Path]:
    here = Path(__file__).resolve().parent
    # P/lib/python3/dist-packages/sotto -> P/lib
    if here.parent.name != "dist-packages" or here.parents[1].name != "python3":
        return []
    lib_dir = here.parents[2]
    found = sorted(lib_dir.glob("libsotto.so.*"), key=lambda p: len(p.name))
    found += sorted(lib_dir.glob("*-linux-gnu*/libsotto.so.*"), key=lambda p: len(p.name))
    return found


def _candidates() -> List[Tuple[str, str]]:
    """(what to dlopen, where it came from), in the order tried."""
    env = os.environ.get("SOTTO_LIBRARY")
    if env:
        # An explicit choice is final: falling back would hide a wrong path.
        return [(env, "SOTTO_LIBRARY")]
    found = [(str(p), "the build tree") for p in _build_tree_candidates()]
    found += [(str(p), "the install prefix") for p in _install_prefix_candidates()]
    found.append(("libsotto.so", "the system"))
    soname = ctypes.util.find_library("sotto")
    if soname:
        found.append((soname, "the system (ldconfig)"))
    return found


def _load() -> Any:
    errors = []
    for name, origin in _candidates():
        try:
            lib = ffi.dlopen(name)
        except OSError as e:
            errors.append(f"{name} ({origin}): {e}")
            continue
        try:
            lib.sotto_version
        except AttributeError:
            errors.append(f"{name} ({origin}): has no C API (no sotto_version symbol)")
            continue
        return lib
    raise ImportError("cannot load the Sotto C library; set SOTTO_LIBRARY to libsotto.so. "
                      "Tried: " + "; ".join(errors))


lib = _load()
#: "MAJOR.MINOR.PATCH" of the library loaded.
LIBRARY_VERSION: str = ffi.string(lib.sotto_version()).decode()


def _check_version() -> None:
    """The library must be the header's major version, and no older than the header."""
    have = tuple(int(x) for x in LIBRARY_VERSION.split(".")[:2])
    need = (HEADER_MAJOR, HEADER_MINOR)
    if have[0] != need[0] or have < need:
        raise ImportError(f"the Sotto library is version {LIBRARY_VERSION}; this package needs "
                          f"{need[0]}.x with x >= {need[1]}")


_check_version()
