"""The values sotto.Client takes and returns (the mirror of sotto/types.h).

Plain, frozen dataclasses: copies of what the C library returned, so they
stay valid after the call and after the client is closed. Times are Unix
milliseconds (`*_ms`, as in the C and C++ APIs, nothing rounded); each has a
`datetime` property in UTC beside it. Text (message bodies, subjects, notes)
is `str`, decoded from UTF-8; bytes that are not UTF-8 (which only a
misbehaving sender could produce) become U+FFFD, as in `sotto read --json`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator, List, Optional, Tuple


def ms_to_datetime(ms: int) -> Optional[datetime]:
    """`ms` (Unix milliseconds) as an aware UTC datetime; None for 0 (no such time)."""
    if ms == 0:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


class Role(enum.IntEnum):
    """Who an account belongs to."""
    CLIENT = 1
    THERAPIST = 2


class MessageKind(enum.IntEnum):
    """A short text, or an email-style letter with a subject."""
    TEXT = 1
    LETTER = 2


class DeliveryState(enum.IntEnum):
    """Where an outgoing message is (incoming ones are always DELIVERED)."""
    SCHEDULED = 1  #: held by the server until server_time_ms (send later)
    SENT = 2  #: on the server, not yet on the recipient's device
    DELIVERED = 3  #: stored on a recipient device
    READ = 4  #: the recipient opened it (if they share read receipts)
    CANCELLED = 5  #: a scheduled message cancelled, or an unsent one discarded
    NOT_SENT = 6  #: kept on this device; the next send, sync or retry sends it
    FAILED = 7  #: refused for good on a retry; see Message.failure


class ConversationState(enum.IntEnum):
    """A conversation's place in a therapist's queue."""
    WAITING = 1
    ANSWERED = 2
    SNOOZED = 3
    CLOSED = 4


class NotificationMode(enum.IntEnum):
    """How the server mails this account (without content) when something waits."""
    OFF = 1
    EACH_MESSAGE = 2
    DIGEST = 3


class NoticeKind(enum.IntEnum):
    """What an IdentityNotice is about."""
    ACCEPTED = 1  #: no longer produced; kept for old apps
    HELD = 2  #: a contact's key changed: compare safety numbers, then accept


@dataclass(frozen=True)
class Message:
    """One message of a conversation, as this device knows it."""
    id: str  #: the sender's message id, 32 lowercase hex characters
    peer: str  #: the other party of the conversation (also for your own messages)
    outgoing: bool  #: True if this account sent it (this device or another of its devices)
    kind: MessageKind
    text: str  #: the text, or the letter's body
    subject: str  #: letters only ("" for a text)
    in_reply_to: str  #: letters: the id this answers ("" if none)
    thread_id: str  #: letters: the id of the thread's first letter
    server_time_ms: int  #: when the server took it; a scheduled one: when it is released
    sent_at_ms: int  #: the sender's own clock when written (informational)
    state: DeliveryState
    failure: str  #: NOT_SENT / FAILED: why the last attempt did not reach the server
    #: outgoing: the other device of this account that sent it (0: this device)
    from_device: int = 0

    @property
    def server_time(self) -> Optional[datetime]:
        return ms_to_datetime(self.server_time_ms)

    @property
    def is_letter(self) -> bool:
        return self.kind == MessageKind.LETTER


@dataclass(frozen=True)
class ReplyExpectation:
    """When a therapist's reply is due, from their published policy."""
    due_ms: int
    reply_window_minutes: int
    away_note: str  #: non-empty while the therapist is away before the reply is due
    away_until_ms: int
    emergency_note: str  #: the operator's reminder that Sotto is not for emergencies

    @property
    def due(self) -> Optional[datetime]:
        return ms_to_datetime(self.due_ms)


@dataclass(frozen=True)
class SendResult:
    """What a send stored, and for a client writing to a therapist when to expect a reply."""
    message: Message
    expectation: Optional[ReplyExpectation]


@dataclass(frozen=True)
class IdentityNotice:
    """Something about a contact's identity key the user must be shown (`text`)."""
    peer: str
    kind: NoticeKind
    text: str


@dataclass(frozen=True)
class SyncStats:
    """What a sync or a listen met."""
    received: int  #: new messages decrypted and stored
    duplicates: int  #: redelivered messages already stored (dropped)
    undecryptable: int  #: envelopes that could not be decrypted (dropped)
    held: int  #: envelopes left on the server: their sender's key is not trusted
    resent: int  #: unsent messages that went out with this sync
    maintenance_error: str  #: "" or why keeping this device's keys failed (retried)
    held_from: Tuple[str, ...]  #: senders of the held envelopes, sorted
    notices: Tuple[IdentityNotice, ...]
    #: senders of the undecryptable envelopes, sorted
    unreadable_from: Tuple[str, ...] = ()
    #: of the undecryptable, messages whose sender's app was asked to send them
    #: again (they come back with a later sync)
    asked_again: int = 0


@dataclass(frozen=True)
class Conversation:
    peer: str
    last_activity_ms: int  #: the newest message's server time
    message_count: int
    unread_count: int  #: incoming messages not yet read (read_conversation)
    preview: str  #: the start of the newest message
    last_outgoing: bool

    @property
    def last_activity(self) -> Optional[datetime]:
        return ms_to_datetime(self.last_activity_ms)


