/** @file
 * sotto.h — the C API of the Sotto client library (issue 15).
 *
 * Everything sotto::Client (sotto/client.h) offers, for C99 and for any FFI
 * (Swift, Kotlin/JNI, Python cffi, JavaScript). The C++ header is the
 * reference for behaviour; this one says how each call maps onto it and what
 * the C side must know besides: who owns what, which thread runs a callback,
 * which codes come back.
 *
 * Conventions (true of every function below unless it says otherwise)
 *
 *   Status.  A fallible call returns an int: SOTTO_OK (0) or a sotto_status
 *   code, the same numbers as absl::StatusCode / google.rpc.Code. Its last
 *   parameter is `char** errmsg`: the call ALWAYS writes it (unless errmsg is
 *   NULL) — NULL on success, on failure a new NUL-terminated UTF-8 message
 *   naming what was wrong, which the caller frees with sotto_free_string().
 *   So do not pass a pointer that holds a message you still have to free.
 *   Every call may also return the codes of "every call": INVALID_ARGUMENT
 *   for a NULL handle or a NULL required argument (the message names the
 *   parameter), FAILED_PRECONDITION while the profile is locked or after the
 *   account was deleted, INTERNAL for a bug or a failing local store; and,
 *   where the call talks to the server, UNAVAILABLE / DEADLINE_EXCEEDED
 *   (retry later), UNAUTHENTICATED (the server no longer knows this device).
 *   No C++ exception ever leaves a function of this header.
 *
 *   Strings.  UTF-8. Identifiers (handles, ids, codes, paths, addresses) are
 *   NUL-terminated `const char*`. Message bodies, subjects, passphrases and
 *   binary values carry an explicit length (`const char* p, size_t len`) and
 *   may hold NUL bytes; a getter of such a value returns a pointer to a
 *   buffer that is also NUL-terminated and writes its length to `*len`
 *   (unless len is NULL).
 *
 *   Time.  Points in time are int64_t milliseconds since the Unix epoch
 *   (UTC), durations int64_t milliseconds — as sotto::Client's own *_ms
 *   fields, so nothing is rounded.
 *
 *   Ownership.  An object a call returns through an out-parameter belongs to
 *   the caller, who frees it with the free function of its type (each is
 *   named below; all accept NULL). A `const` pointer or string a getter
 *   returns is BORROWED: it lives as long as the object it came from, and is
 *   never freed by the caller. Inputs are copied: the caller may free them
 *   as soon as the call returns.
 *   A getter (a function that returns a value rather than a status) never
 *   fails: given a NULL object it returns 0, NULL (for a list element or a
 *   handle's string) or "" (for a field of a NULL object), and does not
 *   crash. The setters of options and policies ignore a NULL object.
 *
 *   Threads.  A sotto_client may be used from several threads at once; its
 *   calls are serialized inside as sotto::Client's are (a slow network never
 *   blocks local reads). Exceptions: sotto_client_close() must not run
 *   concurrently with any other call on the same client, nor from inside a
 *   callback. Result objects (lists, stats, ...) are immutable and may be
 *   read from any thread, but must not be freed while another thread reads
 *   them. The callbacks (sotto_listen_callback, sotto_link_callback) run on
 *   the thread that called the function they were given to.
 *
 * ABI policy
 *   The ABI of a major version only grows: functions, enum values and
 *   constants are appended, never removed, renamed or changed in meaning or
 *   signature. No structure layout is exposed — every object is opaque and
 *   read through accessor functions — so objects can gain fields without
 *   breaking callers. A change that cannot follow these rules adds a new
 *   function (e.g. sotto_send_text2) or bumps SOTTO_VERSION_MAJOR (and the
 *   library's SOVERSION). Enum values returned by the library may grow:
 *   treat an unknown value as "other". The library's sotto_version() may be
 *   newer than the header an app was built with, never older.
 */
#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_SOTTO_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_SOTTO_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The library is built with -fvisibility=hidden; this marks its exports. */
#if defined(__GNUC__) || defined(__clang__)
#define SOTTO_EXPORT __attribute__((visibility("default")))
#else
#define SOTTO_EXPORT
#endif

/* ---- version ---------------------------------------------------------- */

/** Major version of this header; a new major version may break the ABI. */
#define SOTTO_VERSION_MAJOR 0
/** Minor version of this header: grows when functions are added. */
#define SOTTO_VERSION_MINOR 1
/** Patch version of this header: fixes only. */
#define SOTTO_VERSION_PATCH 0

/** "MAJOR.MINOR.PATCH" of the library actually loaded (static storage). */
SOTTO_EXPORT const char* sotto_version(void);

/* ---- status and memory ------------------------------------------------ */

/** Status codes: the numbers of absl::StatusCode / google.rpc.Code. */
typedef enum sotto_status {
  SOTTO_OK = 0,
  SOTTO_CANCELLED = 1,
  SOTTO_UNKNOWN = 2,
  SOTTO_INVALID_ARGUMENT = 3,    /**< never works as sent; the message says why */
  SOTTO_DEADLINE_EXCEEDED = 4,   /**< retry later */
  SOTTO_NOT_FOUND = 5,           /**< no such user, profile, message, peer */
  SOTTO_ALREADY_EXISTS = 6,      /**< handle or profile taken */
  SOTTO_PERMISSION_DENIED = 7,   /**< wrong passphrase; not allowed */
  SOTTO_RESOURCE_EXHAUSTED = 8,  /**< a server limit */
  SOTTO_FAILED_PRECONDITION = 9, /**< fix state first (locked, identity held) */
  SOTTO_ABORTED = 10,
  SOTTO_OUT_OF_RANGE = 11,
  SOTTO_UNIMPLEMENTED = 12,
  SOTTO_INTERNAL = 13,
  SOTTO_UNAVAILABLE = 14, /**< the server could not be reached; retry */
  SOTTO_DATA_LOSS = 15,
  SOTTO_UNAUTHENTICATED = 16
} sotto_status;

/** "OK", "INVALID_ARGUMENT", ... ; "UNKNOWN_CODE" for any other value.
 * Static storage; never freed. */
SOTTO_EXPORT const char* sotto_status_name(int status);

/** Frees a string the library returned through a `char**` (error messages,
 * invite codes, handles, message texts, recovery keys), wiping it first.
 * NULL is fine. The one function for every char*. */
SOTTO_EXPORT void sotto_free_string(char* s);

/* ---- enums (same values as sotto/types.h) ----------------------------- */

/** The kind of account (sotto::Role). */
typedef enum sotto_role { SOTTO_ROLE_CLIENT = 1, SOTTO_ROLE_THERAPIST = 2 } sotto_role;

/** A text or a letter (sotto::MessageKind). */
typedef enum sotto_message_kind { SOTTO_KIND_TEXT = 1, SOTTO_KIND_LETTER = 2 } sotto_message_kind;

/** Where an outgoing message is (sotto::DeliveryState). */
typedef enum sotto_delivery_state {
  SOTTO_STATE_SCHEDULED = 1, /**< held by the server until server_time_ms */
  SOTTO_STATE_SENT = 2,
  SOTTO_STATE_DELIVERED = 3,
  SOTTO_STATE_READ = 4,
  SOTTO_STATE_CANCELLED = 5,
  SOTTO_STATE_NOT_SENT = 6, /**< kept locally; sent by the next send/sync */
  SOTTO_STATE_FAILED = 7    /**< refused for good; see sotto_message_failure */
} sotto_delivery_state;

/** A conversation's state in a therapist's queue (sotto::ConversationState). */
typedef enum sotto_conversation_state {
  SOTTO_CONV_WAITING = 1,
  SOTTO_CONV_ANSWERED = 2,
  SOTTO_CONV_SNOOZED = 3,
  SOTTO_CONV_CLOSED = 4
} sotto_conversation_state;

/** Email notifications without content (sotto::NotificationMode). */
typedef enum sotto_notification_mode {
  SOTTO_NOTIFY_OFF = 1,
  SOTTO_NOTIFY_EACH_MESSAGE = 2,
  SOTTO_NOTIFY_DIGEST = 3
} sotto_notification_mode;

/** What an identity notice says (sotto::IdentityNotice::Kind). */
typedef enum sotto_notice_kind {
  SOTTO_NOTICE_ACCEPTED = 1, /**< no longer produced; kept for old apps */
  SOTTO_NOTICE_HELD = 2      /**< a contact's key changed: compare, then accept */
} sotto_notice_kind;

/* ---- opaque types ----------------------------------------------------- */

