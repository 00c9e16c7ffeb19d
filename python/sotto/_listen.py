"""Listening for incoming messages: the callback path and the stream (iterator) path.

sotto_listen calls its callback on the thread that called it, with no
library lock held. A Python exception must never unwind into C: the callback
catches everything, stores it, returns 0 (which ends the listen), and the
exception is raised again from the Python call once sotto_listen returned.
"""

from __future__ import annotations

import queue
import threading
import weakref
from typing import Any, Callable, List, Optional

from . import _convert
from ._ffi import ffi, lib
from .errors import SottoError
from .types import IdentityNotice, Message, SyncStats

OnMessage = Callable[[Message], Optional[bool]]
OnNotice = Callable[[IdentityNotice], Optional[bool]]
OnReceipt = Callable[[Message], Optional[bool]]


def timeout_ms(timeout: Optional[float]) -> int:
    """Seconds (None or <= 0: no idle timeout) as sotto_listen's milliseconds."""
    if timeout is None or timeout <= 0:
        return 0
    return max(1, int(timeout * 1000))


def listen_with(handle: Any, on_message: Optional[OnMessage], timeout: Optional[float],
                on_notice: Optional[OnNotice], on_receipt: Optional[OnReceipt] = None) -> SyncStats:
    """Runs sotto_listen on this thread, calling the Python callbacks; see Client.listen_with."""
    raised: List[BaseException] = []

    def trampoline(_user_data: Any, event: Any) -> int:
        try:
            kind = lib.sotto_event_kind_of(event)
            if kind == lib.SOTTO_EVENT_MESSAGE and on_message is not None:
                go_on = on_message(_convert.message(lib.sotto_event_message(event)))
            elif kind == lib.SOTTO_EVENT_IDENTITY_NOTICE and on_notice is not None:
                go_on = on_notice(_convert.notice(lib.sotto_event_notice(event)))
            elif kind == lib.SOTTO_EVENT_RECEIPT and on_receipt is not None:
                go_on = on_receipt(_convert.message(lib.sotto_event_message(event)))
            else:
                go_on = None
            return 0 if go_on is False else 1
        except BaseException as e:  # noqa: B036 - even KeyboardInterrupt must not reach C
            raised.append(e)
            return 0

    # error=0: should anything escape the try above (it cannot), the listen ends.
    callback = ffi.callback("sotto_listen_callback", trampoline, error=0)
    with _convert.owned("sotto_sync_stats*", lib.sotto_sync_stats_free) as stats:
        try:
            _convert.call(lib.sotto_listen, handle, timeout_ms(timeout), callback, ffi.NULL,
                          stats.out)
        except SottoError:
            if raised:  # the app's exception is what ended the listen
                raise raised[0] from None
            raise
        finally:
            del callback  # kept alive until sotto_listen has returned
        if raised:
            raise raised[0]
        return _convert.sync_stats(stats.value) if stats.value != ffi.NULL else _convert.EMPTY_STATS


class _End:
    """Put on the queue when the listening thread is done."""

    def __init__(self, error: Optional[BaseException]) -> None:
        self.error = error


def _run(handle: Any, inbox: "queue.Queue[Any]", stopping: threading.Event,
         timeout: Optional[float]) -> None:
    """A MessageStream's thread: listens, putting each message, then an _End, on `inbox`."""

    def on_message(m: Message) -> bool:
        inbox.put(m)
        return not stopping.is_set()

    try:
        if not stopping.is_set():
            listen_with(handle, on_message, timeout, None)
        inbox.put(_End(None))
    except BaseException as e:  # noqa: B036 - handed to the consumer
        inbox.put(_End(e))


class MessageStream:
    """The iterator Client.listen returns: each new message, as it arrives.

    sotto_listen runs on a thread of its own and hands messages over a queue
    (each is already stored when it arrives), so the loop body may call the
    client, e.g. to reply. Leaving the loop early does not stop listening by
    itself: use ``with client.listen() as messages:`` or call close();
    dropping the stream (garbage collection) or Client.close() stops it too.
    """

    def __init__(self, handle: Any, timeout: Optional[float],
                 streams: "weakref.WeakSet[MessageStream]", lock: threading.Lock) -> None:
        """Internal: `streams` is the client's set of running ones, guarded by `lock`."""
        self._handle = handle
        self._inbox: "queue.Queue[Any]" = queue.Queue()
        self._stopping = threading.Event()
        self._streams = streams
        self._lock = lock
        self._done = False
        # The thread holds no reference to the stream, so an abandoned
        # stream is collected, and its __del__ stops the thread.
        self._thread = threading.Thread(
            target=_run, args=(handle, self._inbox, self._stopping, timeout),
            name="sotto-listen", daemon=True)
        streams.add(self)
        self._thread.start()

    def __iter__(self) -> "MessageStream":
        return self

    def __next__(self) -> Message:
        """The next message; StopIteration once listening ended (or raises its error)."""
        if self._done:
            raise StopIteration
        item = self._inbox.get()
        if isinstance(item, _End):
            self._done = True
            self.close()
            if item.error is not None:
                raise item.error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stops listening and waits for the thread. Idempotent."""
        with self._lock:
            if self in self._streams:  # else Client.close stopped it already
                self.stop_locked()
                self._streams.discard(self)

    def stop_locked(self) -> None:
        """Internal (the client's lock held, its handle open): ends the listen, joins the thread."""
        self._stopping.set()
        # The thread may not have entered sotto_listen yet when the first
        # stop comes (it stops only running listens): ask until it is gone.
        while self._thread.is_alive():
            _convert.call(lib.sotto_stop_listening, self._handle)
            self._thread.join(0.05)

    def __enter__(self) -> "MessageStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing to report to at collection time
            pass
