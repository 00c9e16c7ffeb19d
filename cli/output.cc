#include "output.h"

#include <ostream>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "io.h"
#include "qr.h"
#include "sanitize.h"
#include "sotto/invite.h"
#include "time_parse.h"

namespace sotto::cli {
namespace {

// The first line after a send: where it went, or when it will.
void PrintSent(const SendResult& result) {
  PrintNotices(result.notices);
  const Message& m = result.message;
  const std::string peer = ForTerminal(m.peer, false);
  if (m.state == DeliveryState::kScheduled) {
    Out() << "Scheduled for " << peer << " at " << When(m.server_time_ms) << " (id "
          << ShortId(m.id) << "); cancel with: sotto cancel " << ShortId(m.id) << "\n";
  } else {
    Out() << "Sent to " << peer << " at " << When(m.server_time_ms) << ".\n";
  }
  if (!result.expectation.has_value()) return;
  const ReplyExpectation& e = *result.expectation;
  if (e.due_ms > 0) {
    Out() << "Expect a reply from " << peer << " by " << When(e.due_ms) << " (replies within "
          << FormatBusinessMinutes(static_cast<int>(e.reply_window_minutes)) << ").\n";
  }
  if (e.away_until_ms > 0) {
    Out() << peer << " is away until " << When(e.away_until_ms)
          << (e.away_note.empty() ? "." : absl::StrCat(": ", ForTerminal(e.away_note, false)))
          << "\n";
  } else if (!e.away_note.empty()) {
    Out() << peer << " is away: " << ForTerminal(e.away_note, false) << "\n";
  }
}

// The note that Sotto is not for emergencies, which a client sees after every
// send. It comes from the operator's configuration via the server; if that
// cannot be had (no expectation came back and the policy call failed), a
// built-in one stands in: leaving it out is the one wrong answer.
void PrintEmergencyNote(Client& client, const std::vector<SendResult>& results) {
  for (const SendResult& r : results) {
    if (r.expectation.has_value() && !r.expectation->emergency_note.empty()) {
      Out() << ForTerminal(r.expectation->emergency_note, false) << "\n";
      return;
    }
  }
  if (!results.empty()) {
    if (auto view = client.GetPolicy(results.front().message.peer);
        view.ok() && !view->emergency_note.empty()) {
      Out() << ForTerminal(view->emergency_note, false) << "\n";
      return;
    }
  }
  Out() << "Sotto is not for emergencies. If you are in crisis, call or text 988, "
           "or call your local emergency number.\n";
}

}  // namespace

int Fail(const absl::Status& status, bool verbose) {
  // One line, whatever the message holds, so scripts can rely on it; the
  // message may quote the server, so it is made safe to print too.
  Err() << "sotto: " << ForTerminal(status.message(), /*multiline=*/false) << "\n";
  if (verbose) {
    status.ForEachPayload([](absl::string_view type_url, const absl::Cord& payload) {
      Err() << "sotto: detail (" << ForTerminal(type_url, false)
            << "): " << ForTerminal(std::string(payload), false) << "\n";
    });
  }
  return kExitError;
}

std::string When(int64_t unix_ms) {
  return FormatWhen(absl::FromUnixMillis(unix_ms), LocalZone(), absl::Now());
}

std::string When(absl::Time t) { return FormatWhen(t, LocalZone(), absl::Now()); }

std::string ShortId(absl::string_view id) { return std::string(id.substr(0, 8)); }

const char* StateName(DeliveryState state) {
  // For people: the one two-word state reads better with a space.
  return state == DeliveryState::kNotSent ? "not sent" : DeliveryStateName(state);
}

const char* StateName(ConversationState state) {
  switch (state) {
    case ConversationState::kWaiting:
      return "waiting";
    case ConversationState::kAnswered:
      return "answered";
    case ConversationState::kSnoozed:
      return "snoozed";
    case ConversationState::kClosed:
      return "closed";
  }
  return "waiting";
}

std::string GroupDigits(const std::string& digits) {
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 5) {
    if (i > 0) out += (i % 20 == 0) ? "\n" : " ";
    out += digits.substr(i, 5);
  }
  return out;
}

void PrintNotices(const std::vector<IdentityNotice>& notices) {
  for (const IdentityNotice& n : notices) {
    Err() << (n.kind == IdentityNotice::Kind::kHeld ? "WARNING: " : "notice: ")
          << ForTerminal(n.text, /*multiline=*/false) << "\n";
  }
}