/** One open profile: one device of one account (sotto::Client). */
typedef struct sotto_client sotto_client;
/** Options for sotto_client_register(). */
typedef struct sotto_register_options sotto_register_options;
/** Options for sotto_client_open(). */
typedef struct sotto_open_options sotto_open_options;
/** One message of a conversation (sotto::Message). */
typedef struct sotto_message sotto_message;
/** A list of messages (sotto_message_list_free). */
typedef struct sotto_message_list sotto_message_list;
/** The result of a send (sotto::SendResult; sotto_send_result_free). */
typedef struct sotto_send_result sotto_send_result;
/** The results of sotto_send_to_care_team (sotto_send_result_list_free). */
typedef struct sotto_send_result_list sotto_send_result_list;
/** A contact's identity key changed (sotto::IdentityNotice). */
typedef struct sotto_identity_notice sotto_identity_notice;
/** What a sync or listen met (sotto::SyncStats; sotto_sync_stats_free). */
typedef struct sotto_sync_stats sotto_sync_stats;
/** What sotto_listen tells its callback; valid only during the callback. */
typedef struct sotto_event sotto_event;
/** One conversation (sotto::Conversation). */
typedef struct sotto_conversation sotto_conversation;
/** Conversations (sotto_conversation_list_free). */
typedef struct sotto_conversation_list sotto_conversation_list;
/** A therapist's queue (sotto::QueueView; sotto_queue_free). */
typedef struct sotto_queue sotto_queue;
/** One client's conversation in the queue (sotto::QueueEntry). */
typedef struct sotto_queue_entry sotto_queue_entry;
/** A therapist's response policy (sotto::ResponsePolicy; sotto_policy_free). */
typedef struct sotto_policy sotto_policy;
/** A care link (sotto::CareLink). */
typedef struct sotto_link sotto_link;
/** Care links (sotto_link_list_free). */
typedef struct sotto_link_list sotto_link_list;
/** A contact's safety number (sotto::SafetyNumberInfo; sotto_safety_number_free). */
typedef struct sotto_safety_number sotto_safety_number;
/** A draft (sotto::Draft; sotto_draft_free). */
typedef struct sotto_draft sotto_draft;
/** A list of drafts (sotto_draft_list_free). */
typedef struct sotto_draft_list sotto_draft_list;
/** An invite as the server keeps it (sotto::InviteInfo; borrowed from a list). */
typedef struct sotto_invite_info sotto_invite_info;
/** A list of invites (sotto_invite_list_free). */
typedef struct sotto_invite_list sotto_invite_list;
/** Email notification settings (sotto::NotificationSettings). */
typedef struct sotto_notification_settings sotto_notification_settings;
/** One device of this account (sotto::DeviceEntry; borrowed from a list). */
typedef struct sotto_device sotto_device;
/** This account's devices (sotto_device_list_free). */
typedef struct sotto_device_list sotto_device_list;

/* ---- registering and opening a profile -------------------------------- */

/** Options for sotto_client_register (sotto::RegisterOptions). Created with
 * the C++ defaults (role client, auto-lock after 15 minutes, interactive key
 * derivation); freed with sotto_register_options_destroy. The setters copy
 * their argument, treat NULL as "" and ignore a NULL options object. */
SOTTO_EXPORT sotto_register_options* sotto_register_options_create(void);
/** Frees options from sotto_register_options_create; NULL is fine. */
SOTTO_EXPORT void sotto_register_options_destroy(sotto_register_options* o);
/** Directory for the encrypted store; created; must not hold a profile. */
SOTTO_EXPORT void sotto_register_options_set_profile_dir(sotto_register_options* o,
                                                         const char* dir);
/** host:port. Loopback only without TLS. */
SOTTO_EXPORT void sotto_register_options_set_server_address(sotto_register_options* o,
                                                            const char* address);
/** PEM of the CA that signed the server's certificate: turns TLS on. */
SOTTO_EXPORT void sotto_register_options_set_tls_ca_pem(sotto_register_options* o, const char* pem);
/** Nonzero: TLS against the system's roots. */
SOTTO_EXPORT void sotto_register_options_set_tls_system_roots(sotto_register_options* o, int on);
/** PEM of one or more X.509 CRLs (needs TLS). */
SOTTO_EXPORT void sotto_register_options_set_tls_crl_pem(sotto_register_options* o,
                                                         const char* pem);
/** Automatic lock after this many ms without a call; <= 0 turns it off. */
SOTTO_EXPORT void sotto_register_options_set_auto_lock_after_ms(sotto_register_options* o,
                                                                int64_t ms);
/** 3..32 of [a-z0-9_-], starting with a letter. */
SOTTO_EXPORT void sotto_register_options_set_handle(sotto_register_options* o, const char* handle);
/** A sotto_role value, taken as an int: an FFI may pass any number, and one
 * outside the enum is refused by sotto_client_register by name (in C++ an
 * enum parameter holding such a value would already be undefined). */
SOTTO_EXPORT void sotto_register_options_set_role(sotto_register_options* o, int role);
/** Protects the local store; must not be empty. */
SOTTO_EXPORT void sotto_register_options_set_passphrase(sotto_register_options* o,
                                                        const char* passphrase, size_t len);
/** Nonzero: libsodium's minimum Argon2id limits. FOR TESTS ONLY. */
SOTTO_EXPORT void sotto_register_options_set_fast_key_derivation_for_tests(
    sotto_register_options* o, int on);
/** A therapist's one-time enrolment code (`sotto-server enrol-therapist`). */
SOTTO_EXPORT void sotto_register_options_set_enrolment_code(sotto_register_options* o,
                                                            const char* code);
/** A client's invite code from their therapist; registering links them. */
SOTTO_EXPORT void sotto_register_options_set_invite_code(sotto_register_options* o,
                                                         const char* code);

/** Creates a profile and registers the account (sotto::Client::Register).
 * On SOTTO_OK *out is a new client the caller closes with
 * sotto_client_close; on failure *out is NULL and nothing is left in the
 * profile directory (but see sotto/client.h for the one exception).
 * Errors: INVALID_ARGUMENT (bad handle, empty passphrase, missing code,
 * non-loopback address without TLS, CRL that does not parse);
 * ALREADY_EXISTS (handle or profile taken); PERMISSION_DENIED (unknown,
 * used or expired enrolment or invite code); UNAVAILABLE. */
SOTTO_EXPORT int sotto_client_register(const sotto_register_options* options, sotto_client** out,
                                       char** errmsg);

/** Options for sotto_client_open (sotto::OpenOptions); as above. Empty
 * server address / TLS settings keep the ones recorded at registration. */
SOTTO_EXPORT sotto_open_options* sotto_open_options_create(void);
/** Frees options from sotto_open_options_create; NULL is fine. */
SOTTO_EXPORT void sotto_open_options_destroy(sotto_open_options* o);
/** The profile's directory, as given at registration. */
SOTTO_EXPORT void sotto_open_options_set_profile_dir(sotto_open_options* o, const char* dir);
/** The passphrase that protects the profile (may hold NUL bytes). */
SOTTO_EXPORT void sotto_open_options_set_passphrase(sotto_open_options* o, const char* passphrase,
                                                    size_t len);
/** Overrides the recorded host:port (loopback only without TLS). */
SOTTO_EXPORT void sotto_open_options_set_server_address(sotto_open_options* o, const char* address);
/** For this session only: PEM of the server's CA (not stored). */
SOTTO_EXPORT void sotto_open_options_set_tls_ca_pem(sotto_open_options* o, const char* pem);
/** For this session only: nonzero trusts the system's roots. */
SOTTO_EXPORT void sotto_open_options_set_tls_system_roots(sotto_open_options* o, int on);
/** Fresh CRLs: STORED, merged into the profile's (newer per issuer wins). */
SOTTO_EXPORT void sotto_open_options_set_tls_crl_pem(sotto_open_options* o, const char* pem);
/** Automatic lock after this many ms without a call; <= 0 off. */
SOTTO_EXPORT void sotto_open_options_set_auto_lock_after_ms(sotto_open_options* o, int64_t ms);

/** Opens an existing profile; does not contact the server. *out as for
 * register. Errors: PERMISSION_DENIED wrong passphrase (nothing changed);
 * NOT_FOUND no profile in the directory (or deleted); INVALID_ARGUMENT
 * (address not loopback without TLS, CRL refused); FAILED_PRECONDITION the
 * profile is open in another client. */
SOTTO_EXPORT int sotto_client_open(const sotto_open_options* options, sotto_client** out,
                                   char** errmsg);

/** Closes the client and frees it; NULL is fine. Ends a sotto_listen running
 * on another thread first (as sotto_stop_listening) and waits for it. Must
 * not be called from inside a callback, nor concurrently with any other
 * call on this client except a running sotto_listen. */
SOTTO_EXPORT void sotto_client_close(sotto_client* client);

/** Accessors; never fail. Borrowed strings, valid until sotto_client_close.
 * NULL / 0 for a NULL client. Allowed while locked. */
SOTTO_EXPORT const char* sotto_client_handle(const sotto_client* client);
/** This device's id within the account. */
SOTTO_EXPORT uint32_t sotto_client_device_id(const sotto_client* client);
/** SOTTO_ROLE_CLIENT or SOTTO_ROLE_THERAPIST. */
SOTTO_EXPORT sotto_role sotto_client_role(const sotto_client* client);
/** The server this client talks to (given or recorded). */
SOTTO_EXPORT const char* sotto_client_server_address(const sotto_client* client);

