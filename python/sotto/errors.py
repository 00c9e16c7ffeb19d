"""Exceptions raised by the sotto package.

Every failure of the C library becomes a `SottoError` carrying the status
code (`.code`, the number; `.code_name`, e.g. ``"PERMISSION_DENIED"``) and the
library's message (`.message`, which names what was wrong). Each code has its
own subclass, so a caller can catch exactly what it can handle::

    try:
        client = sotto.Client.open(profile, passphrase)
    except sotto.PermissionDenied:
        ask_again()

The codes follow Abseil's status guide (see client-lib/include/sotto/client.h).
"""

from __future__ import annotations

from typing import Dict, Type


class SottoError(Exception):
    """A call into the Sotto library failed.

    Attributes:
        code: the status code (an int, as Abseil and gRPC number them).
        code_name: the code's name, e.g. ``"NOT_FOUND"``.
        message: what was wrong, as the library said it (UTF-8 decoded).
    """

    #: The code an instance of this class carries unless given another.
    CODE: int = 2
    CODE_NAME: str = "UNKNOWN"

    def __init__(self, message: str, code: int = -1) -> None:
        self.code: int = self.CODE if code < 0 else code
        self.code_name: str = _NAMES.get(self.code, f"CODE_{self.code}")
        self.message: str = message
        # args are what the constructor takes, so the error pickles (e.g.
        # across multiprocessing) and comes back the same.
        super().__init__(message, self.code)

    def __str__(self) -> str:
        return f"{self.code_name}: {self.message}"


def _define(name: str, code: int, code_name: str, doc: str) -> Type[SottoError]:
    cls = type(name, (SottoError,), {"CODE": code, "CODE_NAME": code_name, "__doc__": doc})
    cls.__module__ = __name__
    return cls


_NAMES: Dict[int, str] = {
    1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}

Cancelled = _define("Cancelled", 1, "CANCELLED", "The call was cancelled.")
Unknown = _define("Unknown", 2, "UNKNOWN", "An error the library could not classify.")
InvalidArgument = _define(
    "InvalidArgument", 3, "INVALID_ARGUMENT",
    "The input can never work as sent (empty text, a malformed handle or code).")
DeadlineExceeded = _define("DeadlineExceeded", 4, "DEADLINE_EXCEEDED",
                           "The server did not answer in time; retry later.")
NotFound = _define("NotFound", 5, "NOT_FOUND", "No such user, profile or conversation.")
AlreadyExists = _define("AlreadyExists", 6, "ALREADY_EXISTS",
                        "A profile or handle that already exists.")
PermissionDenied = _define("PermissionDenied", 7, "PERMISSION_DENIED",
                           "Wrong passphrase, or not allowed (e.g. no care link).")
ResourceExhausted = _define("ResourceExhausted", 8, "RESOURCE_EXHAUSTED",
                            "A server limit (e.g. the recipient's queue is full).")
FailedPrecondition = _define(
    "FailedPrecondition", 9, "FAILED_PRECONDITION",
    "Fix state first (e.g. a contact's identity changed, the profile is locked).")
Aborted = _define("Aborted", 10, "ABORTED", "A conflict; retry the operation.")
OutOfRange = _define("OutOfRange", 11, "OUT_OF_RANGE", "A value outside its range.")
Unimplemented = _define("Unimplemented", 12, "UNIMPLEMENTED",
                        "Not supported here (e.g. for an app-provided store).")
Internal = _define("Internal", 13, "INTERNAL", "A bug or a broken invariant.")
Unavailable = _define("Unavailable", 14, "UNAVAILABLE",
                      "The server could not be reached; retry later.")
DataLoss = _define("DataLoss", 15, "DATA_LOSS", "Stored data is corrupt.")
Unauthenticated = _define("Unauthenticated", 16, "UNAUTHENTICATED",
                          "The server does not know this device (e.g. the account was deleted).")

_BY_CODE: Dict[int, Type[SottoError]] = {
    cls.CODE: cls
    for cls in (Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound, AlreadyExists,
                PermissionDenied, ResourceExhausted, FailedPrecondition, Aborted, OutOfRange,
                Unimplemented, Internal, Unavailable, DataLoss, Unauthenticated)
}


class ClientClosed(FailedPrecondition):  # type: ignore[misc, valid-type]
    """A method was called on a `Client` after `close()` (or its `with` block ended)."""


def error_for(code: int, message: str) -> SottoError:
    """The exception for a failed call with status `code` and `message`."""
    return _BY_CODE.get(code, SottoError)(message, code)
