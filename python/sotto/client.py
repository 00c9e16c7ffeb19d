"""sotto.Client: one device of one account, over the C API (sotto.h)."""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple, Union

from . import _convert, _linking, _listen
from ._convert import Text, call, owned, to_bytes, to_cstr
from ._ffi import NO_DIGEST, ffi, lib
from .errors import ClientClosed, FailedPrecondition
from .types import (CareLink, Device, Conversation, Draft, ExportCheck, HistoryProgress, Invite, InviteInfo,
                    JoinResult, Message, MessageKind,
                    NotificationSettings, PolicyView, Queue, ResponsePolicy, Role, SafetyNumber,
                    SendResult, SyncStats)

# Clients not closed yet. At exit they are closed while threads still run:
# a listen stream's thread, called back into Python during interpreter
# finalization, would block forever and so would the close waiting for it.
_open_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()


@atexit.register
def _close_all_at_exit() -> None:
    for client in list(_open_clients):
        try:
            client.close()
        except Exception:  # noqa: BLE001 - exiting; nothing to report to
            pass


#: The library's default automatic lock: after 15 minutes without a call.
DEFAULT_AUTO_LOCK = timedelta(minutes=15)


def _ms(when: Optional[datetime]) -> int:
    """A point in time as Unix ms; None is 0 ("now" for a send). A naive datetime is local time."""
    return 0 if when is None else int(when.timestamp() * 1000)


def _duration_ms(d: Optional[timedelta]) -> int:
    """A duration as ms; None is 0 (off / the library's default, as the call says)."""
    return 0 if d is None else int(d.total_seconds() * 1000)


def _passphrase(p: Text) -> Any:
    data = to_bytes(p, "passphrase")
    return ffi.new("char[]", data), len(data)