/* ---- locking ---------------------------------------------------------- */

/** Wipes the keys from memory; later calls fail FAILED_PRECONDITION until
 * sotto_client_unlock. OK if already locked. A running listen ends. */
SOTTO_EXPORT int sotto_client_lock(sotto_client* client, char** errmsg);
/** PERMISSION_DENIED for a wrong passphrase (still locked). OK if unlocked. */
SOTTO_EXPORT int sotto_client_unlock(sotto_client* client, const char* passphrase, size_t len,
                                     char** errmsg);
/** *locked = 1 if locked (also after the automatic lock), else 0. */
SOTTO_EXPORT int sotto_client_is_locked(sotto_client* client, int* locked, char** errmsg);
/** Counts as a call for the automatic lock and does nothing else: call it
 * when the person acts without needing the client (scrolls, clicks).
 * FAILED_PRECONDITION while locked or when the automatic lock was due. */
SOTTO_EXPORT int sotto_client_note_activity(sotto_client* client, char** errmsg);
/** Between begin and end, the calls this thread makes on any client do not
 * count as activity for the automatic lock (an app's own background
 * refreshes: a screen left open must still lock). Nests; end on the thread
 * that began. An end without a begin does nothing. */
SOTTO_EXPORT void sotto_background_calls_begin(void);
/** Ends the innermost sotto_background_calls_begin of this thread. */
SOTTO_EXPORT void sotto_background_calls_end(void);

/* ---- messages --------------------------------------------------------- */

/** Message accessors (sotto::Message). Borrowed strings. */
SOTTO_EXPORT const char* sotto_message_id(const sotto_message* m); /**< 32 hex */
/** The other party of the conversation. */
SOTTO_EXPORT const char* sotto_message_peer(const sotto_message* m);
/** 1 if this account sent it (this device or another of its devices). */
SOTTO_EXPORT int sotto_message_outgoing(const sotto_message* m);
/** SOTTO_KIND_TEXT or SOTTO_KIND_LETTER. */
SOTTO_EXPORT sotto_message_kind sotto_message_kind_of(const sotto_message* m);
/** The text, or the letter's body. */
SOTTO_EXPORT const char* sotto_message_text(const sotto_message* m, size_t* len);
/** Letters: subject, the id answered ("" if none), the thread's first id. */
SOTTO_EXPORT const char* sotto_message_subject(const sotto_message* m, size_t* len);
/** Letters: the id of the message this answers ("" if none). */
SOTTO_EXPORT const char* sotto_message_in_reply_to(const sotto_message* m);
/** Letters: the id of the first letter of the thread. */
SOTTO_EXPORT const char* sotto_message_thread_id(const sotto_message* m);
/** When the server accepted it (for a scheduled one: when it is released). */
SOTTO_EXPORT int64_t sotto_message_server_time_ms(const sotto_message* m);
/** The sender's own clock when they wrote it; informational. */
SOTTO_EXPORT int64_t sotto_message_sent_at_ms(const sotto_message* m);
/** Where the message is (incoming ones: DELIVERED). */
SOTTO_EXPORT sotto_delivery_state sotto_message_state(const sotto_message* m);
/** NOT_SENT / FAILED: why the last attempt did not reach the server. */
SOTTO_EXPORT const char* sotto_message_failure(const sotto_message* m);
/** Outgoing: the id of the other device of this account that sent it (its
 * sent transcript reached this device); 0 when this device sent it. */
SOTTO_EXPORT uint32_t sotto_message_from_device(const sotto_message* m);
/** A copy the caller owns (e.g. to keep one seen in a callback); free it
 * with sotto_message_free. NULL for NULL. */
SOTTO_EXPORT sotto_message* sotto_message_copy(const sotto_message* m);
/** Frees a copy from sotto_message_copy; NULL is fine. */
SOTTO_EXPORT void sotto_message_free(sotto_message* m);

/** Lists: count, and the i-th element (borrowed; NULL if out of range). */
SOTTO_EXPORT size_t sotto_message_list_count(const sotto_message_list* l);
/** The i-th message (borrowed; NULL if out of range). */
SOTTO_EXPORT const sotto_message* sotto_message_list_get(const sotto_message_list* l, size_t i);
/** Frees the list and its messages; NULL is fine. */
SOTTO_EXPORT void sotto_message_list_free(sotto_message_list* l);

/** The result of a send (sotto::SendResult): the message as stored, and for
 * a client writing to a therapist when to expect a reply. */
SOTTO_EXPORT const sotto_message* sotto_send_result_message(const sotto_send_result* r);
/** 1 if the fields below are set (a client writing to a therapist). */
SOTTO_EXPORT int sotto_send_result_has_expectation(const sotto_send_result* r);
/** When to expect a reply. */
SOTTO_EXPORT int64_t sotto_send_result_due_ms(const sotto_send_result* r);
/** The therapist's reply window, in business minutes. */
SOTTO_EXPORT uint32_t sotto_send_result_reply_window_minutes(const sotto_send_result* r);
/** Non-empty while the therapist is away before the reply is due. */
SOTTO_EXPORT const char* sotto_send_result_away_note(const sotto_send_result* r);
/** When the therapist's absence ends. */
SOTTO_EXPORT int64_t sotto_send_result_away_until_ms(const sotto_send_result* r);
/** The operator's reminder that Sotto is not for emergencies. */
SOTTO_EXPORT const char* sotto_send_result_emergency_note(const sotto_send_result* r);
/** Frees a result; NULL is fine. */
SOTTO_EXPORT void sotto_send_result_free(sotto_send_result* r);
/** Number of results. */
SOTTO_EXPORT size_t sotto_send_result_list_count(const sotto_send_result_list* l);
/** The i-th result (borrowed; NULL if out of range). */
SOTTO_EXPORT const sotto_send_result* sotto_send_result_list_get(const sotto_send_result_list* l,
                                                                 size_t i);
/** Frees the list and its results; NULL is fine. */
SOTTO_EXPORT void sotto_send_result_list_free(sotto_send_result_list* l);

/** Sends a text (1..4,096 bytes) to `to` (sotto::Client::SendText).
 * deliver_at_ms: 0 or a past time sends now; a future time is "send later"
 * (the server holds it; cancel with sotto_cancel_scheduled). `out` may be
 * NULL; otherwise *out is a new result (sotto_send_result_free), NULL on
 * failure. Errors: INVALID_ARGUMENT (empty or too long text, bad handle);
 * NOT_FOUND (no such user); PERMISSION_DENIED (no care link);
 * FAILED_PRECONDITION (their identity key changed: verify first; nothing
 * sent); RESOURCE_EXHAUSTED; UNAVAILABLE — then the message is kept as
 * SOTTO_STATE_NOT_SENT and sent by the next send, sync or retry. */
SOTTO_EXPORT int sotto_send_text(sotto_client* client, const char* to, const char* text,
                                 size_t text_len, int64_t deliver_at_ms, sotto_send_result** out,
                                 char** errmsg);
/** A letter (subject 1..200 bytes, body 1..48 KiB) starting a thread.
 * Otherwise as sotto_send_text. */
SOTTO_EXPORT int sotto_send_letter(sotto_client* client, const char* to, const char* subject,
                                   size_t subject_len, const char* body, size_t body_len,
                                   int64_t deliver_at_ms, sotto_send_result** out, char** errmsg);
/** Answers the message whose id starts with `id_prefix` (>= 6 hex): a letter
 * gets a letter in its thread ("Re: " + subject), a text a text.
 * INVALID_ARGUMENT if the prefix matches several; NOT_FOUND if none. */
SOTTO_EXPORT int sotto_reply(sotto_client* client, const char* id_prefix, const char* body,
                             size_t body_len, int64_t deliver_at_ms, sotto_send_result** out,
                             char** errmsg);
/** A client writes to every therapist of their care team. FAILED_PRECONDITION
 * if not a client or no active link. On a partial failure the error names
 * who got it and who did not. `out` may be NULL. */
SOTTO_EXPORT int sotto_send_to_care_team(sotto_client* client, const char* text, size_t text_len,
                                         int64_t deliver_at_ms, sotto_send_result_list** out,
                                         char** errmsg);
/** Cancels a scheduled message (or discards a NOT_SENT/FAILED one), found by
 * id prefix. NOT_FOUND if already released; INVALID_ARGUMENT for a message
 * someone else sent; FAILED_PRECONDITION while another call is sending it. */
SOTTO_EXPORT int sotto_cancel_scheduled(sotto_client* client, const char* id_prefix, char** errmsg);
/** Sends every NOT_SENT / FAILED message, oldest first; *sent (may be NULL)
 * = how many the server took. On failure the first error. */
SOTTO_EXPORT int sotto_retry_unsent(sotto_client* client, int* sent, char** errmsg);

