#ifndef SOTTO_SERVER_DOMAIN_CONVERSATION_QUEUE_H_
#define SOTTO_SERVER_DOMAIN_CONVERSATION_QUEUE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/care.h"
#include "server/domain/clock.h"
#include "server/domain/striped_mutex.h"
#include "server/domain/types.h"
#include "server/storage/store.h"

namespace sotto::server {

// Same numbers as sotto.v1.ConversationState.
enum class ConversationState : uint32_t {
  kUnspecified = 0,
  kWaiting = 1,
  kAnswered = 2,
  kSnoozed = 3,
  kClosed = 4,
};

// One (therapist, client) entry as the therapist sees it.
struct Conversation {
  std::string client;
  ConversationState state = ConversationState::kUnspecified;
  int64_t oldest_waiting_ms = 0;
  uint32_t waiting_count = 0;
  int64_t last_reply_ms = 0;
  int64_t snoozed_until_ms = 0;
  int64_t due_ms = 0;  // 0 unless waiting
  bool overdue = false;
  std::string claimed_by;
};

struct QueueList {
  std::vector<Conversation> entries;
  int64_t now_ms = 0;
};

// When a client can expect a reply (sotto.v1.ReplyExpectation).
struct ReplyExpectation {
  int64_t due_ms = 0;
  uint32_t reply_window_minutes = 0;
  std::string away_note;  // set if the away period overlaps [now, due]
  int64_t away_until_ms = 0;
  std::string emergency_note;
};

// The therapist's queue index: per (therapist, client), metadata the server
// sees anyway (when client messages arrived, how many wait, when the
// therapist wrote). Mailbox updates it inside the envelope's atomic write
// (AddMessageInto); therapists list, snooze, close and claim. Every
// read-modify-write of a client's entries holds that client's lock
// (LockClient), so a send and a Claim on the same client never interleave.
// Thread-safe. Does not own its arguments.
class ConversationQueue {
 public:
  ConversationQueue(Store* store, Care* care, Clock* clock);
  ConversationQueue(const ConversationQueue&) = delete;
  ConversationQueue& operator=(const ConversationQueue&) = delete;

  // Holds the lock of every entry of `client` until destroyed.
  std::unique_ptr<StripedLock> LockClient(absl::string_view client);

  // Adds to `batch` the index changes of one MESSAGE (never a receipt) on
  // `route`, arriving at `now_ms`. The caller holds LockClient(route.client).
  //  - client to therapist: that therapist's entry becomes WAITING (also from
  //    ANSWERED, SNOOZED or CLOSED), waiting_count + 1, oldest_waiting_ms the
  //    earlier of the existing one and now;
  //  - therapist to client: a reply from anyone in the care team answers the
  //    client, so every team therapist's existing entry becomes ANSWERED with
  //    nothing waiting and no claim; the sender's entry also records
  //    last_reply_ms = now (the proto defines it per therapist).
  // Returns the entry's oldest_waiting_ms after a client's message, else 0.
  absl::StatusOr<int64_t> AddMessageInto(const Route& route, int64_t now_ms, WriteBatch& batch);
  // The same for a client's message (route.from_client) whose entry the
  // caller read together with its other reads (one Store::Read; a round
  // trip each on PostgreSQL): AddClientEntryRead adds the read to `batch`
  // and returns its index in ReadResult::values; AddClientMessageInto
  // takes what it found.
  static size_t AddClientEntryRead(const Route& route, ReadBatch& batch);
  absl::StatusOr<int64_t> AddClientMessageInto(const Route& route, int64_t now_ms,
                                               std::optional<std::string> stored,
                                               WriteBatch& batch);

  // Therapist only: WAITING entries, and SNOOZED ones whose time has passed
  // (reported as WAITING), oldest waiting first; with `include_all` every
  // entry, by client. Errors: PERMISSION_DENIED (client caller).
  absl::StatusOr<QueueList> List(const AuthenticatedDevice& caller, bool include_all);

  // Hides a waiting entry until `until_ms` (future, at most
  // kMaxSnoozeAheadMs ahead). Errors: INVALID_ARGUMENT (client, until_ms),
  // PERMISSION_DENIED (client caller), NOT_FOUND (no entry for that client),
  // FAILED_PRECONDITION (not waiting).
  absl::StatusOr<Conversation> Snooze(const AuthenticatedDevice& caller, absl::string_view client,
                                      int64_t until_ms);
  // Closes the entry without a reply: nothing waits, no claim. Errors as for
  // Snooze, without FAILED_PRECONDITION.
  absl::StatusOr<Conversation> Close(const AuthenticatedDevice& caller, absl::string_view client);
  // Sets claimed_by = caller on every care-team entry of the client. Errors:
  // FAILED_PRECONDITION if the caller's entry is not waiting or a colleague
  // holds the claim (named); others as for Snooze.
  absl::StatusOr<Conversation> Claim(const AuthenticatedDevice& caller, absl::string_view client);

  // When `therapist`'s reply to a message waiting since `start_ms` is due,
  // seen at `now_ms`.
  absl::StatusOr<ReplyExpectation> Expect(absl::string_view therapist, int64_t start_ms,
                                          int64_t now_ms);
  // The same with the therapist's policy as read (Care::AddPolicyRead).
  absl::StatusOr<ReplyExpectation> ExpectWith(const ResponsePolicy& policy, int64_t start_ms,
                                              int64_t now_ms);

 private:
  // Expects `route`'s link row as read (conversation_queue.cc says why).
  absl::Status ExpectLinkAsRead(const Route& route, WriteBatch& batch);
  // The entry as shown at `now_ms` (expired snooze -> WAITING, due times).
  absl::StatusOr<Conversation> View(absl::string_view client, const records::Conversation& stored,
                                    const ResponsePolicy& policy, int64_t now_ms);
  // An entry and its stored bytes, which the write that changes it expects.
  struct Loaded {
    records::Conversation entry;
    std::string read;
  };
  // Checks the caller and client and reads the caller's entry.
  absl::StatusOr<Loaded> Load(const AuthenticatedDevice& caller, absl::string_view client);
  // Writes `entry` unsynced (the caller holds the client's lock), expecting
  // the entry still to be `read` (ABORTED if another node changed it), and
  // returns its view.
  absl::StatusOr<Conversation> Save(const AuthenticatedDevice& caller, absl::string_view client,
                                    const records::Conversation& entry, std::string read);
  // Runs `locked` under the client's lock (again while it is ABORTED: another
  // node changed an entry it read), then syncs the log once the lock is
  // released: the answer still means durable, and a Send to this client
  // (on gRPC's thread) never waits for the disk behind the lock.
  absl::StatusOr<Conversation> LockedThenSynced(
      absl::string_view client, absl::FunctionRef<absl::StatusOr<Conversation>()> locked);

  Store* const store_;
  Care* const care_;
  Clock* const clock_;
  StripedMutex client_locks_;
};

}  // namespace sotto::server

#endif  // SOTTO_SERVER_DOMAIN_CONVERSATION_QUEUE_H_
