// safety-number, verify, trust: comparing and accepting identity keys.

#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/escaping.h"
#include "commands/commands.h"
#include "io.h"
#include "json_output.h"
#include "output.h"
#include "terminal.h"

namespace sotto::cli {
namespace {

struct SafetyArgs {
  std::string peer;
  bool json = false;
  bool qr = false;
};

absl::Status ShowSafetyNumber(Context& context, const SafetyArgs& a) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  auto number = (*client)->SafetyNumber(a.peer);
  if (!number.ok()) return number.status();
  if (a.json) {
    Out() << SafetyNumberJson(a.peer, *number);
    return absl::OkStatus();
  }
  const std::string& peer = a.peer;
  if (number->changed) {
    Out() << "WARNING: " << peer
          << "'s identity key CHANGED. This is the number for the NEW key:\n";
  }
  Out() << "Safety number with " << peer << ":\n" << GroupDigits(number->digits) << "\n";
  // The QR code holds the digits as shown: a phone's camera reads them out
  // for comparing with the number on the other person's screen.
  if (a.qr || StdoutIsTerminal()) PrintQr(GroupDigits(number->digits));
  Out() << "Scannable: " << absl::BytesToHexString(number->scannable) << "\n";
  if (number->changed) {
    Out() << "Compare it with " << peer << " (in person or by video); if it "
          << "matches, accept exactly this key with:\n  sotto trust " << peer << " --safety-number "
          << number->digits << "\n";
  } else if (number->verified) {
    Out() << "Verified.\n";
  } else {
    Out() << "Not verified. Compare it with " << peer << "; if it matches, run `sotto verify "
          << peer << "`.\n";
  }
  return absl::OkStatus();
}

absl::Status Verify(Context& context, const std::string& peer) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  if (absl::Status s = (*client)->MarkVerified(peer); !s.ok()) return s;
  Out() << peer << " is verified. If their key changes, sending to them stops "
        << "until you compare again.\n";
  return absl::OkStatus();
}

struct TrustArgs {
  std::string peer;
  std::string safety_number;
};

// Without --safety-number: shows the number of the key pending now and how to
// accept exactly that one; accepts nothing (a key swapped in between showing
// and accepting must not slip through).
absl::Status Trust(Context& context, const TrustArgs& a) {
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  const std::string& peer = a.peer;
  if (a.safety_number.empty()) {
    auto number = (*client)->SafetyNumber(peer);
    if (!number.ok()) return number.status();
    if (!number->changed) {
      return absl::FailedPreconditionError(
          peer + "'s identity key has not changed: there is nothing to accept");
    }
    Out() << "New safety number with " << peer << ":\n"
          << GroupDigits(number->digits) << "\n"
          << "Compare it with " << peer << " in person or by video. If it matches, accept "
          << "exactly this key with:\n  sotto trust " << peer << " --safety-number "
          << number->digits << "\n";
    return absl::FailedPreconditionError(
        "nothing was accepted yet: run again with --safety-number, the number you compared");
  }
  if (absl::Status s = (*client)->AcceptIdentityChange(peer, a.safety_number); !s.ok()) return s;
  Out() << "Accepted " << peer << "'s new identity key (not verified: compare "
        << "it and run `sotto verify " << peer
        << "`). Held messages arrive with the next `sotto sync`.\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterIdentityCommands(CLI::App& app, Context& context) {
  CLI::App* safety = app.add_subcommand(
      "safety-number", "Show the safety number to compare with USER (in person or by video)");
  auto safety_args = std::make_shared<SafetyArgs>();
  safety->add_option("user", safety_args->peer, "Their handle")->required();
  AddJsonFlag(safety, &safety_args->json);
  safety->add_flag("--qr", safety_args->qr,
                   "Also print the number as a QR code (the default when output is a terminal)");
  safety->callback([&context, safety_args] {
    context.Then([&context, safety_args] { return ShowSafetyNumber(context, *safety_args); });
  });

  CLI::App* verify =
      app.add_subcommand("verify", "Record that you compared USER's safety number and it matched");
  auto verify_peer = std::make_shared<std::string>();
  verify->add_option("user", *verify_peer, "Their handle")->required();
  verify->callback([&context, verify_peer] {
    context.Then([&context, verify_peer] { return Verify(context, *verify_peer); });
  });

  CLI::App* trust = app.add_subcommand(
      "trust", "Accept USER's new identity key, the one whose safety number you compared");
  auto trust_args = std::make_shared<TrustArgs>();
  trust->add_option("user", trust_args->peer, "Their handle")->required();
  trust->add_option("--safety-number", trust_args->safety_number,
                    "The 60 digits you compared (spaces allowed); without it, shows them");
  trust->callback([&context, trust_args] {
    context.Then([&context, trust_args] { return Trust(context, *trust_args); });
  });
}

}  // namespace sotto::cli