/** This device's outgoing messages the server still holds for later
 * delivery, soonest first (sotto::Client::ListScheduled). Local; marks
 * nothing read. *out is new (sotto_message_list_free). */
SOTTO_EXPORT int sotto_list_scheduled(sotto_client* client, sotto_message_list** out,
                                      char** errmsg);

/* ---- drafts (kept encrypted in the profile, never sent) --------------- */

/** The draft's id (1..64 of [a-z0-9_-]). */
SOTTO_EXPORT const char* sotto_draft_id(const sotto_draft* d);
/** The recipient as typed so far ("" if none). */
SOTTO_EXPORT const char* sotto_draft_to(const sotto_draft* d);
/** SOTTO_KIND_TEXT or SOTTO_KIND_LETTER. */
SOTTO_EXPORT sotto_message_kind sotto_draft_kind(const sotto_draft* d);
/** A letter's subject ("" for a text). */
SOTTO_EXPORT const char* sotto_draft_subject(const sotto_draft* d);
/** The body; *len (may be NULL) gets its length in bytes. */
SOTTO_EXPORT const char* sotto_draft_body(const sotto_draft* d, size_t* len);
/** A reply's original message id (hex), or "". */
SOTTO_EXPORT const char* sotto_draft_in_reply_to(const sotto_draft* d);
/** When it was last saved (Unix ms). */
SOTTO_EXPORT int64_t sotto_draft_updated_ms(const sotto_draft* d);
/** Frees a draft; NULL is fine. */
SOTTO_EXPORT void sotto_draft_free(sotto_draft* d);
/** Number of drafts. */
SOTTO_EXPORT size_t sotto_draft_list_count(const sotto_draft_list* l);
/** The i-th draft (borrowed; NULL if out of range). */
SOTTO_EXPORT const sotto_draft* sotto_draft_list_get(const sotto_draft_list* l, size_t i);
/** Frees the list; NULL is fine. */
SOTTO_EXPORT void sotto_draft_list_free(sotto_draft_list* l);

/** Saves a draft (sotto::Client::SaveDraft): `id` NULL or "" makes a new
 * one; the strings may be NULL ("" then). *out (may be NULL) is the draft as
 * stored (sotto_draft_free). INVALID_ARGUMENT names the field that is too
 * long or malformed. The C sends take no draft id: delete the draft with
 * sotto_delete_draft once the send succeeded. */
SOTTO_EXPORT int sotto_save_draft(sotto_client* client, const char* id, const char* to,
                                  sotto_message_kind kind, const char* subject, const char* body,
                                  size_t body_len, const char* in_reply_to, sotto_draft** out,
                                  char** errmsg);
/** Every draft, the most recently saved first; *out is new. */
SOTTO_EXPORT int sotto_list_drafts(sotto_client* client, sotto_draft_list** out, char** errmsg);
/** Deletes the draft `id`. NOT_FOUND if there is none. */
SOTTO_EXPORT int sotto_delete_draft(sotto_client* client, const char* id, char** errmsg);

/* ---- receiving -------------------------------------------------------- */

/** What a sync or listen met (sotto::SyncStats). */
SOTTO_EXPORT int sotto_sync_stats_received(const sotto_sync_stats* s);
/** Redelivered messages already stored (dropped). */
SOTTO_EXPORT int sotto_sync_stats_duplicates(const sotto_sync_stats* s);
/** Envelopes that could not be decrypted (dropped and acknowledged). */
SOTTO_EXPORT int sotto_sync_stats_undecryptable(const sotto_sync_stats* s);
/** Of those, messages whose sender's app was asked to send them again (they
 *  come back with a later sync; see SyncStats::asked_again). */
SOTTO_EXPORT int sotto_sync_stats_asked_again(const sotto_sync_stats* s);
/** Envelopes left on the server because the sender's key is not trusted. */
SOTTO_EXPORT int sotto_sync_stats_held(const sotto_sync_stats* s);
/** Messages kept as NOT_SENT that went out with this sync. */
SOTTO_EXPORT int sotto_sync_stats_resent(const sotto_sync_stats* s);
/** "" or why keeping this device's keys on the server failed (retried). */
SOTTO_EXPORT const char* sotto_sync_stats_maintenance_error(const sotto_sync_stats* s);
/** The senders whose messages are held (their key changed), sorted. */
SOTTO_EXPORT size_t sotto_sync_stats_held_from_count(const sotto_sync_stats* s);
/** The i-th sender with held messages (NULL if out of range). */
SOTTO_EXPORT const char* sotto_sync_stats_held_from(const sotto_sync_stats* s, size_t i);
/** The senders of undecryptable envelopes (valid handles), sorted: whom to
 *  ask to send again (e.g. messages sent to this device before a restore). */
SOTTO_EXPORT size_t sotto_sync_stats_unreadable_from_count(const sotto_sync_stats* s);
/** The i-th sender of an undecryptable envelope (NULL if out of range). */
SOTTO_EXPORT const char* sotto_sync_stats_unreadable_from(const sotto_sync_stats* s, size_t i);
/** Number of identity notices. */
SOTTO_EXPORT size_t sotto_sync_stats_notice_count(const sotto_sync_stats* s);
/** The i-th identity notice (borrowed; NULL if out of range). */
SOTTO_EXPORT const sotto_identity_notice* sotto_sync_stats_notice(const sotto_sync_stats* s,
                                                                  size_t i);
/** Frees the stats and their notices; NULL is fine. */
SOTTO_EXPORT void sotto_sync_stats_free(sotto_sync_stats* s);

/** An identity notice: show its text; compare safety numbers, then
 * sotto_accept_identity_change. */
SOTTO_EXPORT const char* sotto_identity_notice_peer(const sotto_identity_notice* n);
/** SOTTO_NOTICE_HELD (ACCEPTED is no longer produced). */
SOTTO_EXPORT sotto_notice_kind sotto_identity_notice_kind(const sotto_identity_notice* n);
/** A sentence to show the user, naming the peer. */
SOTTO_EXPORT const char* sotto_identity_notice_text(const sotto_identity_notice* n);

/** Fetches, decrypts and stores everything queued for this device, then
 * acknowledges it; sends receipts, retries unsent messages, maintains keys
 * (sotto::Client::Sync). `stats` may be NULL; otherwise *stats is new
 * (sotto_sync_stats_free). Errors: those of every call; INTERNAL or
 * UNAVAILABLE from the local store (the envelope stays queued). */
SOTTO_EXPORT int sotto_sync(sotto_client* client, sotto_sync_stats** stats, char** errmsg);

/** What the listener is told. */
typedef enum sotto_event_kind {
  /** A new message, already stored: sotto_event_message. */
  SOTTO_EVENT_MESSAGE = 1,
  /** A contact's identity key changed and their messages are held:
   * sotto_event_notice. Raised live, once per contact and listen, when the
   * first held message from them arrives; the same notices are also in the
   * returned stats (not raised again). */
  SOTTO_EVENT_IDENTITY_NOTICE = 2,
  /** A receipt moved one of our sent messages to DELIVERED or READ, already
   * stored: sotto_event_message is that message as now stored (its id,
   * peer and new sotto_message_state). One event per message moved. */
  SOTTO_EVENT_RECEIPT = 3
} sotto_event_kind;

/** Which kind of event this is. */
SOTTO_EXPORT sotto_event_kind sotto_event_kind_of(const sotto_event* e);
/** MESSAGE: the new message; RECEIPT: our sent message after it; else NULL.
 * Borrowed, valid only during the callback (sotto_message_copy to keep it). */
SOTTO_EXPORT const sotto_message* sotto_event_message(const sotto_event* e);
/** IDENTITY_NOTICE: the notice; else NULL. Valid only during the callback. */
SOTTO_EXPORT const sotto_identity_notice* sotto_event_notice(const sotto_event* e);

/** Called by sotto_listen for each event, on the thread that called
 * sotto_listen, with no library lock held. Return nonzero to go on, 0 to
 * end the listen (it then returns SOTTO_OK). It may call any function of
 * this header on this client (e.g. sotto_reply, sotto_read_conversation,
 * sotto_stop_listening) EXCEPT sotto_client_close and sotto_listen. It
 * must not unwind (throw, longjmp) through the library. */
typedef int (*sotto_listen_callback)(void* user_data, const sotto_event* event);

/** Like sotto_sync, but keeps a stream open: delivers the backlog, then each
 * new message as it arrives, calling `callback` (may be NULL: store only)
 * after each is stored (sotto::Client::Listen). Returns SOTTO_OK when the
 * callback returned 0, when sotto_stop_listening was called (from any
 * thread), or when idle_timeout_ms passed without a new message after the
 * backlog (<= 0: no idle timeout). *stats (may be NULL) as for sotto_sync;
 * after a stop it counts the messages delivered but holds no notices (they
 * come again with the next sync). Errors: those of every call
 * (FAILED_PRECONDITION when the profile locks itself meanwhile; UNAVAILABLE
 * within ~80 s when the network vanished — call again). */
