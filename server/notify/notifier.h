#ifndef SOTTO_SERVER_NOTIFY_NOTIFIER_H_
#define SOTTO_SERVER_NOTIFY_NOTIFIER_H_

// Content-free email notifications (issue 20): after a new message for an
// opted-in account, one mail "You have a new message on Sotto" — no sender,
// no text, no subject, no handle — or, for a therapist who chose it, a
// digest of their queue ("3 people are waiting; the oldest is due at
// 17:00 (Europe/Berlin)").
//
// When a mail goes:
//  - A message arms the account's one pending mail, due `delay` later (a
//    burst of messages within it gives one mail) and never sooner than
//    `quiet_period` (each message) or the digest interval after the last
//    mail: at most one mail per quiet period. Messages while a mail is
//    pending add nothing.
//  - When it falls due, it is dropped if one of the account's devices holds
//    a Subscribe stream open (the person is reading live), if the account
//    opted out or is gone, or, for a digest, if nobody waits any longer.
//  - A relay that fails (down, refusing, slow) leaves the mail pending and
//    it is tried again after a back-off doubling from `first_retry` to
//    `max_retry`, for as long as it takes. Messages themselves never
//    depend on a mail: they are in the mailbox either way.
// Nothing here runs on an RPC's thread but OnMessage, which takes one
// mutex and touches one map entry. Pending mails are bounded: at most one
// per opted-in account. They live in memory: a restart forgets mails not
// yet sent (the next message arms one again).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/domain/notification_settings.h"
#include "server/notify/smtp_mailer.h"

namespace sotto::server::notify {

struct NotifierOptions {
  // From the first message to its mail: the burst it covers.
  absl::Duration delay = absl::Minutes(2);
  // At most one EACH_MESSAGE mail per account this often.
  absl::Duration quiet_period = absl::Hours(1);
  absl::Duration first_retry = absl::Seconds(10);
  absl::Duration max_retry = absl::Minutes(10);
};

// The fixed wording of the per-message mail (tests check that nothing else
// is in it).
inline constexpr char kNewMessageSubject[] = "New message on Sotto";
inline constexpr char kNewMessageBody[] =
    "You have a new message on Sotto.\n"
    "\n"
    "Open Sotto to read it. This mail never says who wrote or what.\n"
    "To stop these mails: sotto notify --off\n";
inline constexpr char kDigestSubject[] = "Sotto: people are waiting";

// What the notifier reads from the rest of the server.
struct NotifierHooks {
  // The account's setting, with its address (NotificationSettings::Get).
  std::function<absl::StatusOr<NotificationSetting>(const std::string& handle)> setting;
  // Whether one of the account's devices holds a Subscribe stream open.
  std::function<bool(const std::string& handle)> streaming;
  // A therapist's digest line, nullopt when nobody waits (digest.h).
  std::function<absl::StatusOr<std::optional<std::string>>(const std::string& handle)> digest;
  // Where a failed mail is reported (never with an address or handle).
  std::function<void(const std::string& line)> log;
};

class Notifier {
 public:
  Notifier(std::unique_ptr<SmtpMailer> mailer, NotifierHooks hooks, NotifierOptions options);
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;
  // Stops the sender thread (Stop).
  ~Notifier();

  // Whom to watch: `targets` replaces the watched set (at start, from
  // NotificationSettings::ListTargets).
  void Watch(const std::vector<NotificationTarget>& targets);
  // An account's setting changed (set, or kOff after Disable or deletion).
  void Update(const NotificationTarget& target);
  // A new message for `handle` is durable (Mailbox's message listener).
  // Quick: one lock, one lookup.
  void OnMessage(absl::string_view handle);

  // Starts / stops the sender thread. Stop abandons pending mails.
  void Start();
  void Stop();

  // Mails sent and failed attempts so far (for tests and stats).
  uint64_t sent() const;
  uint64_t failed_attempts() const;

 private:
  struct Entry {
    NotificationMode mode = NotificationMode::kOff;
    absl::Duration period;
    absl::Time last_mailed = absl::InfinitePast();
    std::optional<absl::Time> due;
    int attempts = 0;
  };

  void Run();
  // Mails `handle` now (no lock held); OK also when the mail was dropped.
  absl::Status MailOne(const std::string& handle, NotificationMode mode);
  // Takes `handle`'s due time off the schedule (mu_ held).
  void Unschedule(const std::string& handle, Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Schedule(const std::string& handle, Entry& e, absl::Time due)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration PeriodOf(const NotificationTarget& t) const;

  const std::unique_ptr<SmtpMailer> mailer_;
  const NotifierHooks hooks_;
  const NotifierOptions options_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> watched_ ABSL_GUARDED_BY(mu_);
  // Pending mails by due time.
  std::set<std::pair<absl::Time, std::string>> schedule_ ABSL_GUARDED_BY(mu_);
  absl::CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace sotto::server::notify

#endif  // SOTTO_SERVER_NOTIFY_NOTIFIER_H_
