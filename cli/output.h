#ifndef SOTTO_CLI_OUTPUT_H_
#define SOTTO_CLI_OUTPUT_H_

// How `sotto` prints for a person: errors, messages, send results, policies.
// Text that came from someone else (message bodies, subjects, notes, the
// server's words) goes through ForTerminal (sanitize.h) before it is
// printed. The --json shapes are in json_output.h.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sotto/client.h"

namespace sotto::cli {

inline constexpr int kExitError = 1;

// Prints `status` as one line on stderr ("sotto: <message>") and returns
// kExitError. With `verbose`, each payload of the status (the technical
// detail the client library keeps, e.g. under "sotto.dev/detail") follows
// on a line of its own.
int Fail(const absl::Status& status, bool verbose = false);

// "Tue 1 Dec 09:00" in local time (time_parse.h's FormatWhen).
std::string When(int64_t unix_ms);
std::string When(absl::Time t);

// The first 8 characters of a message id: what `read` shows and `reply`,
// `cancel` accept.
std::string ShortId(absl::string_view id);

// "scheduled", "sent", "delivered", "read", "cancelled", "not sent",
// "failed".
const char* StateName(DeliveryState state);
// "waiting", "answered", "snoozed", "closed".
const char* StateName(ConversationState state);

// 60 digits as 12 groups of 5, three lines of four.
std::string GroupDigits(const std::string& digits);

// Identity notices, one line each on stderr.
void PrintNotices(const std::vector<IdentityNotice>& notices);

// After joining `therapist` with `invite_code` (init --invite, accept-invite):
// whether their key will be checked against the invite, or trusted on first
// use because the code carried no key fingerprint.
void PrintInviteTrust(const std::string& therapist, const std::string& invite_code);

// One message as `read` and `sync --wait` show it. `conversation` (may be
// null) is where a letter's parent is looked up to name its subject.
void PrintMessage(const Message& m, const std::string& me,
                  const std::vector<Message>* conversation);

// Each send's first lines (where it went or when it will, the reply
// expectation), then for a client the note that Sotto is not for
// emergencies.
void ReportSends(Client& client, const std::vector<SendResult>& results);

void PrintPolicy(const std::string& therapist, const ResponsePolicy& p);

// `text` as a QR code in Unicode half blocks (qr.h), for comparing or
// copying in person; a line saying why when it cannot be drawn.
void PrintQr(const std::string& text);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_OUTPUT_H_