SOTTO_EXPORT int sotto_listen(sotto_client* client, int64_t idle_timeout_ms,
                              sotto_listen_callback callback, void* user_data,
                              sotto_sync_stats** stats, char** errmsg);
/** Ends every sotto_listen running on this client now, from any thread; each
 * returns SOTTO_OK. From another thread it waits until they have returned
 * (so the caller may then free user_data); from inside a callback it
 * returns at once and the listen ends when the callback returns. OK when
 * none is running. */
SOTTO_EXPORT int sotto_stop_listening(sotto_client* client, char** errmsg);

/* ---- conversations and history ---------------------------------------- */

/** The other party. */
SOTTO_EXPORT const char* sotto_conversation_peer(const sotto_conversation* c);
/** Time of the newest message (server time). */
SOTTO_EXPORT int64_t sotto_conversation_last_activity_ms(const sotto_conversation* c);
/** Number of messages. */
SOTTO_EXPORT uint32_t sotto_conversation_message_count(const sotto_conversation* c);
/** Incoming messages not yet returned by sotto_read_conversation. */
SOTTO_EXPORT uint32_t sotto_conversation_unread_count(const sotto_conversation* c);
/** The start of the newest message. */
SOTTO_EXPORT const char* sotto_conversation_preview(const sotto_conversation* c, size_t* len);
/** 1 if the newest message was sent by this user. */
SOTTO_EXPORT int sotto_conversation_last_outgoing(const sotto_conversation* c);
/** Number of conversations. */
SOTTO_EXPORT size_t sotto_conversation_list_count(const sotto_conversation_list* l);
/** The i-th conversation (borrowed; NULL if out of range). */
SOTTO_EXPORT const sotto_conversation* sotto_conversation_list_get(const sotto_conversation_list* l,
                                                                   size_t i);
/** Frees the list; NULL is fine. */
SOTTO_EXPORT void sotto_conversation_list_free(sotto_conversation_list* l);

/** Conversations, newest activity first. Works offline. */
SOTTO_EXPORT int sotto_list_conversations(sotto_client* client, sotto_conversation_list** out,
                                          char** errmsg);
/** Every message with `peer`, oldest first; marks them read (read receipts
 * go with the next sync, or sotto_send_pending_receipts). Works offline.
 * NOT_FOUND if none. */
SOTTO_EXPORT int sotto_read_conversation(sotto_client* client, const char* peer,
                                         sotto_message_list** out, char** errmsg);
/** Sends the receipts waiting to go out (e.g. the read receipts
 * sotto_read_conversation queued) now, without fetching anything
 * (sotto::Client::SendPendingReceipts). Best effort: what the server cannot
 * take now stays queued; SOTTO_OK either way. FAILED_PRECONDITION while
 * locked. */
SOTTO_EXPORT int sotto_send_pending_receipts(sotto_client* client, char** errmsg);

/* ---- the therapist's queue -------------------------------------------- */

/** The client's handle. */
SOTTO_EXPORT const char* sotto_queue_entry_client(const sotto_queue_entry* e);
/** Waiting, answered, snoozed or closed. */
SOTTO_EXPORT sotto_conversation_state sotto_queue_entry_state(const sotto_queue_entry* e);
/** When the oldest unanswered message arrived. */
SOTTO_EXPORT int64_t sotto_queue_entry_oldest_waiting_ms(const sotto_queue_entry* e);
/** Messages waiting for a reply. */
SOTTO_EXPORT uint32_t sotto_queue_entry_waiting_count(const sotto_queue_entry* e);
/** When the therapist last replied. */
SOTTO_EXPORT int64_t sotto_queue_entry_last_reply_ms(const sotto_queue_entry* e);
/** While snoozed: until when. */
SOTTO_EXPORT int64_t sotto_queue_entry_snoozed_until_ms(const sotto_queue_entry* e);
/** When a reply is due under the therapist's policy. */
SOTTO_EXPORT int64_t sotto_queue_entry_due_ms(const sotto_queue_entry* e);
/** 1 if the reply is overdue. */
SOTTO_EXPORT int sotto_queue_entry_overdue(const sotto_queue_entry* e);
/** The therapist who claimed the conversation ("" if none). */
SOTTO_EXPORT const char* sotto_queue_entry_claimed_by(const sotto_queue_entry* e);
/** Entries oldest waiting first; now_ms is the server's clock. */
SOTTO_EXPORT size_t sotto_queue_count(const sotto_queue* q);
/** The i-th entry (borrowed; NULL if out of range). */
SOTTO_EXPORT const sotto_queue_entry* sotto_queue_get(const sotto_queue* q, size_t i);
/** The server's clock when the queue was read. */
SOTTO_EXPORT int64_t sotto_queue_now_ms(const sotto_queue* q);
/** Frees the queue; NULL is fine. */
SOTTO_EXPORT void sotto_queue_free(sotto_queue* q);

/** The therapist's queue; include_all nonzero adds answered and closed
 * conversations. PERMISSION_DENIED for a client. */
SOTTO_EXPORT int sotto_queue_list(sotto_client* client, int include_all, sotto_queue** out,
                                  char** errmsg);
/** Snooze until until_ms / close / claim the conversation with `client_handle`.
 * PERMISSION_DENIED for a client; NOT_FOUND no such entry; INVALID_ARGUMENT
 * a bad handle, or (snooze) a time not in the future or too far ahead;
 * FAILED_PRECONDITION the state does not allow it (e.g. claimed by another
 * therapist; the message says which). */
SOTTO_EXPORT int sotto_queue_snooze(sotto_client* client, const char* client_handle,
                                    int64_t until_ms, char** errmsg);
/** Closes the conversation with `client_handle`; errors as sotto_queue_snooze. */
SOTTO_EXPORT int sotto_queue_close(sotto_client* client, const char* client_handle, char** errmsg);
/** Claims the conversation with `client_handle`; errors as sotto_queue_snooze. */
SOTTO_EXPORT int sotto_queue_claim(sotto_client* client, const char* client_handle, char** errmsg);

/* ---- response policy -------------------------------------------------- */

/** A response policy (sotto::ResponsePolicy), created with the C++ defaults
 * (UTC, Monday..Friday, 09:00-17:00, reply within 480 business minutes, no
 * absence). The setters ignore a NULL policy and treat a NULL string as "". */
SOTTO_EXPORT sotto_policy* sotto_policy_create(void);
/** Frees a policy; NULL is fine. */
SOTTO_EXPORT void sotto_policy_free(sotto_policy* p);
/** IANA time zone name of the working hours, e.g. "Europe/Berlin". */
SOTTO_EXPORT void sotto_policy_set_time_zone(sotto_policy* p, const char* iana_name);
/** ISO days, 1 = Monday .. 7 = Sunday; replaces the list. */
SOTTO_EXPORT void sotto_policy_set_working_days(sotto_policy* p, const int* days, size_t n);
/** Working hours as minutes after midnight, [start, end). */
SOTTO_EXPORT void sotto_policy_set_day_minutes(sotto_policy* p, int start_minute, int end_minute);
/** How soon a reply is due, in business minutes. */
SOTTO_EXPORT void sotto_policy_set_reply_window_minutes(sotto_policy* p, int minutes);
/** Away in [from_ms, until_ms); 0, 0 for none. */
SOTTO_EXPORT void sotto_policy_set_away(sotto_policy* p, int64_t from_ms, int64_t until_ms,
                                        const char* note);
/** The IANA time zone name. */
SOTTO_EXPORT const char* sotto_policy_time_zone(const sotto_policy* p);
/** Number of working days. */
SOTTO_EXPORT size_t sotto_policy_working_day_count(const sotto_policy* p);
/** The i-th working day (ISO, 1 = Monday); 0 if out of range. */
SOTTO_EXPORT int sotto_policy_working_day(const sotto_policy* p, size_t i);
/** Start of working hours, minutes after midnight. */
SOTTO_EXPORT int sotto_policy_day_start_minute(const sotto_policy* p);
/** End of working hours, minutes after midnight. */
SOTTO_EXPORT int sotto_policy_day_end_minute(const sotto_policy* p);
/** The reply window, in business minutes. */
SOTTO_EXPORT int sotto_policy_reply_window_minutes(const sotto_policy* p);
/** Start of an absence; 0 for none. */
SOTTO_EXPORT int64_t sotto_policy_away_from_ms(const sotto_policy* p);
/** End of an absence (exclusive); 0 for none. */
SOTTO_EXPORT int64_t sotto_policy_away_until_ms(const sotto_policy* p);
/** The note shown during an absence. */
SOTTO_EXPORT const char* sotto_policy_away_note(const sotto_policy* p);
/** The operator's emergency note; only on a policy from sotto_get_policy. */
SOTTO_EXPORT const char* sotto_policy_emergency_note(const sotto_policy* p);