@dataclass(frozen=True)
class QueueEntry:
    """One client's conversation in a therapist's queue."""
    client: str
    state: ConversationState
    oldest_waiting_ms: int
    waiting_count: int
    last_reply_ms: int
    snoozed_until_ms: int
    due_ms: int
    overdue: bool
    claimed_by: str  #: "" if nobody claimed it

    @property
    def due(self) -> Optional[datetime]:
        return ms_to_datetime(self.due_ms)


@dataclass(frozen=True)
class Queue:
    """A therapist's queue: entries oldest waiting first; iterate it for the entries."""
    entries: Tuple[QueueEntry, ...]
    now_ms: int  #: the server's clock

    def __iter__(self) -> Iterator[QueueEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


@dataclass
class ResponsePolicy:
    """A therapist's response policy; the defaults are the library's."""
    time_zone: str = "UTC"  #: an IANA name
    working_days: List[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])  #: 1 = Monday
    day_start_minute: int = 9 * 60
    day_end_minute: int = 17 * 60
    reply_window_minutes: int = 8 * 60  #: working minutes
    away_from_ms: int = 0  #: [from, until); 0, 0 for none
    away_until_ms: int = 0
    away_note: str = ""


@dataclass(frozen=True)
class PolicyView:
    """A therapist's published policy as a linked reader sees it."""
    policy: ResponsePolicy
    emergency_note: str


@dataclass(frozen=True)
class Invite:
    """A therapist's invite: hand `code` over out of band (in person, on paper)."""
    code: str
    expires_at_ms: int


@dataclass(frozen=True)
class Draft:
    """A message being written, kept encrypted in the profile (Client.save_draft)."""
    id: str
    to: str
    kind: MessageKind
    subject: str
    body: str
    in_reply_to: str
    updated_ms: int  #: when it was last saved


@dataclass(frozen=True)
class InviteInfo:
    """One of a therapist's invites as the server keeps it (Client.list_invites)."""
    id: str
    code: str  #: "" unless this device created it
    created_ms: int
    expires_at_ms: int
    used: bool
    used_by: str  #: "" while unused
    used_ms: int  #: 0 while unused


@dataclass(frozen=True)
class Device:
    """One device of this account (Client.devices)."""
    device_id: int
    name: str  #: "" for the device that registered
    linked_at_ms: int  #: 0 when the server does not know
    last_seen_hour_ms: int  #: start of the hour of its last call; 0 if none
    this_device: bool


class HistoryStage(enum.IntEnum):
    """The stage of a history transfer to a newly linked device."""
    UPLOADING = 1  #: the existing device seals its history and uploads it
    DOWNLOADING = 2  #: the new device fetches the archive
    IMPORTING = 3  #: the new device checked all of it and adds its messages


@dataclass(frozen=True)
class HistoryProgress:
    """How far a history transfer has got (Client.link_device, Client.join)."""
    stage: HistoryStage
    messages: int  #: archived (UPLOADING) or added (IMPORTING) so far; 0 while downloading
    bytes: int  #: archive bytes uploaded or fetched so far
    total_bytes: int  #: the archive's size once known (DOWNLOADING, IMPORTING); else 0


@dataclass(frozen=True)
class JoinResult:
    """What Client.join brought over besides the client."""
    contacts: int  #: contacts whose trusted keys (and verifications) came over
    had_history: bool  #: the existing device sent its history
    history_messages: int  #: messages the history transfer added
    #: None, or why the history could not be added (the device is joined and
    #: usable all the same, without the archive's messages)
    history_error: Optional[str]


@dataclass(frozen=True)
class CareLink:
    peer: str
    active: bool
    since_ms: int
    ended_ms: int  #: 0 while active
    ended_by: str  #: "" while active


@dataclass(frozen=True)
class SafetyNumber:
    """A contact's safety number: compare `digits` with theirs in person or by video."""
    peer: str
    digits: str  #: 60 digits; show them as 12 groups of 5 (see `grouped`)
    scannable: bytes  #: raw bytes for a QR code
    verified: bool  #: the user marked this key compared
    changed: bool  #: the number is for a NEW key not accepted yet

    @property
    def grouped(self) -> str:
        """The digits in 12 groups of 5, as people read them to each other."""
        return " ".join(self.digits[i:i + 5] for i in range(0, len(self.digits), 5))


@dataclass(frozen=True)
class NotificationSettings:
    mode: NotificationMode
    email: str  #: "" when off
    digest_interval_minutes: int  #: 0 unless DIGEST
    server_sends_mail: bool  #: the server has an SMTP relay


@dataclass(frozen=True)
class ExportCheck:
    """What verify_export found in a clinical-record export (docs/RECORD.md)."""
    verified: bool  #: True if the export is exactly as signed
    problems: List[str]  #: one sentence per finding ("message ID (sent TIME) was altered", ...)
    signer: str  #: the signer's handle, as record.sig names them
    signer_fingerprint: str  #: their half of a safety number (30 digits in groups of 5)
