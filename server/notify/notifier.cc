#include "server/notify/notifier.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sotto::server::notify {

Notifier::Notifier(std::unique_ptr<SmtpMailer> mailer, NotifierHooks hooks, NotifierOptions options)
    : mailer_(std::move(mailer)), hooks_(std::move(hooks)), options_(options) {}

Notifier::~Notifier() { Stop(); }

absl::Duration Notifier::PeriodOf(const NotificationTarget& t) const {
  return t.mode == NotificationMode::kDigest ? absl::Minutes(t.digest_interval_minutes)
                                             : options_.quiet_period;
}

void Notifier::Watch(const std::vector<NotificationTarget>& targets) {
  absl::MutexLock lock(&mu_);
  watched_.clear();
  schedule_.clear();
  for (const NotificationTarget& t : targets) {
    watched_[t.handle] = Entry{t.mode, PeriodOf(t)};
  }
}

void Notifier::Update(const NotificationTarget& target) {
  absl::MutexLock lock(&mu_);
  auto it = watched_.find(target.handle);
  if (target.mode != NotificationMode::kEachMessage && target.mode != NotificationMode::kDigest) {
    if (it == watched_.end()) return;
    Unschedule(target.handle, it->second);
    watched_.erase(it);
    return;
  }
  if (it == watched_.end()) {
    watched_[target.handle] = Entry{target.mode, PeriodOf(target)};
    return;
  }
  // Keeps the last mail's time and any pending mail: changing the address
  // or mode is no reason to mail sooner.
  it->second.mode = target.mode;
  it->second.period = PeriodOf(target);
}

void Notifier::Unschedule(const std::string& handle, Entry& e) {
  if (e.due) schedule_.erase({*e.due, handle});
  e.due.reset();
}

void Notifier::Schedule(const std::string& handle, Entry& e, absl::Time due) {
  Unschedule(handle, e);
  e.due = due;
  schedule_.insert({due, handle});
  cv_.Signal();
}

void Notifier::OnMessage(absl::string_view handle) {
  absl::MutexLock lock(&mu_);
  auto it = watched_.find(handle);
  if (it == watched_.end() || it->second.due) return;
  Entry& e = it->second;
  e.attempts = 0;
  Schedule(it->first, e, std::max(absl::Now() + options_.delay, e.last_mailed + e.period));
}

void Notifier::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Notifier::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t Notifier::sent() const {
  absl::MutexLock lock(&mu_);
  return sent_;
}

uint64_t Notifier::failed_attempts() const {
  absl::MutexLock lock(&mu_);
  return failed_;
}

void Notifier::Run() {
  while (true) {
    std::string handle;
    NotificationMode mode;
    {
      absl::MutexLock lock(&mu_);
      // Wakes for Stop, for a sooner mail (Schedule signals), or when the
      // first one is due.
      while (!stopping_ && (schedule_.empty() || schedule_.begin()->first > absl::Now())) {
        cv_.WaitWithDeadline(&mu_,
                             schedule_.empty() ? absl::InfiniteFuture() : schedule_.begin()->first);
      }
      if (stopping_) return;
      handle = schedule_.begin()->second;
      mode = watched_.at(handle).mode;
    }
    const absl::Status mailed = MailOne(handle, mode);
    absl::MutexLock lock(&mu_);
    auto it = watched_.find(handle);
    if (it == watched_.end()) continue;  // opted out meanwhile
    Entry& e = it->second;
    if (mailed.ok()) {
      Unschedule(handle, e);
      e.attempts = 0;
      continue;
    }
    ++failed_;
    ++e.attempts;
    const absl::Duration backoff =
        std::min(options_.max_retry, options_.first_retry * (1 << std::min(e.attempts - 1, 16)));
    Schedule(handle, e, absl::Now() + backoff);
    if (hooks_.log) {
      hooks_.log(absl::StrCat("notification mail failed (attempt ", e.attempts, "): ",
                              mailed.message(), "; retrying in ", absl::FormatDuration(backoff)));
    }
  }
}

absl::Status Notifier::MailOne(const std::string& handle, NotificationMode mode) {
  // Reading live: the stream already showed what the mail would announce.
  if (hooks_.streaming && hooks_.streaming(handle)) return absl::OkStatus();
  absl::StatusOr<NotificationSetting> setting = hooks_.setting(handle);
  // A row that does not open is not retried: mailing needs the address.
  if (!setting.ok()) {
    if (hooks_.log) hooks_.log("a notification setting could not be read; mail dropped");
    return absl::OkStatus();
  }
  if (setting->mode != NotificationMode::kEachMessage &&
      setting->mode != NotificationMode::kDigest) {
    return absl::OkStatus();  // opted out or deleted
  }
  Mail mail{setting->email, kNewMessageSubject, kNewMessageBody};
  if (setting->mode == NotificationMode::kDigest && mode == NotificationMode::kDigest) {
    absl::StatusOr<std::optional<std::string>> digest = hooks_.digest(handle);
    if (!digest.ok()) return digest.status();
    if (!digest->has_value()) return absl::OkStatus();  // answered meanwhile
    mail.subject = kDigestSubject;
    mail.body = absl::StrCat(**digest,
                             "\n\nOpen Sotto to answer. To stop these mails: sotto notify --off\n");
  }
  if (absl::Status s = mailer_->Send(mail); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  ++sent_;
  auto it = watched_.find(handle);
  if (it != watched_.end()) it->second.last_mailed = absl::Now();
  return absl::OkStatus();
}

}  // namespace sotto::server::notify