/** A therapist publishes their policy. INVALID_ARGUMENT names the bad field;
 * PERMISSION_DENIED for a client. */
SOTTO_EXPORT int sotto_set_policy(sotto_client* client, const sotto_policy* policy, char** errmsg);
/** Reads `therapist`'s policy; *out is new (sotto_policy_free). NOT_FOUND if
 * none published; PERMISSION_DENIED without a link. */
SOTTO_EXPORT int sotto_get_policy(sotto_client* client, const char* therapist, sotto_policy** out,
                                  char** errmsg);

/** When a reply to a message sent at sent_at_ms would be due under `policy`
 * (sotto::PreviewDue: the server's own computation). Needs no client.
 * INVALID_ARGUMENT naming the policy's bad field, or a time outside
 * 1970..9999. */
SOTTO_EXPORT int sotto_preview_due(const sotto_policy* policy, int64_t sent_at_ms, int64_t* due_ms,
                                   char** errmsg);

/* ---- the clinical record (sotto/record.h, docs/RECORD.md) ------------- */

/** Exports the conversation with `peer` into the new directory `out_dir`
 * (sotto::Client::ExportRecord): record.json, record.html and record.sig,
 * signed with this account's identity key, from the local history only (no
 * call to the server). Messages the server took in [from_ms, to_ms); 0 for
 * no bound. *message_count (may be NULL) gets how many were exported.
 * ALREADY_EXISTS if out_dir holds an export (nothing is overwritten);
 * NOT_FOUND without a conversation with `peer`. */
SOTTO_EXPORT int sotto_export_record(sotto_client* client, const char* peer, const char* out_dir,
                                     int64_t from_ms, int64_t to_ms, size_t* message_count,
                                     char** errmsg);
/** Checks the export in `dir` (sotto::VerifyRecordExport). Needs no client.
 * SOTTO_OK when the check ran: *verified = 1 if the export is exactly as
 * signed, else 0 with *problems naming each finding, one per line ("message
 * ID (sent TIME) was altered", "... was removed", ...). *problems,
 * *signer and *signer_fingerprint (each may be NULL; sotto_free_string) get
 * the findings ("" when verified), the signer's handle and their half of a
 * safety number (30 digits in groups of 5). NOT_FOUND when dir holds no
 * export; DATA_LOSS when record.sig or record.json is not the format. */
SOTTO_EXPORT int sotto_verify_export(const char* dir, int* verified, char** problems,
                                     char** signer, char** signer_fingerprint, char** errmsg);

/* ---- invites and care links ------------------------------------------- */

/** A therapist creates an invite valid for valid_for_ms (<= 0: 7 days).
 * *code (sotto_free_string) is what the client types; hand it over out of
 * band. *expires_at_ms may be NULL. PERMISSION_DENIED for a client. */
SOTTO_EXPORT int sotto_create_invite(sotto_client* client, int64_t valid_for_ms, char** code,
                                     int64_t* expires_at_ms, char** errmsg);
/** A registered client links with the therapist whose invite `code` is;
 * *therapist (may be NULL; sotto_free_string) is their handle.
 * INVALID_ARGUMENT malformed code (nothing sent); PERMISSION_DENIED
 * an unknown, used or expired code, or the caller is not a client;
 * FAILED_PRECONDITION (after linking) the therapist's known key
 * does not match the code's commitment. */
SOTTO_EXPORT int sotto_accept_invite(sotto_client* client, const char* code, char** therapist,
                                     char** errmsg);
/** Checks a typed invite code without the server (sotto::ParseInviteCode).
 * *has_key_commitment (may be NULL) = 1 for a 28-character code. */
SOTTO_EXPORT int sotto_parse_invite_code(const char* typed, int* has_key_commitment, char** errmsg);

/** The server's id of the invite (16 hex). */
SOTTO_EXPORT const char* sotto_invite_info_id(const sotto_invite_info* i);
/** The code, if this device created the invite and keeps it; else "". */
SOTTO_EXPORT const char* sotto_invite_info_code(const sotto_invite_info* i);
/** When it was created (Unix ms). */
SOTTO_EXPORT int64_t sotto_invite_info_created_ms(const sotto_invite_info* i);
/** When it expires or expired (Unix ms). */
SOTTO_EXPORT int64_t sotto_invite_info_expires_at_ms(const sotto_invite_info* i);
/** 1 once a client used it. */
SOTTO_EXPORT int sotto_invite_info_used(const sotto_invite_info* i);
/** Who used it ("" while unused). */
SOTTO_EXPORT const char* sotto_invite_info_used_by(const sotto_invite_info* i);
/** When it was used (Unix ms; 0 while unused). */
SOTTO_EXPORT int64_t sotto_invite_info_used_ms(const sotto_invite_info* i);
/** Number of invites. */
SOTTO_EXPORT size_t sotto_invite_list_count(const sotto_invite_list* l);
/** The i-th invite (borrowed; NULL if out of range). */
SOTTO_EXPORT const sotto_invite_info* sotto_invite_list_get(const sotto_invite_list* l, size_t i);
/** Frees the list; NULL is fine. */
SOTTO_EXPORT void sotto_invite_list_free(sotto_invite_list* l);
/** A therapist's own invites, newest first: valid ones and those used or
 * expired in the last 30 days (sotto::Client::ListInvites); *out is new.
 * PERMISSION_DENIED for a client. */
SOTTO_EXPORT int sotto_list_invites(sotto_client* client, sotto_invite_list** out, char** errmsg);

/** The other party of the link. */
SOTTO_EXPORT const char* sotto_link_peer(const sotto_link* l);
/** 1 while the link is active. */
SOTTO_EXPORT int sotto_link_active(const sotto_link* l);
/** When the link was made. */
SOTTO_EXPORT int64_t sotto_link_since_ms(const sotto_link* l);
/** When the link ended; 0 while active. */
SOTTO_EXPORT int64_t sotto_link_ended_ms(const sotto_link* l);
/** Who ended the link ("" while active). */
SOTTO_EXPORT const char* sotto_link_ended_by(const sotto_link* l);
/** Number of links. */
SOTTO_EXPORT size_t sotto_link_list_count(const sotto_link_list* l);
/** The i-th link (borrowed; NULL if out of range). */
SOTTO_EXPORT const sotto_link* sotto_link_list_get(const sotto_link_list* l, size_t i);
/** Frees the list; NULL is fine. */
SOTTO_EXPORT void sotto_link_list_free(sotto_link_list* l);

/** This user's care links, active and ended; *out is new (sotto_link_list_free). */
SOTTO_EXPORT int sotto_list_links(sotto_client* client, sotto_link_list** out, char** errmsg);
/** Ends the care link with `peer`. NOT_FOUND if there is no active one. */
SOTTO_EXPORT int sotto_end_link(sotto_client* client, const char* peer, char** errmsg);

/* ---- this account's devices (sotto/devices.h) -------------------------- */

/** The device's id within the account. */
SOTTO_EXPORT uint32_t sotto_device_id(const sotto_device* d);
/** The name given when it was linked; "" for the device that registered. */
SOTTO_EXPORT const char* sotto_device_name(const sotto_device* d);
/** When it was linked (Unix ms); 0 when the server does not know. */
SOTTO_EXPORT int64_t sotto_device_linked_at_ms(const sotto_device* d);
/** Start of the hour of its last call (Unix ms); 0 if none since the
 * server started. */
SOTTO_EXPORT int64_t sotto_device_last_seen_hour_ms(const sotto_device* d);
/** 1 for the device this client is. */
SOTTO_EXPORT int sotto_device_is_this_device(const sotto_device* d);
/** Number of devices. */
SOTTO_EXPORT size_t sotto_device_list_count(const sotto_device_list* l);
/** The i-th device (borrowed; NULL if out of range). */
SOTTO_EXPORT const sotto_device* sotto_device_list_get(const sotto_device_list* l, size_t i);
/** Frees the list; NULL is fine. */
SOTTO_EXPORT void sotto_device_list_free(sotto_device_list* l);
/** This account's devices, ascending by id; *out is new
 * (sotto_device_list_free). UNAVAILABLE without the server. */
SOTTO_EXPORT int sotto_list_devices(sotto_client* client, sotto_device_list** out,
                                    char** errmsg);
/** Removes a device of this account (sotto::Client::RemoveDevice): its
 * credentials stop working at once. NOT_FOUND no such device;
 * FAILED_PRECONDITION the account's only device. */
SOTTO_EXPORT int sotto_remove_device(sotto_client* client, uint32_t device_id, char** errmsg);

/* ---- linking a new device (sotto/devices.h; docs/PROTOCOL.md "Linking a
 * device" and "History transfer") ---------------------------------------- */

