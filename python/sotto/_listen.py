"""Listening for incoming messages: the callback path and the generator path.

sotto_listen calls its callback on the thread that called it, with no
library lock held. A Python exception must never unwind into C: the callback
catches everything, stores it, returns 0 (which ends the listen), and the
exception is raised again from the Python call once sotto_listen returned.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterator, List, Optional, Set

from . import _convert
from ._ffi import ffi, lib
from .types import IdentityNotice, Message, SyncStats

OnMessage = Callable[[Message], Optional[bool]]
OnNotice = Callable[[IdentityNotice], Optional[bool]]


def timeout_ms(timeout: Optional[float]) -> int:
    """Seconds (None or <= 0: no idle timeout) as sotto_listen's milliseconds."""
    if timeout is None or timeout <= 0:
        return 0
    return max(1, int(timeout * 1000))


def listen_with(handle: Any, on_message: Optional[OnMessage], timeout: Optional[float],
                on_notice: Optional[OnNotice]) -> SyncStats:
    """Runs sotto_listen on this thread, calling the Python callbacks; see Client.listen_with."""
    raised: List[BaseException] = []

    def trampoline(_user_data: Any, event: Any) -> int:
        try:
            kind = lib.sotto_event_kind_of(event)
            if kind == lib.SOTTO_EVENT_MESSAGE and on_message is not None:
                go_on = on_message(_convert.message(lib.sotto_event_message(event)))
            elif kind == lib.SOTTO_EVENT_IDENTITY_NOTICE and on_notice is not None:
                go_on = on_notice(_convert.notice(lib.sotto_event_notice(event)))
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
        finally:
            del callback  # kept alive until sotto_listen has returned
        if raised:
            raise raised[0]
        return _convert.sync_stats(stats.value) if stats.value != ffi.NULL else _convert.EMPTY_STATS


class _End:
    """Put on the queue when the listening thread is done."""

    def __init__(self, error: Optional[BaseException]) -> None:
        self.error = error


class Listener:
    """One Client.listen generator's thread; Client.close stops it before freeing the handle."""

    def __init__(self, handle: Any, timeout: Optional[float]) -> None:
        self.handle = handle
        self.inbox: "queue.Queue[Any]" = queue.Queue()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(timeout,), name="sotto-listen",
                                       daemon=True)

    def _on_message(self, m: Message) -> bool:
        self.inbox.put(m)
        return not self.stopping.is_set()

    def _run(self, timeout: Optional[float]) -> None:
        try:
            if not self.stopping.is_set():
                listen_with(self.handle, self._on_message, timeout, None)
            self.inbox.put(_End(None))
        except BaseException as e:  # noqa: B036 - handed to the consumer
            self.inbox.put(_End(e))

    def stop(self) -> None:
        """Ends the listen and waits for the thread; the handle must still be open."""
        self.stopping.set()
        # The thread may not have entered sotto_listen yet when the first
        # stop comes (it stops only running listens): ask until it is gone.
        while self.thread.is_alive():
            _convert.call(lib.sotto_stop_listening, self.handle)
            self.thread.join(0.05)


def listen_iter(listener: Listener, listeners: Set[Listener],
                lock: threading.Lock) -> Iterator[Message]:
    """Yields each message `listener` (started, and in `listeners`) receives; see Client.listen.

    sotto_listen runs on the listener's thread and hands messages over a
    queue (they are already stored when they arrive). Leaving the loop early
    (break, an exception, or the generator being closed) stops the listen
    with sotto_stop_listening and waits for the thread. `listeners` is the
    client's set of running ones, which Client.close stops (under `lock`)
    before it frees the handle.
    """
    try:
        while True:
            item = listener.inbox.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        with lock:
            if listener in listeners:  # else Client.close stopped it already
                listener.stop()
                listeners.discard(listener)
