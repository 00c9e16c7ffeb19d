"""Between C and Python: status checks, strings, and copies of C result objects.

Every C object a call returns is copied into the dataclasses of types.py and
freed at once, in a `finally`, so no C memory outlives the call that made it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, List, Optional, Tuple, TypeVar, Union

from ._ffi import ffi, lib
from .errors import error_for
from .types import (CareLink, Device, Draft, InviteInfo, Conversation, ConversationState, DeliveryState, IdentityNotice,
                    Message, MessageKind, NoticeKind, NotificationMode, NotificationSettings,
                    PolicyView, Queue, QueueEntry, ReplyExpectation, ResponsePolicy, SafetyNumber,
                    SendResult, SyncStats)

T = TypeVar("T")
Text = Union[str, bytes]


def to_bytes(value: Text, what: str) -> bytes:
    """`value` as UTF-8 bytes (bytes pass through unchanged)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


def to_cstr(value: Text, what: str) -> bytes:
    """As to_bytes, for a NUL-terminated C string: an embedded NUL is refused."""
    data = to_bytes(value, what)
    if b"\0" in data:
        raise ValueError(f"{what} must not contain a NUL character")
    return data


def call(fn: Callable[..., int], *args: Any) -> None:
    """Calls `fn(*args, errmsg)`; raises the SottoError for a failure.

    The library writes *errmsg on every call (NULL on success); a message is
    freed with sotto_free_string whatever happens.
    """
    errmsg = ffi.new("char**")
    code = fn(*args, errmsg)
    message = take_string(errmsg[0])
    if code != 0:
        raise error_for(code, message or lib_status_name(code))


def lib_status_name(code: int) -> str:
    return ffi.string(lib.sotto_status_name(code)).decode()


def take_string(p: Any) -> str:
    """The C string at `p` (owned by us), decoded; frees it."""
    if p == ffi.NULL:
        return ""
    try:
        return ffi.string(p).decode("utf-8", "replace")
    finally:
        lib.sotto_free_string(p)


def s(p: Any) -> str:
    """A borrowed NUL-terminated string; "" for NULL."""
    return "" if p == ffi.NULL else ffi.string(p).decode("utf-8", "replace")


def sized(getter: Callable[..., Any], obj: Any) -> bytes:
    """A borrowed buffer with an explicit length (it may hold NUL bytes)."""
    length = ffi.new("size_t*")
    p = getter(obj, length)
    return b"" if p == ffi.NULL else ffi.buffer(p, length[0])[:]


def sized_text(getter: Callable[..., Any], obj: Any) -> str:
    return sized(getter, obj).decode("utf-8", "replace")


def owned(ptr_type: str, free: Callable[[Any], None]) -> "_Owned":
    return _Owned(ptr_type, free)


class _Owned:
    """An out-parameter `T**` whose object is freed when the `with` block ends."""

    def __init__(self, ptr_type: str, free: Callable[[Any], None]) -> None:
        self.out = ffi.new(ptr_type + "*")
        self._free = free

    def __enter__(self) -> "_Owned":
        return self

    @property
    def value(self) -> Any:
        return self.out[0]

    def __exit__(self, *exc: Any) -> None:
        if self.out[0] != ffi.NULL:
            self._free(self.out[0])
            self.out[0] = ffi.NULL


def items(count: Callable[[Any], int], get: Callable[[Any, int], Any], lst: Any) -> Iterator[Any]:
    for i in range(count(lst)):
        yield get(lst, i)


# ---- C objects to dataclasses ----

def message(m: Any) -> Message:
    return Message(
        id=s(lib.sotto_message_id(m)), peer=s(lib.sotto_message_peer(m)),
        outgoing=bool(lib.sotto_message_outgoing(m)),
        kind=_enum(MessageKind, lib.sotto_message_kind_of(m)),
        text=sized_text(lib.sotto_message_text, m),
        subject=sized_text(lib.sotto_message_subject, m),
        in_reply_to=s(lib.sotto_message_in_reply_to(m)),
        thread_id=s(lib.sotto_message_thread_id(m)),
        server_time_ms=lib.sotto_message_server_time_ms(m),
        sent_at_ms=lib.sotto_message_sent_at_ms(m),
        state=_enum(DeliveryState, lib.sotto_message_state(m)),
        failure=s(lib.sotto_message_failure(m)),
        from_device=lib.sotto_message_from_device(m))