void PrintMessage(const Message& m, const std::string& me,
                  const std::vector<Message>* conversation) {
  Out() << "── " << ShortId(m.id) << "  " << When(m.server_time_ms) << "  "
        << (m.outgoing ? me + (m.from_device == 0
                                   ? std::string(" (you)")
                                   : absl::StrCat(" (you, from device ", m.from_device, ")"))
                       : ForTerminal(m.peer, false));
  if (m.outgoing) Out() << "  [" << StateName(m.state) << "]";
  Out() << "\n";
  if (m.state == DeliveryState::kNotSent) {
    Out() << "   not on the server yet (" << ForTerminal(m.failure, false)
          << "); it goes with the next `sotto sync` or `sotto retry`\n";
  } else if (m.state == DeliveryState::kFailed) {
    Out() << "   refused: " << ForTerminal(m.failure, false) << " (`sotto retry` tries again, "
          << "`sotto cancel " << ShortId(m.id) << "` discards it)\n";
  }
  if (m.kind == MessageKind::kLetter) {
    Out() << "Subject: " << ForTerminal(m.subject, false) << "\n";
    if (!m.in_reply_to.empty()) {
      std::string parent_subject;
      if (conversation != nullptr) {
        for (const Message& other : *conversation) {
          if (other.id == m.in_reply_to) parent_subject = other.subject;
        }
      }
      if (parent_subject.empty()) {
        absl::string_view own = m.subject;
        absl::ConsumePrefix(&own, "Re: ");
        parent_subject = std::string(own);
      }
      Out() << "  ↳ re: " << ForTerminal(parent_subject, false) << " (" << ShortId(m.in_reply_to)
            << ")\n";
    }
    Out() << "\n";
  }
  // Every body line is indented, so a message can't forge the "── " header
  // of another one; its text is made safe to print first.
  for (absl::string_view line : absl::StrSplit(ForTerminal(m.text, true), '\n')) {
    Out() << "  " << line << "\n";
  }
  Out() << "\n";
}

void ReportSends(Client& client, const std::vector<SendResult>& results) {
  for (const SendResult& r : results) PrintSent(r);
  if (client.role() == Role::kClient) PrintEmergencyNote(client, results);
}

void PrintPolicy(const std::string& therapist, const ResponsePolicy& p) {
  Out() << ForTerminal(therapist, false) << "'s response policy\n";
  Out() << "  Working days:  " << FormatWeekdays(p.working_days) << "\n";
  Out() << "  Working hours: " << FormatMinuteOfDay(p.day_start_minute) << "-"
        << FormatMinuteOfDay(p.day_end_minute) << " (" << ForTerminal(p.time_zone, false) << ")\n";
  Out() << "  Reply window:  " << FormatBusinessMinutes(p.reply_window_minutes) << "\n";
  if (p.away_until_ms > absl::ToUnixMillis(absl::Now())) {
    Out() << "  Away:          " << When(p.away_from_ms) << " until " << When(p.away_until_ms)
          << "\n";
    if (!p.away_note.empty()) {
      Out() << "  Away note:     " << ForTerminal(p.away_note, false) << "\n";
    }
  } else {
    Out() << "  Away:          no\n";
  }
}

void PrintInviteTrust(const std::string& therapist, const std::string& invite_code) {
  absl::StatusOr<InviteCode> code = ParseInviteCode(invite_code);
  if (code.ok() && code->has_key_commitment()) {
    Out() << "The invite carries " << therapist << "'s key fingerprint: their key is checked "
          << "at first contact, and they are verified from the first message.\n";
    return;
  }
  Out() << "NOTE: this invite code has no key fingerprint (an older 12-character code), so "
        << "Sotto cannot check that the key the server gives for " << therapist
        << " is theirs. They are NOT verified: compare safety numbers with them in person or "
        << "by video (`sotto safety-number " << therapist << "`, then `sotto verify " << therapist
        << "`).\n";
}

void PrintQr(const std::string& text) {
  absl::StatusOr<std::string> qr = QrTerminal(text);
  if (!qr.ok()) {
    Out() << "(no QR code: " << qr.status().message() << ")\n";
    return;
  }
  Out() << *qr;
}

}  // namespace sotto::cli