class Client:
    """One device of one account (a person in therapy or a therapist).

    Create one with `Client.register` (a new profile) or `Client.open` (an
    existing one), and close it when done — best with ``with``::

        with sotto.Client.open("/path/to/profile", passphrase) as client:
            client.send_text("dr-rivera", "See you Thursday")

    Every failure raises a `sotto.SottoError` subclass carrying the status
    code and the library's message (see sotto.errors). After `close()` every
    call raises `sotto.ClientClosed`.

    Threads: a Client may be used from several threads at once (the library
    serializes local work and never holds its lock while waiting for the
    server). `close()` must not run while another thread is inside a call
    on this client, except a running listen, which it ends first.
    """

    def __init__(self, handle: Any) -> None:
        """Internal: use Client.register or Client.open."""
        # ffi.gc frees a client the app forgot to close when it is collected.
        self._handle: Any = ffi.gc(handle, lib.sotto_client_close)
        # Reentrant: a stream's __del__ (which takes it) may run inside close().
        self._lock = threading.RLock()
        # Running listen() streams, which close() ends before freeing the handle.
        self._streams: "weakref.WeakSet[_listen.MessageStream]" = weakref.WeakSet()
        self._in_callback = threading.local()
        self._handle_name = _convert.s(lib.sotto_client_handle(handle))
        #: Client.restore only: None, or why the new sessions could not go out.
        self.restore_network_error: Optional[str] = None
        _open_clients.add(self)

    # ---- opening and closing ----

    @classmethod
    def register(cls, profile_dir: str, server_address: str, handle: str, passphrase: Text, *,
                 role: Role = Role.CLIENT, enrolment_code: str = "", invite_code: str = "",
                 tls_ca_pem: str = "", tls_system_roots: bool = False, tls_crl_pem: str = "",
                 auto_lock_after: Optional[timedelta] = DEFAULT_AUTO_LOCK,
                 fast_key_derivation_for_tests: bool = False) -> "Client":
        """Creates a profile in `profile_dir` and registers the account `handle` with the server.

        A therapist (role=Role.THERAPIST) needs the `enrolment_code` the
        operator issued (`sotto-server enrol-therapist`); a client needs
        the `invite_code` their therapist gave them (registering links them).
        Without TLS (no `tls_ca_pem`, no `tls_system_roots`) only a loopback
        `server_address` is accepted. `auto_lock_after` None turns the
        automatic lock off. `fast_key_derivation_for_tests` weakens the
        passphrase stretching: for tests only.

        Raises InvalidArgument (bad handle, empty passphrase, missing code,
        non-loopback address without TLS), AlreadyExists (handle or profile
        taken), PermissionDenied (bad enrolment or invite code), Unavailable.
        On failure nothing is left in `profile_dir`.
        """
        o = ffi.gc(lib.sotto_register_options_create(), lib.sotto_register_options_destroy)
        lib.sotto_register_options_set_profile_dir(o, to_cstr(profile_dir, "profile_dir"))
        lib.sotto_register_options_set_server_address(o, to_cstr(server_address, "server_address"))
        lib.sotto_register_options_set_handle(o, to_cstr(handle, "handle"))
        lib.sotto_register_options_set_role(o, int(Role(role)))
        lib.sotto_register_options_set_passphrase(o, *_passphrase(passphrase))
        lib.sotto_register_options_set_enrolment_code(o, to_cstr(enrolment_code, "enrolment_code"))
        lib.sotto_register_options_set_invite_code(o, to_cstr(invite_code, "invite_code"))
        lib.sotto_register_options_set_tls_ca_pem(o, to_cstr(tls_ca_pem, "tls_ca_pem"))
        lib.sotto_register_options_set_tls_system_roots(o, int(tls_system_roots))
        lib.sotto_register_options_set_tls_crl_pem(o, to_cstr(tls_crl_pem, "tls_crl_pem"))
        lib.sotto_register_options_set_auto_lock_after_ms(o, _duration_ms(auto_lock_after))
        lib.sotto_register_options_set_fast_key_derivation_for_tests(
            o, int(fast_key_derivation_for_tests))
        out = ffi.new("sotto_client**")
        try:
            call(lib.sotto_client_register, o, out)
        finally:
            ffi.release(o)  # now, not at collection: the options hold the passphrase
        return cls(out[0])

    @classmethod
    def open(cls, profile_dir: str, passphrase: Text, *, server_address: str = "",
             tls_ca_pem: str = "", tls_system_roots: bool = False, tls_crl_pem: str = "",
             auto_lock_after: Optional[timedelta] = DEFAULT_AUTO_LOCK) -> "Client":
        """Opens the profile in `profile_dir`; does not contact the server.

        `server_address` and the TLS settings override the ones recorded at
        registration (empty keeps them); `tls_crl_pem` is stored (merged).
        Raises PermissionDenied for a wrong passphrase (nothing changes),
        NotFound when the directory holds no profile, InvalidArgument for a
        non-loopback address without TLS, FailedPrecondition when the
        profile is open in another client.
        """
        o = ffi.gc(lib.sotto_open_options_create(), lib.sotto_open_options_destroy)
        lib.sotto_open_options_set_profile_dir(o, to_cstr(profile_dir, "profile_dir"))
        lib.sotto_open_options_set_passphrase(o, *_passphrase(passphrase))
        lib.sotto_open_options_set_server_address(o, to_cstr(server_address, "server_address"))
        lib.sotto_open_options_set_tls_ca_pem(o, to_cstr(tls_ca_pem, "tls_ca_pem"))
        lib.sotto_open_options_set_tls_system_roots(o, int(tls_system_roots))
        lib.sotto_open_options_set_tls_crl_pem(o, to_cstr(tls_crl_pem, "tls_crl_pem"))
        lib.sotto_open_options_set_auto_lock_after_ms(o, _duration_ms(auto_lock_after))
        out = ffi.new("sotto_client**")
        try:
            call(lib.sotto_client_open, o, out)
        finally:
            ffi.release(o)  # now, not at collection: the options hold the passphrase
        return cls(out[0])

    @classmethod
    def restore(cls, backup_path: str, recovery_key: str, profile_dir: str, passphrase: Text, *,
                fast_key_derivation_for_tests: bool = False) -> "Client":
        """Restores a backup (Client.backup) into the NEW directory `profile_dir`.

        The whole file is checked before anything is written: PermissionDenied
        for a wrong recovery key, DataLoss for a truncated or damaged file (the
        message names which), AlreadyExists for a directory holding a profile;
        no profile is created then. New sessions with the contacts are started
        (docs/BACKUP.md); when that could not reach the server the profile is
        restored all the same and the returned client's
        `restore_network_error` says why (None when it went out).
        """
        out = ffi.new("sotto_client**")
        network_error = ffi.new("char**")
        call(lib.sotto_restore2, to_cstr(backup_path, "backup_path"),
             to_cstr(recovery_key, "recovery_key"), to_cstr(profile_dir, "profile_dir"),
             *_passphrase(passphrase), int(fast_key_derivation_for_tests), out, network_error)
        client = cls(out[0])
        client.restore_network_error = _convert.take_string(network_error[0]) or None
        return client

    @classmethod
    def join(cls, profile_dir: str, server_address: str, code: str, passphrase: Text, *,
             device_name: str = "", receive_history: bool = True,
             on_history_progress: Optional[Callable[[HistoryProgress], None]] = None,
             wait_at_most: Optional[timedelta] = None, tls_ca_pem: str = "",
             tls_system_roots: bool = False,
             auto_lock_after: Optional[timedelta] = DEFAULT_AUTO_LOCK,
             fast_key_derivation_for_tests: bool = False) -> Tuple["Client", JoinResult]:
        """Joins an existing account as a new device, with the `code` it shows (link_device).

        Makes a profile in the NEW directory `profile_dir` under `passphrase`
        (this device's own), waits for the existing device's answer (at most
        `wait_at_most`, default 10 minutes), then fetches and adds the history
        it sent (unless `receive_history` is False), calling
        `on_history_progress` as it goes. Returns the open client and what
        came over; a history that could not be added does not fail the join
        (JoinResult.history_error). Raises InvalidArgument (mistyped code,
        bad device name or address), AlreadyExists (a profile is there),
        NotFound (code unknown, used or expired), DataLoss (the answer does
        not open with the code), DeadlineExceeded (no answer in time); no
        profile is left then.
        """
        o = ffi.gc(lib.sotto_join_options_create(), lib.sotto_join_options_destroy)
        lib.sotto_join_options_set_code(o, to_cstr(code, "code"))
        lib.sotto_join_options_set_device_name(o, to_cstr(device_name, "device_name"))
        lib.sotto_join_options_set_profile_dir(o, to_cstr(profile_dir, "profile_dir"))
        lib.sotto_join_options_set_passphrase(o, *_passphrase(passphrase))
        lib.sotto_join_options_set_server_address(o, to_cstr(server_address, "server_address"))
        lib.sotto_join_options_set_tls_ca_pem(o, to_cstr(tls_ca_pem, "tls_ca_pem"))
        lib.sotto_join_options_set_tls_system_roots(o, int(tls_system_roots))
        lib.sotto_join_options_set_auto_lock_after_ms(o, _duration_ms(auto_lock_after))
        lib.sotto_join_options_set_wait_at_most_ms(o, _duration_ms(wait_at_most))
        lib.sotto_join_options_set_receive_history(o, int(receive_history))
        lib.sotto_join_options_set_fast_key_derivation_for_tests(
            o, int(fast_key_derivation_for_tests))
        try:
            raw, result = _linking.join(o, on_history_progress)
        finally:
            ffi.release(o)  # now, not at collection: the options hold the passphrase and code
        return cls(raw), result

    def link_device(self, on_code: Callable[[str, datetime], None], *, include_history: bool = True,
                    timeout: Optional[float] = None,
                    on_history_progress: Optional[Callable[[HistoryProgress], None]] = None,
                    cancelled: Optional[Callable[[], bool]] = None) -> None:
        """Links a new device to this account; blocks until it has the keys (or gives up).

        `on_code(code, expires_at)` is called once with the one-time code to
        show (as text and as a QR code of the same text; show it to no one
        else): the new device runs Client.join (or `sotto init --link CODE`)
        with it. With `include_history` this device's history goes along,
        end-to-end encrypted, through the server (`on_history_progress` shows
        the upload). `cancelled()` is asked about every half second while
        waiting; True gives up (Cancelled). `timeout` seconds (None: until the
        code expires, 10 minutes) gives up with DeadlineExceeded. Either way
        the code stops working. PermissionDenied, nothing sent, when the
        answer was not made with this code. An exception raised by a
        callback gives up the linking and is raised here.
        """
        _linking.link_device(self._raw(), on_code, include_history, timeout, on_history_progress,
                             cancelled)

    def backup(self, out_path: str) -> str:
        """Writes the whole profile into the new file `out_path`, encrypted; returns the
        recovery key (40 digits). Show it once and tell the user to write it down:
        it is stored nowhere. AlreadyExists if `out_path` exists.
        """
        key = ffi.new("char**")
        call(lib.sotto_backup, self._raw(), to_cstr(out_path, "out_path"), key)
        return _convert.take_string(key[0])

    def set_auto_backup(self, directory: str, every_seconds: int = 86400, keep: int = 7,
                        new_recovery_key: bool = False) -> Optional[str]:
        """Turns automatic backups on (or changes them): written to `directory` whenever
        the profile is used and the last one is at least `every_seconds` old, keeping the
        newest `keep`. Returns a new recovery key (show it once; it opens every automatic
        backup and is stored nowhere) the first time or with `new_recovery_key`, else None.
        """
        key = ffi.new("char**")
        call(lib.sotto_set_auto_backup, self._raw(), to_cstr(directory, "directory"),
             every_seconds, keep, 1 if new_recovery_key else 0, key)
        return _convert.take_string(key[0]) if key[0] != ffi.NULL else None

    def disable_auto_backup(self) -> None:
        """Turns automatic backups off (the files written stay)."""
        call(lib.sotto_disable_auto_backup, self._raw())

    def backup_if_due(self) -> str:
        """Writes an automatic backup now if one is due: its path, or "" if none was due."""
        path = ffi.new("char**")
        call(lib.sotto_backup_if_due, self._raw(), path)
        return _convert.take_string(path[0])

    def close(self) -> None:
        """Ends any listen on this client, closes the profile and frees the handle.

        Idempotent. Must not be called from inside a listen callback (raises
        FailedPrecondition there: return False from the callback instead).
        """
        if getattr(self._in_callback, "active", False):
            raise FailedPrecondition(
                "close() was called from inside a listen callback; return False to stop "
                "listening, then close the client")
        with self._lock:
            if self._handle is None:
                return
            for stream in list(self._streams):
                stream.stop_locked()
            self._streams.clear()
            handle, self._handle = self._handle, None
            ffi.release(handle)  # runs sotto_client_close now

    @property
    def closed(self) -> bool:
        """True once close() ran (or the ``with`` block ended)."""
        return self._handle is None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"device {self.device_id}"
        return f"<sotto.Client {self._handle_name!r} {state}>"

    def _raw(self) -> Any:
        handle = self._handle
        if handle is None:
            raise ClientClosed(f"the client of {self._handle_name} is closed")
        return handle

    # ---- who this is ----

    @property
    def handle(self) -> str:
        """This account's handle (also after close)."""
        return self._handle_name

    @property
    def device_id(self) -> int:
        """This device's number within the account."""
        return int(lib.sotto_client_device_id(self._raw()))

    @property
    def role(self) -> Role:
        """Role.CLIENT (a person in therapy) or Role.THERAPIST."""
        return Role(lib.sotto_client_role(self._raw()))

    @property
    def server_address(self) -> str:
        """The server this client talks to (the one given to open, else the registered one)."""
        return _convert.s(lib.sotto_client_server_address(self._raw()))

    # ---- locking ----

    def lock(self) -> None:
        """Wipes the keys from memory; later calls raise FailedPrecondition until unlock()."""
        call(lib.sotto_client_lock, self._raw())

    def unlock(self, passphrase: Text) -> None:
        """Reopens the store. Raises PermissionDenied for a wrong passphrase (still locked)."""
        call(lib.sotto_client_unlock, self._raw(), *_passphrase(passphrase))

    @property
    def locked(self) -> bool:
        """True while locked (also after the automatic lock)."""
        out = ffi.new("int*")
        call(lib.sotto_client_is_locked, self._raw(), out)
        return bool(out[0])

    def note_activity(self) -> None:
        """Counts as a call for the automatic lock (the person acted without needing the
        client: scrolled, clicked). Raises FailedPrecondition while locked."""
        call(lib.sotto_client_note_activity, self._raw())

    # ---- sending ----

    def _send(self, fn: Any, *args: Any) -> SendResult:
        with owned("sotto_send_result*", lib.sotto_send_result_free) as r:
            call(fn, self._raw(), *args, r.out)
            return _convert.send_result(r.value)

    def send_text(self, to: str, text: Text, *, deliver_at: Optional[datetime] = None) -> SendResult:
        """Sends `text` (1..4,096 bytes of UTF-8) to `to`, end-to-end encrypted.

        `deliver_at` in the future: the server holds it until then (cancel
        with cancel_scheduled). Raises InvalidArgument (empty or too long),
        NotFound (no such user), PermissionDenied (no care link),
        FailedPrecondition (their identity key changed: verify first;
        nothing sent), Unavailable (kept as DeliveryState.NOT_SENT and sent
        by the next send, sync or retry_unsent).
        """
        data = to_bytes(text, "text")
        return self._send(lib.sotto_send_text, to_cstr(to, "to"), data, len(data), _ms(deliver_at))

    def send_letter(self, to: str, subject: Text, body: Text, *,
                    deliver_at: Optional[datetime] = None) -> SendResult:
        """Sends a letter (subject 1..200 bytes, body 1..48 KiB) starting a thread; as send_text."""
        subj, data = to_bytes(subject, "subject"), to_bytes(body, "body")
        return self._send(lib.sotto_send_letter, to_cstr(to, "to"), subj, len(subj), data,
                          len(data), _ms(deliver_at))

    def reply(self, id_prefix: str, body: Text, *,
              deliver_at: Optional[datetime] = None) -> SendResult:
        """Answers the message whose id starts with `id_prefix` (>= 6 hex characters).

        A letter gets a letter in its thread ("Re: " + subject), a text a
        text. Raises InvalidArgument if the prefix matches several, NotFound
        if none; otherwise as send_text.
        """
        data = to_bytes(body, "body")
        return self._send(lib.sotto_reply, to_cstr(id_prefix, "id_prefix"), data, len(data),
                          _ms(deliver_at))

    def send_to_care_team(self, text: Text, *,
                          deliver_at: Optional[datetime] = None) -> List[SendResult]:
        """A client writes to every therapist of their care team (one message each).

        Raises FailedPrecondition if not a client or without an active link;
        on a partial failure the error names who got it and who did not.
        """
        data = to_bytes(text, "text")
        with owned("sotto_send_result_list*", lib.sotto_send_result_list_free) as r:
            call(lib.sotto_send_to_care_team, self._raw(), data, len(data), _ms(deliver_at), r.out)
            return [_convert.send_result(x) for x in _convert.items(
                lib.sotto_send_result_list_count, lib.sotto_send_result_list_get, r.value)]

    def cancel_scheduled(self, id_prefix: str) -> None:
        """Cancels a scheduled message (or discards an unsent one), found by id prefix.

        Raises NotFound if it was already released, InvalidArgument for a
        message someone else sent.
        """
        call(lib.sotto_cancel_scheduled, self._raw(), to_cstr(id_prefix, "id_prefix"))

    def retry_unsent(self) -> int:
        """Sends every NOT_SENT / FAILED message, oldest first; returns how many the server took."""
        sent = ffi.new("int*")
        call(lib.sotto_retry_unsent, self._raw(), sent)
        return int(sent[0])

    # ---- receiving ----

    def sync(self) -> SyncStats:
        """Fetches, decrypts and stores everything waiting for this device; returns what it met."""
        with owned("sotto_sync_stats*", lib.sotto_sync_stats_free) as st:
            call(lib.sotto_sync, self._raw(), st.out)
            return _convert.sync_stats(st.value)

    def listen(self, timeout: Optional[float] = None) -> _listen.MessageStream:
        """Starts listening; iterate the result for each new message (the backlog first).

        Each message is already stored when it comes. The iteration ends
        when `timeout` seconds pass without a new message after the backlog
        (None: never), when the stream or the client is closed, or with an
        error raised from the loop (e.g. Unavailable when the network
        vanished: listen again)::

            with client.listen(timeout=30) as messages:
                for message in messages:
                    print(message.peer, message.text)

        The listen runs on a thread of its own, so the loop body may call
        this client (e.g. reply). Leaving the ``with`` block stops it.
        """
        with self._lock:
            return _listen.MessageStream(self._raw(), timeout, self._streams, self._lock)

    def listen_with(self, on_message: Optional[_listen.OnMessage], timeout: Optional[float] = None,
                    on_notice: Optional[_listen.OnNotice] = None,
                    on_receipt: Optional[_listen.OnReceipt] = None) -> SyncStats:
        """Listens on this thread, calling `on_message(message)` for each new message.

        A callback returning False stops listening (None or True go on).
        `on_notice(notice)` is called for each identity notice met (a
        contact's key changed: their messages are held), as it arrives.
        `on_receipt(message)` is called when a receipt moves one of our sent
        messages: `message` is it as now stored, its ``state`` DELIVERED or
        READ. Each callback runs after what it reports is stored, in arrival
        order. The callbacks may call this client (e.g. reply), but not
        close() or listen. If a callback raises, listening stops and the
        exception propagates from listen_with (it never reaches the C
        library). Returns when stopped,
        after `timeout` seconds without a message (None: never), or when
        stop_listening is called from another thread.
        """
        self._in_callback.active = True
        try:
            return _listen.listen_with(self._raw(), on_message, timeout, on_notice, on_receipt)
        finally:
            self._in_callback.active = False

    def stop_listening(self) -> None:
        """Ends every listen on this client now, from any thread."""
        call(lib.sotto_stop_listening, self._raw())

    # ---- conversations and history ----

    def conversations(self) -> List[Conversation]:
        """Conversations, newest activity first. Works offline."""
        with owned("sotto_conversation_list*", lib.sotto_conversation_list_free) as r:
            call(lib.sotto_list_conversations, self._raw(), r.out)
            return [_convert.conversation(c) for c in _convert.items(
                lib.sotto_conversation_list_count, lib.sotto_conversation_list_get, r.value)]

    def read_conversation(self, peer: str) -> List[Message]:
        """Every message with `peer`, oldest first, and marks them read. NotFound if none."""
        return list(self.history(peer))

    def send_pending_receipts(self) -> None:
        """Sends the receipts waiting to go out (e.g. read receipts read_conversation queued) now.

        Best effort: what the server cannot take now stays queued for the
        next sync. Call it after showing a conversation, so the sender sees
        it read at once.
        """
        call(lib.sotto_send_pending_receipts, self._raw())

    def history(self, peer: str) -> Iterator[Message]:
        """Iterates over every message with `peer`, oldest first (as read_conversation).

        The conversation is read (and marked read) at the call; the C list
        is freed when the iteration ends or the iterator is dropped.
        """
        out = ffi.new("sotto_message_list**")
        call(lib.sotto_read_conversation, self._raw(), to_cstr(peer, "peer"), out)
        # Freed when the iteration ends, or when an iterator never run is collected.
        return _history_iter(ffi.gc(out[0], lib.sotto_message_list_free))

    def list_scheduled(self) -> List[Message]:
        """This device's send-later messages still held by the server, soonest first."""
        with owned("sotto_message_list*", lib.sotto_message_list_free) as r:
            call(lib.sotto_list_scheduled, self._raw(), r.out)
            return _convert.message_list(r.value)

    def export_record(self, peer: str, out_dir: str, *, start: Optional[datetime] = None,
                      end: Optional[datetime] = None) -> int:
        """Exports the conversation with `peer` into the new directory `out_dir`.

        record.json, record.html and record.sig, signed with this account's
        identity key, from the local history (nothing goes to the server);
        messages the server took in [start, end). Returns how many were
        exported. AlreadyExists if out_dir holds an export. docs/RECORD.md.
        """
        count = ffi.new("size_t*")
        call(lib.sotto_export_record, self._raw(), to_cstr(peer, "peer"),
             to_cstr(out_dir, "out_dir"), _ms(start), _ms(end), count)
        return int(count[0])

    # ---- drafts (kept encrypted in the profile, never sent) ----

    def save_draft(self, body: Text, *, id: str = "", to: str = "",
                   kind: MessageKind = MessageKind.TEXT, subject: Text = "",
                   in_reply_to: str = "") -> Draft:
        """Saves a draft (a new id when `id` is empty); returns it as stored.

        InvalidArgument names a field that is too long or malformed. Delete
        it with delete_draft once the message is sent.
        """
        data = to_bytes(body, "body")
        with owned("sotto_draft*", lib.sotto_draft_free) as r:
            call(lib.sotto_save_draft, self._raw(), to_cstr(id, "id"), to_cstr(to, "to"),
                 int(kind), to_cstr(subject, "subject"), data, len(data),
                 to_cstr(in_reply_to, "in_reply_to"), r.out)
            return _convert.draft(r.value)

    def list_drafts(self) -> List[Draft]:
        """Every draft, the most recently saved first."""
        with owned("sotto_draft_list*", lib.sotto_draft_list_free) as r:
            call(lib.sotto_list_drafts, self._raw(), r.out)
            return [_convert.draft(x) for x in _convert.items(
                lib.sotto_draft_list_count, lib.sotto_draft_list_get, r.value)]

    def delete_draft(self, id: str) -> None:
        """Deletes the draft `id`. NotFound if there is none."""
        call(lib.sotto_delete_draft, self._raw(), to_cstr(id, "id"))

    # ---- the therapist's queue ----

    def queue(self, include_all: bool = False) -> Queue:
        """The therapist's queue, oldest waiting first; `include_all` adds answered and closed.

        Raises PermissionDenied for a client.
        """
        with owned("sotto_queue*", lib.sotto_queue_free) as r:
            call(lib.sotto_queue_list, self._raw(), int(include_all), r.out)
            return _convert.queue(r.value)

    def snooze(self, client: str, until: datetime) -> None:
        """Snoozes `client`'s conversation until `until` (InvalidArgument if in the past)."""
        call(lib.sotto_queue_snooze, self._raw(), to_cstr(client, "client"), _ms(until))

    def close_conversation(self, client: str) -> None:
        """Closes `client`'s conversation in the queue (NotFound if it has no entry)."""
        call(lib.sotto_queue_close, self._raw(), to_cstr(client, "client"))

    def claim(self, client: str) -> None:
        """Claims `client`'s conversation for this therapist (in a shared care team)."""
        call(lib.sotto_queue_claim, self._raw(), to_cstr(client, "client"))

    # ---- response policy ----

    def set_policy(self, policy: ResponsePolicy) -> None:
        """A therapist publishes their response policy. InvalidArgument names a bad field."""
        p = _convert.c_policy(policy)
        try:
            call(lib.sotto_set_policy, self._raw(), p)
        finally:
            ffi.release(p)

    def get_policy(self, therapist: str) -> PolicyView:
        """`therapist`'s published policy. NotFound if none; PermissionDenied without a link."""
        with owned("sotto_policy*", lib.sotto_policy_free) as r:
            call(lib.sotto_get_policy, self._raw(), to_cstr(therapist, "therapist"), r.out)
            return _convert.policy_view(r.value)

    # ---- invites and care links ----

    def create_invite(self, valid_for: Optional[timedelta] = None) -> Invite:
        """A therapist creates an invite (valid 7 days unless `valid_for`).

        Hand the code over out of band (in person, on paper, by phone),
        never through Sotto: it commits to this device's identity key.
        """
        code = ffi.new("char**")
        expires = ffi.new("int64_t*")
        call(lib.sotto_create_invite, self._raw(), _duration_ms(valid_for), code, expires)
        return Invite(code=_convert.take_string(code[0]), expires_at_ms=int(expires[0]))

    def accept_invite(self, code: str) -> str:
        """A registered client links with the therapist whose invite `code` is; returns them.

        Raises InvalidArgument for a malformed code (nothing sent),
        FailedPrecondition if the therapist's known key does not match it.
        """
        therapist = ffi.new("char**")
        call(lib.sotto_accept_invite, self._raw(), to_cstr(code, "code"), therapist)
        return _convert.take_string(therapist[0])

    def list_invites(self) -> List[InviteInfo]:
        """A therapist's own invites, newest first, with whether each was used.

        `code` is filled in for invites this device created. PermissionDenied
        for a client.
        """
        with owned("sotto_invite_list*", lib.sotto_invite_list_free) as r:
            call(lib.sotto_list_invites, self._raw(), r.out)
            return [_convert.invite_info(x) for x in _convert.items(
                lib.sotto_invite_list_count, lib.sotto_invite_list_get, r.value)]

    def links(self) -> List[CareLink]:
        """This account's care links, active and ended."""
        with owned("sotto_link_list*", lib.sotto_link_list_free) as r:
            call(lib.sotto_list_links, self._raw(), r.out)
            return [_convert.link(x) for x in _convert.items(
                lib.sotto_link_list_count, lib.sotto_link_list_get, r.value)]

    def end_link(self, peer: str) -> None:
        """Ends the care link with `peer`. NotFound if there is no active one."""
        call(lib.sotto_end_link, self._raw(), to_cstr(peer, "peer"))

    # ---- this account's devices ----

    def devices(self) -> List[Device]:
        """This account's devices, ascending by id, as the server lists them."""
        with owned("sotto_device_list*", lib.sotto_device_list_free) as r:
            call(lib.sotto_list_devices, self._raw(), r.out)
            return [_convert.device(x) for x in _convert.items(
                lib.sotto_device_list_count, lib.sotto_device_list_get, r.value)]

    def remove_device(self, device_id: int) -> None:
        """Removes a device of this account: its credentials stop working at once.

        NotFound for no such device; FailedPrecondition for the account's only device.
        """
        call(lib.sotto_remove_device, self._raw(), device_id)

    # ---- identity verification ----

    def safety_number(self, peer: str) -> SafetyNumber:
        """The safety number with `peer` (for the pending key if it changed). Works offline.

        Compare its digits with `peer` in person or by video; then
        mark_verified (same key) or accept_identity_change (a changed one).
        NotFound if no key of `peer` is known yet.
        """
        with owned("sotto_safety_number*", lib.sotto_safety_number_free) as r:
            call(lib.sotto_safety_number_get, self._raw(), to_cstr(peer, "peer"), r.out)
            return _convert.safety_number(r.value)

    def mark_verified(self, peer: str) -> None:
        """Records that the user compared `peer`'s safety number for the trusted key."""
        call(lib.sotto_mark_verified, self._raw(), to_cstr(peer, "peer"))

    def accept_identity_change(self, peer: str, safety_number: str) -> None:
        """Trusts `peer`'s new key, only if `safety_number` is the pending key's number.

        FailedPrecondition (nothing changes) if it is not or no change is
        pending; InvalidArgument if it is not 60 digits (spaces allowed).
        """
        call(lib.sotto_accept_identity_change, self._raw(), to_cstr(peer, "peer"),
             to_cstr(safety_number, "safety_number"))

    # ---- settings ----

    @property
    def read_receipts(self) -> bool:
        """Whether this device tells senders it read their messages (default True)."""
        out = ffi.new("int*")
        call(lib.sotto_get_read_receipts, self._raw(), out)
        return bool(out[0])

    @read_receipts.setter
    def read_receipts(self, enabled: bool) -> None:
        call(lib.sotto_set_read_receipts, self._raw(), int(enabled))

    def set_email_notifications(self, email: str, digest: Union[bool, timedelta] = False
                                ) -> NotificationSettings:
        """Content-free email notifications to `email`.

        `digest` False: a mail when something waits; True: a digest at the
        server's default interval (1 hour); a timedelta (15 minutes to 7
        days): a digest that often. Digests are for therapists
        (PermissionDenied for a client). InvalidArgument names a bad email
        or interval; FailedPrecondition if the server sends no mail.
        """
        if digest is False:
            interval = NO_DIGEST
        elif digest is True:
            interval = 0
        else:
            interval = _duration_ms(digest)
        with owned("sotto_notification_settings*", lib.sotto_notification_settings_free) as r:
            call(lib.sotto_set_email_notifications, self._raw(), to_cstr(email, "email"),
                 interval, r.out)
            return _convert.notification_settings(r.value)

    def disable_notifications(self) -> None:
        """Turns notifications off; the server deletes the address."""
        call(lib.sotto_disable_notifications, self._raw())

    def notification_settings(self) -> NotificationSettings:
        """This account's notification setting as the server holds it."""
        with owned("sotto_notification_settings*", lib.sotto_notification_settings_free) as r:
            call(lib.sotto_get_notification_settings, self._raw(), r.out)
            return _convert.notification_settings(r.value)

    # ---- passphrase and account ----

    def change_passphrase(self, old: Text, new: Text) -> None:
        """Re-protects the profile under `new`. PermissionDenied if `old` is wrong."""
        call(lib.sotto_change_passphrase, self._raw(), *_passphrase(old), *_passphrase(new))

    def delete_account(self, confirm_handle: str) -> None:
        """Deletes the account on the server, then wipes this profile.

        `confirm_handle` must be this account's handle (InvalidArgument,
        nothing sent, otherwise). Afterwards every call raises
        FailedPrecondition: close the client.
        """
        call(lib.sotto_delete_account, self._raw(), to_cstr(confirm_handle, "confirm_handle"))