def draft(d: Any) -> Draft:
    return Draft(
        id=s(lib.sotto_draft_id(d)), to=s(lib.sotto_draft_to(d)),
        kind=_enum(MessageKind, lib.sotto_draft_kind(d)),
        subject=s(lib.sotto_draft_subject(d)), body=sized_text(lib.sotto_draft_body, d),
        in_reply_to=s(lib.sotto_draft_in_reply_to(d)), updated_ms=lib.sotto_draft_updated_ms(d))


def invite_info(i: Any) -> InviteInfo:
    return InviteInfo(
        id=s(lib.sotto_invite_info_id(i)), code=s(lib.sotto_invite_info_code(i)),
        created_ms=lib.sotto_invite_info_created_ms(i),
        expires_at_ms=lib.sotto_invite_info_expires_at_ms(i),
        used=bool(lib.sotto_invite_info_used(i)), used_by=s(lib.sotto_invite_info_used_by(i)),
        used_ms=lib.sotto_invite_info_used_ms(i))


def message_list(lst: Any) -> List[Message]:
    return [message(m) for m in items(lib.sotto_message_list_count, lib.sotto_message_list_get, lst)]


def send_result(r: Any) -> SendResult:
    expectation: Optional[ReplyExpectation] = None
    if lib.sotto_send_result_has_expectation(r):
        expectation = ReplyExpectation(
            due_ms=lib.sotto_send_result_due_ms(r),
            reply_window_minutes=lib.sotto_send_result_reply_window_minutes(r),
            away_note=s(lib.sotto_send_result_away_note(r)),
            away_until_ms=lib.sotto_send_result_away_until_ms(r),
            emergency_note=s(lib.sotto_send_result_emergency_note(r)))
    return SendResult(message=message(lib.sotto_send_result_message(r)), expectation=expectation)


def notice(n: Any) -> IdentityNotice:
    return IdentityNotice(peer=s(lib.sotto_identity_notice_peer(n)),
                          kind=_enum(NoticeKind, lib.sotto_identity_notice_kind(n)),
                          text=s(lib.sotto_identity_notice_text(n)))


def sync_stats(st: Any) -> SyncStats:
    held_from = tuple(s(lib.sotto_sync_stats_held_from(st, i))
                      for i in range(lib.sotto_sync_stats_held_from_count(st)))
    unreadable_from = tuple(s(lib.sotto_sync_stats_unreadable_from(st, i))
                            for i in range(lib.sotto_sync_stats_unreadable_from_count(st)))
    notices = tuple(notice(n) for n in items(lib.sotto_sync_stats_notice_count,
                                             lib.sotto_sync_stats_notice, st))
    return SyncStats(received=lib.sotto_sync_stats_received(st),
                     duplicates=lib.sotto_sync_stats_duplicates(st),
                     undecryptable=lib.sotto_sync_stats_undecryptable(st),
                     held=lib.sotto_sync_stats_held(st), resent=lib.sotto_sync_stats_resent(st),
                     maintenance_error=s(lib.sotto_sync_stats_maintenance_error(st)),
                     held_from=held_from, notices=notices,
                     unreadable_from=unreadable_from,
                     asked_again=lib.sotto_sync_stats_asked_again(st))


EMPTY_STATS = SyncStats(0, 0, 0, 0, 0, "", (), ())


def conversation(c: Any) -> Conversation:
    return Conversation(peer=s(lib.sotto_conversation_peer(c)),
                        last_activity_ms=lib.sotto_conversation_last_activity_ms(c),
                        message_count=lib.sotto_conversation_message_count(c),
                        unread_count=lib.sotto_conversation_unread_count(c),
                        preview=sized_text(lib.sotto_conversation_preview, c),
                        last_outgoing=bool(lib.sotto_conversation_last_outgoing(c)))