/** What a linking or a join tells its callback. */
typedef enum sotto_link_event_kind {
  /** First, once: the one-time code to show (sotto_link_event_code) and when
   * it expires. Show it as text and as a QR code of the same text. */
  SOTTO_LINK_EVENT_CODE = 1,
  /** Linking: still waiting for the new device, about every half second
   * (a countdown, and the place to give up: return 0). */
  SOTTO_LINK_EVENT_WAITING = 2,
  /** Linking: the new device answered with a key made with the code; the
   * history (if sent) goes up, then the account's keys are sealed to it. */
  SOTTO_LINK_EVENT_SENDING_KEYS = 3,
  /** History transfer progress: sotto_link_event_history_*. */
  SOTTO_LINK_EVENT_HISTORY = 4,
  /** Linking: the sealed keys are on the server; the new device finishes
   * joining by itself. The last event of a successful sotto_link_device. */
  SOTTO_LINK_EVENT_SENT = 5
} sotto_link_event_kind;

/** The stage of a history transfer (sotto::HistoryProgress::Stage). */
typedef enum sotto_history_stage {
  SOTTO_HISTORY_UPLOADING = 1,   /**< the existing device seals and uploads it */
  SOTTO_HISTORY_DOWNLOADING = 2, /**< the new device fetches the archive */
  SOTTO_HISTORY_IMPORTING = 3    /**< the new device checked it all and adds it */
} sotto_history_stage;

/** What sotto_link_device / sotto_client_join tell their callback; valid
 * only during the callback. */
typedef struct sotto_link_event sotto_link_event;
/** Options for sotto_client_join (sotto::JoinOptions). */
typedef struct sotto_join_options sotto_join_options;
/** What sotto_client_join made besides the client (sotto_join_result_free). */
typedef struct sotto_join_result sotto_join_result;

/** Which kind of event this is. */
SOTTO_EXPORT sotto_link_event_kind sotto_link_event_kind_of(const sotto_link_event* e);
/** CODE: the one-time code (borrowed, valid only during the callback; it
 * gives this account's keys to whoever uses it first — show it to no one
 * else, keep no copy); "" for the other kinds. */
SOTTO_EXPORT const char* sotto_link_event_code(const sotto_link_event* e);
/** CODE and WAITING: when the code expires (Unix ms); else 0. */
SOTTO_EXPORT int64_t sotto_link_event_expires_at_ms(const sotto_link_event* e);
/** HISTORY: the stage; else 0. */
SOTTO_EXPORT sotto_history_stage sotto_link_event_history_stage(const sotto_link_event* e);
/** HISTORY: messages archived (UPLOADING) or added (IMPORTING) so far. */
SOTTO_EXPORT uint64_t sotto_link_event_history_messages(const sotto_link_event* e);
/** HISTORY: archive bytes uploaded or fetched so far. */
SOTTO_EXPORT uint64_t sotto_link_event_history_bytes(const sotto_link_event* e);
/** HISTORY: the archive's size once known (DOWNLOADING, IMPORTING); else 0. */
SOTTO_EXPORT uint64_t sotto_link_event_history_total_bytes(const sotto_link_event* e);

/** Called by sotto_link_device and sotto_client_join on the thread that
 * called them, with no library lock held. Return nonzero to go on. In
 * sotto_link_device, 0 gives up at the next check while waiting for the new
 * device (the code stops working; the call returns CANCELLED); once the new
 * device has answered, and in sotto_client_join, the return value is
 * ignored. It must not call sotto_client_close on the client, nor unwind
 * (throw, longjmp) through the library. */
typedef int (*sotto_link_callback)(void* user_data, const sotto_link_event* event);

/** Links a new device to this account (sotto::Client::LinkDevice): opens a
 * one-time slot on the server, tells `callback` the code to show
 * (SOTTO_LINK_EVENT_CODE; required, so `callback` must not be NULL), waits
 * for the new device to use it (sotto_client_join there), checks that its
 * answer was made with the code's secret, and seals to it the account's
 * identity key, the link token and the contacts' trusted keys. With
 * `include_history` nonzero this device's message history goes along,
 * end-to-end encrypted, through the server (which deletes it once fetched;
 * HISTORY events show the upload); 0 opts out. Returns once the sealed keys
 * are on the server. Blocks. `timeout_ms` > 0 gives up waiting after that
 * long (DEADLINE_EXCEEDED; the code stops working); <= 0 waits until the
 * code expires (10 minutes: DEADLINE_EXCEEDED too). CANCELLED when the
 * callback returned 0; PERMISSION_DENIED, nothing sent, when the answer was
 * not made with this code (the server or someone else substituted it). */
SOTTO_EXPORT int sotto_link_device(sotto_client* client, int include_history, int64_t timeout_ms,
                                   sotto_link_callback callback, void* user_data, char** errmsg);

/** Options for sotto_client_join, created with the C++ defaults (receive
 * the history, wait at most 10 minutes, auto-lock after 15 minutes,
 * interactive key derivation); freed with sotto_join_options_destroy. The
 * setters copy their argument, treat NULL as "" and ignore a NULL object. */
SOTTO_EXPORT sotto_join_options* sotto_join_options_create(void);
/** Frees options from sotto_join_options_create; NULL is fine. */
SOTTO_EXPORT void sotto_join_options_destroy(sotto_join_options* o);
/** The code the existing device shows (spaces and dashes as shown). */
SOTTO_EXPORT void sotto_join_options_set_code(sotto_join_options* o, const char* code);
/** The name the account's other devices see: at most 64 bytes, no control
 * characters; may be empty. */
SOTTO_EXPORT void sotto_join_options_set_device_name(sotto_join_options* o, const char* name);
/** A NEW profile directory (created; ALREADY_EXISTS if it holds one). */
SOTTO_EXPORT void sotto_join_options_set_profile_dir(sotto_join_options* o, const char* dir);
/** The new profile's passphrase (not the other device's); must not be empty. */
SOTTO_EXPORT void sotto_join_options_set_passphrase(sotto_join_options* o, const char* passphrase,
                                                    size_t len);
/** The account's server, host:port (loopback only without TLS). */
SOTTO_EXPORT void sotto_join_options_set_server_address(sotto_join_options* o,
                                                        const char* address);
/** PEM of the CA that signed the server's certificate: turns TLS on. */
SOTTO_EXPORT void sotto_join_options_set_tls_ca_pem(sotto_join_options* o, const char* pem);
/** Nonzero: TLS against the system's roots. */
SOTTO_EXPORT void sotto_join_options_set_tls_system_roots(sotto_join_options* o, int on);
/** Automatic lock after this many ms without a call; <= 0 turns it off. */
SOTTO_EXPORT void sotto_join_options_set_auto_lock_after_ms(sotto_join_options* o, int64_t ms);
/** Nonzero: libsodium's minimum Argon2id limits. FOR TESTS ONLY. */
SOTTO_EXPORT void sotto_join_options_set_fast_key_derivation_for_tests(sotto_join_options* o,
                                                                       int on);
/** Give up waiting for the existing device's answer after this many ms
 * (DEADLINE_EXCEEDED); <= 0 keeps the default, 10 minutes. */
SOTTO_EXPORT void sotto_join_options_set_wait_at_most_ms(sotto_join_options* o, int64_t ms);
/** 0: do not fetch the history the existing device sent (default: fetch
 * and add it, with HISTORY events). */
SOTTO_EXPORT void sotto_join_options_set_receive_history(sotto_join_options* o, int on);
/** Called with HISTORY events while the history is fetched and added (may
 * be NULL); user_data is passed back untouched. */
SOTTO_EXPORT void sotto_join_options_set_callback(sotto_join_options* o,
                                                  sotto_link_callback callback, void* user_data);

/** On the new device: makes a profile from a code the existing device
 * shows (sotto_link_device), joining the same account as a new device
 * (sotto::Client::JoinWithLinkCode). Blocks until the existing device's
 * answer came and the history (if any) was added. On SOTTO_OK *out is the
 * new client (sotto_client_close) and *result (may be NULL) what came over
 * (sotto_join_result_free). A failed history transfer does not fail the
 * join: see sotto_join_result_history_status. Errors, each leaving the
 * directory without a profile: INVALID_ARGUMENT a mistyped code, a missing
 * directory or passphrase, a bad device name or address; ALREADY_EXISTS the
 * directory holds a profile; NOT_FOUND the code is unknown, used or
 * expired; DATA_LOSS the answer does not open with the code;
 * DEADLINE_EXCEEDED no answer within the wait. */
SOTTO_EXPORT int sotto_client_join(const sotto_join_options* options, sotto_client** out,
                                   sotto_join_result** result, char** errmsg);
/** Contacts whose trusted keys (and verifications) came over. */
SOTTO_EXPORT int sotto_join_result_contacts(const sotto_join_result* r);
/** 1 if the existing device sent a history, else 0. */
SOTTO_EXPORT int sotto_join_result_had_history(const sotto_join_result* r);
/** Messages the history transfer added (0 without one). */
SOTTO_EXPORT uint64_t sotto_join_result_history_messages(const sotto_join_result* r);
/** SOTTO_OK, or the code of why the history could not be added (the
 * device is joined and usable all the same, with no history from the
 * archive; nothing of a damaged archive is added). */