def _history_iter(lst: Any) -> Iterator[Message]:
    try:
        for m in _convert.items(lib.sotto_message_list_count, lib.sotto_message_list_get, lst):
            yield _convert.message(m)
    finally:
        ffi.release(lst)


@contextlib.contextmanager
def background_calls() -> Iterator[None]:
    """Within it, the calls this thread makes on any Client do not count as activity for
    the automatic lock: wrap an app's own background refreshes, so that a screen left
    open still locks. Nests."""
    lib.sotto_background_calls_begin()
    try:
        yield
    finally:
        lib.sotto_background_calls_end()


def check_passphrase_strength(passphrase: Text, user_inputs: Sequence[str] = ()) -> None:
    """Raises InvalidArgument, with a reason for the person, if `passphrase` is easy to guess.

    `user_inputs`: words about the user an attacker tries first (the
    handle). Needs no client. The rule is `sotto init`'s (docs/CLI.md).
    """
    data, length = _passphrase(passphrase)
    words = [ffi.new("char[]", to_cstr(w, "user_inputs")) for w in user_inputs]
    array = ffi.new("const char*[]", words) if words else ffi.NULL
    call(lib.sotto_check_passphrase_strength, data, length, array, len(words))


def preview_due(policy: ResponsePolicy, sent_at: datetime) -> datetime:
    """When a reply to a message sent at `sent_at` would be due under `policy`.

    The server's own computation; needs no client. InvalidArgument names
    the policy's bad field.
    """
    p = _convert.c_policy(policy)
    due = ffi.new("int64_t*")
    try:
        call(lib.sotto_preview_due, p, _ms(sent_at), due)
    finally:
        ffi.release(p)
    return datetime.fromtimestamp(due[0] / 1000, tz=timezone.utc)


def verify_export(directory: str) -> ExportCheck:
    """Checks a clinical-record export (Client.export_record); needs no client.

    Raises NotFound when the directory holds no export, DataLoss when its
    files are not the format; otherwise the findings are in the result.
    """
    verified = ffi.new("int*")
    problems, signer, fingerprint = ffi.new("char**"), ffi.new("char**"), ffi.new("char**")
    call(lib.sotto_verify_export, to_cstr(directory, "directory"), verified, problems, signer,
         fingerprint)
    text = _convert.take_string(problems[0])
    return ExportCheck(verified=bool(verified[0]), problems=text.split("\n") if text else [],
                       signer=_convert.take_string(signer[0]),
                       signer_fingerprint=_convert.take_string(fingerprint[0]))


def parse_invite_code(typed: str) -> bool:
    """Checks a typed invite code without the server; True if it carries a key commitment.

    Raises InvalidArgument for a malformed code.
    """
    has = ffi.new("int*")
    call(lib.sotto_parse_invite_code, to_cstr(typed, "code"), has)
    return bool(has[0])