def queue(q: Any) -> Queue:
    entries: Tuple[QueueEntry, ...] = tuple(
        QueueEntry(client=s(lib.sotto_queue_entry_client(e)),
                   state=_enum(ConversationState, lib.sotto_queue_entry_state(e)),
                   oldest_waiting_ms=lib.sotto_queue_entry_oldest_waiting_ms(e),
                   waiting_count=lib.sotto_queue_entry_waiting_count(e),
                   last_reply_ms=lib.sotto_queue_entry_last_reply_ms(e),
                   snoozed_until_ms=lib.sotto_queue_entry_snoozed_until_ms(e),
                   due_ms=lib.sotto_queue_entry_due_ms(e),
                   overdue=bool(lib.sotto_queue_entry_overdue(e)),
                   claimed_by=s(lib.sotto_queue_entry_claimed_by(e)))
        for e in items(lib.sotto_queue_count, lib.sotto_queue_get, q))
    return Queue(entries=entries, now_ms=lib.sotto_queue_now_ms(q))


def policy_view(p: Any) -> PolicyView:
    days = [lib.sotto_policy_working_day(p, i) for i in range(lib.sotto_policy_working_day_count(p))]
    policy = ResponsePolicy(time_zone=s(lib.sotto_policy_time_zone(p)), working_days=days,
                            day_start_minute=lib.sotto_policy_day_start_minute(p),
                            day_end_minute=lib.sotto_policy_day_end_minute(p),
                            reply_window_minutes=lib.sotto_policy_reply_window_minutes(p),
                            away_from_ms=lib.sotto_policy_away_from_ms(p),
                            away_until_ms=lib.sotto_policy_away_until_ms(p),
                            away_note=s(lib.sotto_policy_away_note(p)))
    return PolicyView(policy=policy, emergency_note=s(lib.sotto_policy_emergency_note(p)))


def c_policy(policy: ResponsePolicy) -> Any:
    """A new sotto_policy (freed by the garbage collector) holding `policy`."""
    p = ffi.gc(lib.sotto_policy_create(), lib.sotto_policy_free)
    lib.sotto_policy_set_time_zone(p, to_cstr(policy.time_zone, "time_zone"))
    days = ffi.new("int[]", list(policy.working_days))
    lib.sotto_policy_set_working_days(p, days, len(policy.working_days))
    lib.sotto_policy_set_day_minutes(p, policy.day_start_minute, policy.day_end_minute)
    lib.sotto_policy_set_reply_window_minutes(p, policy.reply_window_minutes)
    lib.sotto_policy_set_away(p, policy.away_from_ms, policy.away_until_ms,
                              to_cstr(policy.away_note, "away_note"))
    return p


def link(lk: Any) -> CareLink:
    return CareLink(peer=s(lib.sotto_link_peer(lk)), active=bool(lib.sotto_link_active(lk)),
                    since_ms=lib.sotto_link_since_ms(lk), ended_ms=lib.sotto_link_ended_ms(lk),
                    ended_by=s(lib.sotto_link_ended_by(lk)))


def device(d: Any) -> Device:
    return Device(device_id=lib.sotto_device_id(d), name=s(lib.sotto_device_name(d)),
                  linked_at_ms=lib.sotto_device_linked_at_ms(d),
                  last_seen_hour_ms=lib.sotto_device_last_seen_hour_ms(d),
                  this_device=bool(lib.sotto_device_is_this_device(d)))


def safety_number(sn: Any) -> SafetyNumber:
    return SafetyNumber(peer=s(lib.sotto_safety_number_peer(sn)),
                        digits=s(lib.sotto_safety_number_digits(sn)),
                        scannable=sized(lib.sotto_safety_number_scannable, sn),
                        verified=bool(lib.sotto_safety_number_verified(sn)),
                        changed=bool(lib.sotto_safety_number_changed(sn)))


def notification_settings(n: Any) -> NotificationSettings:
    return NotificationSettings(
        mode=_enum(NotificationMode, lib.sotto_notification_settings_mode(n)),
        email=s(lib.sotto_notification_settings_email(n)),
        digest_interval_minutes=lib.sotto_notification_settings_digest_interval_minutes(n),
        server_sends_mail=bool(lib.sotto_notification_settings_server_sends_mail(n)))


def _enum(cls: Any, value: int) -> Any:
    """`cls(value)`; an unknown value (a newer library) stays a plain int, as sotto.h asks."""
    try:
        return cls(int(value))
    except ValueError:
        return int(value)
