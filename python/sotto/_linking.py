"""Linking a new device: sotto_link_device and sotto_client_join with their callbacks.

Both call a sotto_link_callback on the calling thread. As for listening
(_listen.py), a Python exception must never unwind into C: the trampoline
catches everything, stores it, returns 0 (which gives up a linking that is
still waiting), and the exception is raised again once the C call returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, List, Optional, Tuple

from . import _convert
from ._ffi import ffi, lib
from .errors import SottoError
from .types import HistoryProgress, HistoryStage, JoinResult, ms_to_datetime

OnCode = Callable[[str, datetime], None]
OnHistory = Callable[[HistoryProgress], None]
Cancelled = Callable[[], bool]


def _history(event: Any) -> HistoryProgress:
    return HistoryProgress(stage=HistoryStage(lib.sotto_link_event_history_stage(event)),
                           messages=lib.sotto_link_event_history_messages(event),
                           bytes=lib.sotto_link_event_history_bytes(event),
                           total_bytes=lib.sotto_link_event_history_total_bytes(event))


def _run(fn: Callable[[Any], None], trampoline: Callable[[Any, Any], int],
         raised: List[BaseException]) -> None:
    """Calls fn(c_callback); raises the callback's exception first if one ended it."""
    callback = ffi.callback("sotto_link_callback", trampoline, error=0)
    try:
        fn(callback)
    except SottoError:
        if raised:  # the app's exception is what ended the call
            raise raised[0] from None
        raise
    finally:
        del callback  # kept alive until the C call has returned
    if raised:
        raise raised[0]


def link_device(handle: Any, on_code: OnCode, include_history: bool, timeout: Optional[float],
                on_history: Optional[OnHistory], cancelled: Optional[Cancelled]) -> None:
    """See Client.link_device."""
    raised: List[BaseException] = []

    def trampoline(_user_data: Any, event: Any) -> int:
        try:
            kind = lib.sotto_link_event_kind_of(event)
            if kind == lib.SOTTO_LINK_EVENT_CODE:
                expires = ms_to_datetime(lib.sotto_link_event_expires_at_ms(event))
                on_code(_convert.s(lib.sotto_link_event_code(event)), expires)
            elif kind == lib.SOTTO_LINK_EVENT_WAITING and cancelled is not None:
                return 0 if cancelled() else 1
            elif kind == lib.SOTTO_LINK_EVENT_HISTORY and on_history is not None:
                on_history(_history(event))
            return 1
        except BaseException as e:  # noqa: B036 - even KeyboardInterrupt must not reach C
            raised.append(e)
            return 0

    timeout_ms = 0 if timeout is None or timeout <= 0 else max(1, int(timeout * 1000))
    _run(lambda cb: _convert.call(lib.sotto_link_device, handle, int(include_history), timeout_ms,
                                  cb, ffi.NULL),
         trampoline, raised)


def join(options: Any, on_history: Optional[OnHistory]) -> Tuple[Any, JoinResult]:
    """Runs sotto_client_join with `options` (a sotto_join_options*): (raw client, result)."""
    raised: List[BaseException] = []

    def trampoline(_user_data: Any, event: Any) -> int:
        try:
            if on_history is not None and \
                    lib.sotto_link_event_kind_of(event) == lib.SOTTO_LINK_EVENT_HISTORY:
                on_history(_history(event))
        except BaseException as e:  # noqa: B036 - even KeyboardInterrupt must not reach C
            raised.append(e)
        return 1

    out = ffi.new("sotto_client**")
    result = ffi.new("sotto_join_result**")

    def run(cb: Any) -> None:
        lib.sotto_join_options_set_callback(options, cb, ffi.NULL)
        _convert.call(lib.sotto_client_join, options, out, result)

    try:
        _run(run, trampoline, raised)
    except BaseException:
        if out[0] != ffi.NULL:  # joined, but the app's callback raised: close, then raise
            lib.sotto_client_close(out[0])
        lib.sotto_join_result_free(result[0])
        raise
    r = result[0]
    try:
        error = _convert.s(lib.sotto_join_result_history_error(r))
        made = JoinResult(contacts=lib.sotto_join_result_contacts(r),
                          had_history=bool(lib.sotto_join_result_had_history(r)),
                          history_messages=lib.sotto_join_result_history_messages(r),
                          history_error=error if lib.sotto_join_result_history_status(r) else None)
    finally:
        lib.sotto_join_result_free(r)
    return out[0], made
