#ifndef SOTTO_SERVER_NOTIFY_SMTP_MAILER_H_
#define SOTTO_SERVER_NOTIFY_SMTP_MAILER_H_

// Hands one mail to the operator's SMTP relay (libcurl's SMTP client:
// dot-stuffing, CRLF framing, reply codes, STARTTLS and AUTH are its
// business). Used only by the notifier's sender thread: a mail never runs
// on an RPC's thread.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sotto::server::notify {

struct SmtpOptions {
  // host:port of the relay, e.g. "127.0.0.1:25". Empty: no mail is sent at
  // all (the Notifications RPCs answer FAILED_PRECONDITION).
  std::string relay;
  // The envelope sender and From: header, e.g. "sotto@clinic.example".
  std::string from;
  // Upgrade the connection with STARTTLS and refuse to send without it
  // (certificate checked against the system roots, or `ca_file`).
  bool starttls = false;
  std::string ca_file;
  // AUTH (after STARTTLS only): both empty means none.
  std::string username;
  std::string password;
  // One whole SMTP conversation.
  absl::Duration timeout = absl::Seconds(30);
};

// INVALID_ARGUMENT naming the option that cannot work: a relay that is not
// host:port, a `from` that is not an address, a username without
// STARTTLS (credentials never cross the network in clear).
absl::Status CheckSmtpOptions(const SmtpOptions& options);

// One mail, plain text. `subject` and `body` are ours (fixed wording); `to`
// has passed ValidateEmailAddress.
struct Mail {
  std::string to;
  std::string subject;
  std::string body;  // lines separated by "\n"
};

// The whole message as sent: headers (From, To, Subject, Date, Message-ID,
// MIME) and body, CRLF line ends. Exposed for tests.
std::string FormatMail(const SmtpOptions& options, const Mail& mail, absl::Time now);

class SmtpMailer {
 public:
  explicit SmtpMailer(SmtpOptions options);
  SmtpMailer(const SmtpMailer&) = delete;
  SmtpMailer& operator=(const SmtpMailer&) = delete;

  // Sends `mail` through the relay; OK once the relay accepted it (250
  // after DATA). UNAVAILABLE when the relay cannot be reached, refuses or
  // times out: the message names libcurl's error class only, never the
  // relay's reply text (which may quote the address). Not thread-safe:
  // one sender thread uses it.
  absl::Status Send(const Mail& mail);

 private:
  const SmtpOptions options_;
};

}  // namespace sotto::server::notify

#endif  // SOTTO_SERVER_NOTIFY_SMTP_MAILER_H_
