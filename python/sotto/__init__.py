"""Sotto for Python: end-to-end encrypted messaging for teletherapy.

A Pythonic layer over the Sotto C API (client-lib/include/sotto/sotto.h),
loaded with cffi in ABI mode: no compiler is needed, only the shared library
libsotto (found through SOTTO_LIBRARY, a build tree beside this package, or
the system's library path).

    import sotto

    with sotto.Client.open("/home/sam/.sotto", passphrase) as client:
        client.sync()
        for message in client.history("dr-rivera"):
            print(message.text)

See docs/EMBEDDING.md ("Python") for a first exchange.
"""

from ._ffi import LIBRARY_VERSION as library_version
from ._listen import MessageStream
from .client import (Client, background_calls, check_passphrase_strength, parse_invite_code,
                     preview_due, verify_export)
from .errors import (Aborted, AlreadyExists, Cancelled, ClientClosed, DataLoss, DeadlineExceeded,
                     FailedPrecondition, Internal, InvalidArgument, NotFound, OutOfRange,
                     PermissionDenied, ResourceExhausted, SottoError, Unauthenticated,
                     Unavailable, Unimplemented, Unknown)
from .types import (CareLink, Device, Conversation, ConversationState, DeliveryState, Draft, ExportCheck,
                    HistoryProgress, HistoryStage, JoinResult,
                    IdentityNotice, Invite, InviteInfo, Message, MessageKind, NoticeKind, NotificationMode,
                    NotificationSettings, PolicyView, Queue, QueueEntry, ReplyExpectation,
                    ResponsePolicy, Role, SafetyNumber, SendResult, SyncStats)

__all__ = [
    "Client", "MessageStream", "background_calls", "check_passphrase_strength", "parse_invite_code", "preview_due",
    "verify_export", "ExportCheck",
    "library_version",
    "SottoError", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
    "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
    "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
    "ClientClosed",
    "CareLink", "Device", "Conversation", "ConversationState", "DeliveryState", "IdentityNotice", "Invite",
    "InviteInfo", "Draft", "HistoryProgress", "HistoryStage", "JoinResult",
    "Message", "MessageKind", "NoticeKind", "NotificationMode", "NotificationSettings",
    "PolicyView", "Queue", "QueueEntry", "ReplyExpectation", "ResponsePolicy", "Role",
    "SafetyNumber", "SendResult", "SyncStats",
]