SOTTO_EXPORT int sotto_join_result_history_status(const sotto_join_result* r);
/** "" or the message naming why the history could not be added. */
SOTTO_EXPORT const char* sotto_join_result_history_error(const sotto_join_result* r);
/** Frees the result; NULL is fine. */
SOTTO_EXPORT void sotto_join_result_free(sotto_join_result* r);

/* ---- identity verification (safety numbers) --------------------------- */

/** The contact. */
SOTTO_EXPORT const char* sotto_safety_number_peer(const sotto_safety_number* s);
/** 60 digits; show as 12 groups of 5. */
SOTTO_EXPORT const char* sotto_safety_number_digits(const sotto_safety_number* s);
/** Raw bytes for a QR code (libsignal ScannableFingerprint v1). */
SOTTO_EXPORT const char* sotto_safety_number_scannable(const sotto_safety_number* s, size_t* len);
/** 1 if the user marked this key as compared (sotto_mark_verified). */
SOTTO_EXPORT int sotto_safety_number_verified(const sotto_safety_number* s);
/** 1: the number is for a NEW key not accepted yet. */
SOTTO_EXPORT int sotto_safety_number_changed(const sotto_safety_number* s);
/** Frees a safety number; NULL is fine. */
SOTTO_EXPORT void sotto_safety_number_free(sotto_safety_number* s);

/** The safety number with `peer` (for the pending key if it changed).
 * Works offline. NOT_FOUND if no key of `peer` is known. */
SOTTO_EXPORT int sotto_safety_number_get(sotto_client* client, const char* peer,
                                         sotto_safety_number** out, char** errmsg);
/** The user compared the number: marks `peer` verified.
 * FAILED_PRECONDITION if a changed key is pending or none is known. */
SOTTO_EXPORT int sotto_mark_verified(sotto_client* client, const char* peer, char** errmsg);
/** Trusts `peer`'s new key, only if `safety_number` (60 digits, spaces
 * allowed) is the number of the key pending now. FAILED_PRECONDITION (and
 * nothing changes) if it is not or no change is pending; INVALID_ARGUMENT
 * if not 60 digits. */
SOTTO_EXPORT int sotto_accept_identity_change(sotto_client* client, const char* peer,
                                              const char* safety_number, char** errmsg);

/* ---- settings --------------------------------------------------------- */

/** Whether this device tells senders it read their messages (default on). */
SOTTO_EXPORT int sotto_set_read_receipts(sotto_client* client, int enabled, char** errmsg);
/** *enabled = 1 if this device sends read receipts, else 0. */
SOTTO_EXPORT int sotto_get_read_receipts(sotto_client* client, int* enabled, char** errmsg);

/** Off, each message, or digest. */
SOTTO_EXPORT sotto_notification_mode
sotto_notification_settings_mode(const sotto_notification_settings* n);
/** The address; "" when off. */
SOTTO_EXPORT const char* sotto_notification_settings_email(const sotto_notification_settings* n);
/** The digest interval; 0 unless digest. */
SOTTO_EXPORT uint32_t
sotto_notification_settings_digest_interval_minutes(const sotto_notification_settings* n);
/** 1 if the server has an SMTP relay. */
SOTTO_EXPORT int sotto_notification_settings_server_sends_mail(
    const sotto_notification_settings* n);
/** Frees the settings; NULL is fine. */
SOTTO_EXPORT void sotto_notification_settings_free(sotto_notification_settings* n);

/** Passed as digest_interval_ms: a mail per waiting message, no digest. */
#define SOTTO_NO_DIGEST ((int64_t)-1)
/** Email notifications without content. digest_interval_ms: SOTTO_NO_DIGEST,
 * 0 (digest at the server's default, 1 h) or 15 min..7 days (therapists
 * only). *out (may be NULL) is the setting as stored. INVALID_ARGUMENT
 * naming the email or interval; PERMISSION_DENIED digest for a client;
 * FAILED_PRECONDITION the server sends no mail. */
SOTTO_EXPORT int sotto_set_email_notifications(sotto_client* client, const char* email,
                                               int64_t digest_interval_ms,
                                               sotto_notification_settings** out, char** errmsg);
/** Off, and the server deletes the address. OK also when off. */
SOTTO_EXPORT int sotto_disable_notifications(sotto_client* client, char** errmsg);
/** The email notification setting as stored; *out is new. */
SOTTO_EXPORT int sotto_get_notification_settings(sotto_client* client,
                                                 sotto_notification_settings** out, char** errmsg);

/* ---- passphrase and account ------------------------------------------- */

/** Whether a new passphrase is strong enough (sotto/passphrase.h): SOTTO_OK,
 * or INVALID_ARGUMENT with a reason for the person choosing it (never
 * containing the passphrase). `user_inputs` (n strings, may be NULL if n is
 * 0): words about the user an attacker tries first (the handle). Needs no
 * client; thread-safe. */
SOTTO_EXPORT int sotto_check_passphrase_strength(const char* passphrase, size_t len,
                                                 const char* const* user_inputs, size_t n,
                                                 char** errmsg);
/** Re-protects the store under the new passphrase. PERMISSION_DENIED wrong
 * old one (nothing changes); INVALID_ARGUMENT empty new one. */
SOTTO_EXPORT int sotto_change_passphrase(sotto_client* client, const char* old_passphrase,
                                         size_t old_len, const char* new_passphrase, size_t new_len,
                                         char** errmsg);
/** Deletes the account on the server, then wipes this profile.
 * `confirm_handle` must be the user's own handle (INVALID_ARGUMENT, nothing
 * sent, otherwise). Afterwards every call on the client fails
 * FAILED_PRECONDITION; close it. */
SOTTO_EXPORT int sotto_delete_account(sotto_client* client, const char* confirm_handle,
                                      char** errmsg);

/** Writes the whole profile into the new file `out_path` (ALREADY_EXISTS if
 * it exists; created 0600, present only once complete), encrypted under a
 * new recovery key: *recovery_key (sotto_free_string) is its 40 digits in
 * ten groups. Show it once and tell the user to write it down; it is stored
 * nowhere. docs/BACKUP.md. */
SOTTO_EXPORT int sotto_backup(sotto_client* client, const char* out_path, char** recovery_key,
                              char** errmsg);
/** Restores the backup `backup_path` into the NEW directory `profile_dir`
 * under `passphrase`, checking the whole file before writing anything:
 * PERMISSION_DENIED wrong recovery key, DATA_LOSS a truncated or damaged
 * file (the message names which), ALREADY_EXISTS a directory holding a
 * profile; no profile is created then. On success *out is the open client,
 * new sessions started with its contacts (best effort). */
SOTTO_EXPORT int sotto_restore(const char* backup_path, const char* recovery_key,
                               const char* profile_dir, const char* passphrase,
                               size_t passphrase_len, int fast_key_derivation_for_tests,
                               sotto_client** out, char** errmsg);
/** As sotto_restore, and says whether the restore reached the server: on
 * SOTTO_OK *network_error (may be NULL; sotto_free_string) is NULL when the
 * new keys and sessions went out, else the message naming why they could
 * not (e.g. the server was unreachable). The profile is restored either
 * way, and the first message to each contact then starts a new session by
 * itself (sotto::RestoreResult::network_status); an app tells the user to
 * go online so that contacts' messages reach this device. */
SOTTO_EXPORT int sotto_restore2(const char* backup_path, const char* recovery_key,
                                const char* profile_dir, const char* passphrase,
                                size_t passphrase_len, int fast_key_derivation_for_tests,
                                sotto_client** out, char** network_error, char** errmsg);

/** Turns automatic backups on (or changes them): written to `dir` (created
 * owner-only if missing) whenever the profile is used and the last one is
 * at least `every_seconds` old (at least 60), keeping the newest `keep`
 * (1..1000). The first time (or with `new_recovery_key` non-zero)
 * *recovery_key (sotto_free_string) is a new recovery key that opens every
 * automatic backup — show it once; it is stored nowhere. Otherwise
 * *recovery_key is NULL and the key stays. INVALID_ARGUMENT naming the
 * option out of range. docs/BACKUP.md "Automatic backups". */
SOTTO_EXPORT int sotto_set_auto_backup(sotto_client* client, const char* dir, int64_t every_seconds,
                                       int keep, int new_recovery_key, char** recovery_key,
                                       char** errmsg);
/** Turns automatic backups off (the files written stay). */
SOTTO_EXPORT int sotto_disable_auto_backup(sotto_client* client, char** errmsg);
/** Writes an automatic backup now if one is due; *path (sotto_free_string)
 * is the file written, "" if none was due. FAILED_PRECONDITION when off. */
SOTTO_EXPORT int sotto_backup_if_due(sotto_client* client, char** path, char** errmsg);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SOTTO_CLIENT_LIB_INCLUDE_SOTTO_SOTTO_H_ */
