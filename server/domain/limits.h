#ifndef SOTTO_SERVER_DOMAIN_LIMITS_H_
#define SOTTO_SERVER_DOMAIN_LIMITS_H_

// Every limit the server enforces, in one place. Clients may rely on these
// (docs/PROTOCOL.md repeats them); changing one is a wire-visible change.

#include <cstddef>
#include <cstdint>

namespace sotto::server {

// Largest ciphertext of one envelope. A padded letter fits; attachments go
// elsewhere.
inline constexpr size_t kMaxCiphertextBytes = 65536;
// One-time prekeys accepted in one Register/Upload call.
inline constexpr size_t kMaxPreKeysPerUpload = 100;
// One-time prekeys a device may have stored at once.
inline constexpr size_t kMaxStoredPreKeys = 1000;
// Undelivered envelopes per device queue; Send fails with RESOURCE_EXHAUSTED
// beyond it, so one sender cannot fill the disk.
inline constexpr uint64_t kMaxQueueDepth = 10000;
// Stored bytes of undelivered envelopes per device queue (sotto-server
// --max-queue-mib); Send fails with RESOURCE_EXHAUSTED beyond it.
inline constexpr uint64_t kMaxQueueBytes = 64ULL << 20;
// Undelivered envelopes are deleted by the sweeper this long after the
// server stored them (sotto-server --retention-days). The sender is not told.
inline constexpr int64_t kDefaultRetentionMs = 30LL * 24 * 3600 * 1000;
// Envelopes per Fetch call: the default when the request says 0, and the cap.
inline constexpr uint32_t kDefaultFetchBatch = 100;
inline constexpr uint32_t kMaxFetchBatch = 1000;
// Fetch also stops once this many ciphertext bytes are collected (at least
// one envelope is always returned) so a response stays under gRPC's default
// 4 MiB client receive limit; `more` is then true.
inline constexpr size_t kMaxFetchBytes = 2 << 20;
// Sequence numbers per Ack call.
inline constexpr size_t kMaxAckBatch = 1000;
// Devices per account, and so envelopes per Send.
inline constexpr uint32_t kMaxDevicesPerUser = 16;
// Linking a device (devices.proto): a link slot lives this long, an account
// may have this many open at once (slots are rows of the store, so what
// waits is bounded per account: this many answers of at most
// kMaxProvisioningBytes), a provisioning ciphertext is at most this big (a
// therapist at kMaxLinksPerUser contacts needs ~400 KB), and a device name
// is at most this many bytes.
inline constexpr int64_t kLinkSlotTtlMs = 10LL * 60 * 1000;
inline constexpr size_t kMaxOpenLinkSlotsPerAccount = 3;
inline constexpr size_t kMaxProvisioningBytes = 1024 * 1024;
inline constexpr size_t kMaxDeviceNameBytes = 64;
// History transfer (devices.proto): an archive waits at most this long for
// its new device, an account may have this many at once, one is at most
// this big (a 100,000-message history is about 60 MiB), a chunk at most
// this big (under the server's 2 MiB message limit): an account holds at
// most 2 GiB of archives, for a day (sotto-server does not become free
// storage; the disk reserve, disk_space.h, guards the rest). Ids are
// kHistoryTransferIdBytes random bytes.
inline constexpr int64_t kHistoryTransferTtlMs = 24LL * 3600 * 1000;
inline constexpr size_t kMaxHistoryTransfersPerAccount = 2;
inline constexpr uint64_t kMaxHistoryTransferBytes = 1ULL << 30;
inline constexpr size_t kMaxHistoryChunkBytes = 1 << 20;
inline constexpr size_t kHistoryTransferIdBytes = 16;
// Link slot ids, link tokens, ephemeral keys and their MACs.
inline constexpr size_t kLinkSlotIdBytes = 16;
inline constexpr size_t kLinkTokenBytes = 32;
inline constexpr size_t kLinkKeyBytes = 32;
inline constexpr size_t kLinkMacBytes = 32;
// Send's idempotency key.
inline constexpr size_t kMessageIdBytes = 16;
// The device secret chosen by the client at registration (256 bits).
inline constexpr size_t kDeviceSecretBytes = 32;
// Signal registration ids (libsignal's range).
inline constexpr uint32_t kMinRegistrationId = 1;
inline constexpr uint32_t kMaxRegistrationId = 16380;
// Prekey ids: libsignal's medium-value range.
inline constexpr uint32_t kMinPreKeyId = 1;
inline constexpr uint32_t kMaxPreKeyId = 0xFFFFFF;
// Serialized public keys: a 0x05 type byte + 32-byte X25519 key.
inline constexpr size_t kPublicKeyBytes = 33;
inline constexpr uint8_t kDjbKeyType = 0x05;
// XEdDSA signatures.
inline constexpr size_t kSignatureBytes = 64;
// Handles: 3..32 characters of [a-z0-9_-], the first a letter.
inline constexpr size_t kMinHandleLength = 3;
inline constexpr size_t kMaxHandleLength = 32;
// How long a Send's idempotency record is honoured: from the send, or for a
// send-later message from its release time, whichever is later. A retry after
// this is treated as a new message. Expired records are ignored on read and
// deleted by the sweeper within about kSweepIntervalMs.
inline constexpr int64_t kIdempotencyRetentionMs = 7LL * 24 * 3600 * 1000;
// The sweeper (expired idempotency records, enrolment and invite codes) runs
// at start and then this often (real time).
inline constexpr int64_t kSweepIntervalMs = 10LL * 60 * 1000;
// Rows the sweeper reads per store scan.
inline constexpr size_t kSweepBatch = 1000;

// Enrolment codes (operator -> therapist) and invite codes (therapist ->
// client): 12 characters of a 32-letter alphabet (60 bits), shown as
// XXXX-XXXX-XXXX. Valid for kDefaultCodeValidHours unless asked otherwise, at
// most kMaxCodeValidHours.
inline constexpr size_t kCodeChars = 12;
inline constexpr uint32_t kDefaultCodeValidHours = 7 * 24;
inline constexpr uint32_t kMaxCodeValidHours = 30 * 24;
// Send later: at most this far ahead of the server's clock.
inline constexpr int64_t kMaxScheduleAheadMs = 366LL * 24 * 3600 * 1000;
// Queue.Snooze: at most this far ahead.
inline constexpr int64_t kMaxSnoozeAheadMs = 90LL * 24 * 3600 * 1000;
// Active care links one account may have (a therapist's clients, a client's
// care team); ended links do not count. CreateInvite by a therapist at the
// cap fails with RESOURCE_EXHAUSTED; AcceptInvite (and Register with an
// invite) fails with RESOURCE_EXHAUSTED when the client is at the cap and
// FAILED_PRECONDITION when the therapist is; each message names the cap.
inline constexpr size_t kMaxLinksPerUser = 5000;
// Invite creation per therapist, a token bucket (RateLimitOptions::
// invites_per_therapist, sotto-server --rate-invites): kInviteBurst at once,
// then kInvitesPerHour an hour. Past it CreateInvite fails with
// RESOURCE_EXHAUSTED saying when to retry (a RetryInfo detail): outstanding
// codes are rows anyone may guess at, so a therapist (or a stolen therapist
// device) cannot mint them without bound. In memory: a restart refills.
inline constexpr double kInviteBurst = 30;
inline constexpr double kInvitesPerHour = 30;
// Send-later messages one sending device may have held at once; Send fails
// with RESOURCE_EXHAUSTED beyond it (held messages take disk and cannot be
// drained by the recipient).
inline constexpr size_t kMaxScheduledPerDevice = 1000;
// Code redemption (Register, AcceptInvite): after kMaxCodeFailures failures
// within kCodeFailureWindowMs from one source address or for one handle, the
// source's further wrong codes are answered RESOURCE_EXHAUSTED until the
// oldest failure leaves the window; its right codes still work. Server-wide,
// at most kMaxOverBudgetCodeFailures wrong codes from such sources are
// checked per window; past that they are refused without a check
// (AttemptLimiter). With 60-bit codes this bounds guessing (SECURITY.md).
inline constexpr int kMaxCodeFailures = 10;
inline constexpr int64_t kCodeFailureWindowMs = 10LL * 60 * 1000;
inline constexpr int kMaxOverBudgetCodeFailures = 1000;
// A held message due for a recipient whose queue is full (kMaxQueueDepth
// or kMaxQueueBytes) stays held and is tried again this much later, until
// there is room. Its sender is not told.
inline constexpr int64_t kHeldRetryMs = 60LL * 1000;
// Scheduled messages released per store scan by the releaser.
inline constexpr size_t kScheduledReleaseBatch = 100;
// The releaser checks for due messages at least this often.
inline constexpr int64_t kReleaserMaxSleepMs = 1000;

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_LIMITS_H_
