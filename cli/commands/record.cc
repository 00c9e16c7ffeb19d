// export, verify-export: the clinical record (issue 16, docs/RECORD.md).
// `export` writes a conversation from the local history into a directory,
// signed with the account's identity key; nothing goes to the server.
// `verify-export` checks such a directory on any machine, with or without a
// profile, and names what was changed.

#include "sotto/record.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "commands/commands.h"
#include "io.h"
#include "output.h"
#include "sanitize.h"
#include "time_parse.h"

namespace sotto::cli {
namespace {

struct ExportArgs {
  std::string peer;
  std::string out;
  std::string from;
  std::string to;
};

bool IsBareDate(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

// --from/--to as a time; a bare date in --to means the end of that day, so
// that `--from 2026-12-01 --to 2026-12-31` includes the 31st.
absl::StatusOr<absl::Time> RangeBound(absl::string_view flag, const std::string& text,
                                      bool end_of_day) {
  const absl::TimeZone zone = LocalZone();
  absl::StatusOr<absl::Time> t = ParseWhen(text, absl::Now(), zone);
  if (!t.ok()) return ForFlag(flag, t.status());
  if (end_of_day && IsBareDate(text)) {
    return absl::FromCivil(absl::ToCivilDay(*t, zone) + 1, zone);
  }
  return t;
}

absl::Status Export(Context& context, const ExportArgs& a) {
  RecordExportOptions options;
  options.out_dir = ResolvePath(a.out);
  if (!a.from.empty()) {
    absl::StatusOr<absl::Time> from = RangeBound("--from", a.from, false);
    if (!from.ok()) return from.status();
    options.from = *from;
  }
  if (!a.to.empty()) {
    absl::StatusOr<absl::Time> to = RangeBound("--to", a.to, true);
    if (!to.ok()) return to.status();
    options.to = *to;
  }
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) return client.status();
  absl::StatusOr<RecordExportResult> result = (*client)->ExportRecord(a.peer, options);
  if (!result.ok()) return result.status();
  Out() << "Exported " << result->message_count << " message"
        << (result->message_count == 1 ? "" : "s") << " with " << a.peer << " to " << result->dir
        << "\n  " << kRecordJsonFile << "  every message, machine-readable\n  " << kRecordHtmlFile
        << "  to read and print\n  " << kRecordSignatureFile << "   signed with your identity key\n"
        << "Your key's fingerprint (your half of every safety number):\n  "
        << result->signer_fingerprint << "\n"
        << "Made from this device's history; nothing was sent to the server.\n"
        << "Check it with `sotto verify-export " << a.out << "`.\n";
  return absl::OkStatus();
}

// What the profile here knows of the signer's key; a line to print and
// whether it is a problem. nullopt when there is no profile to ask.
struct SignerNote {
  std::string line;
  bool problem = false;
  // The key is known to be the signer's: your own, or one you verified.
  bool confirmed = false;
};

std::optional<SignerNote> CheckWithProfile(Context& context, const RecordVerification& v) {
  std::error_code ec;
  if (!std::filesystem::exists(context.profile_dir(), ec)) return std::nullopt;
  absl::StatusOr<Client*> client = context.Open();
  if (!client.ok()) {
    return SignerNote{
        absl::StrCat("(Not compared with your contacts: ", client.status().message(), ")"), false};
  }
  const std::string signer = ForTerminal(v.signer_handle, false);
  absl::StatusOr<RecordSignerMatch> match =
      (*client)->CheckRecordSigner(v.signer_handle, v.signer_identity_key);
  if (!match.ok()) {
    return SignerNote{
        absl::StrCat("(Not compared with your contacts: ", match.status().message(), ")"), false};
  }
  switch (*match) {
    case RecordSignerMatch::kOwnKey:
      return SignerNote{"The key is your own: you signed this record.", false, true};
    case RecordSignerMatch::kVerifiedContact:
      return SignerNote{absl::StrCat("The key is the one you verified for ", signer, "."), false,
                        true};
    case RecordSignerMatch::kUnverifiedContact:
      return SignerNote{absl::StrCat("The key is the one your profile holds for ", signer,
                                     " (not verified: compare the safety number with them)."),
                        false};
    case RecordSignerMatch::kDifferentKey:
      return SignerNote{absl::StrCat("The key is NOT the one your profile holds for ", signer,
                                     ": someone else signed this record."),
                        true};
    case RecordSignerMatch::kUnknown:
      return SignerNote{absl::StrCat("Your profile knows no key of ", signer,
                                     ": compare the fingerprint with them."),
                        false};
  }
  return std::nullopt;
}

absl::Status VerifyExport(Context& context, const std::string& dir, bool no_profile) {
  absl::StatusOr<RecordVerification> v = VerifyRecordExport(ResolvePath(dir));
  if (!v.ok()) return v.status();
  const std::string signer = ForTerminal(v->signer_handle, false);
  std::optional<SignerNote> note;
  if (!no_profile && v->ok()) note = CheckWithProfile(context, *v);
  const std::string what =
      absl::StrCat(" (", ForTerminal(v->signer_role, false), ") with ", ForTerminal(v->peer, false),
                   ", ", v->message_count, " message", v->message_count == 1 ? "" : "s",
                   ", exported ", When(v->exported_at_ms));
  if (v->ok() && note && note->confirmed) {
    Out() << "Verified: the record of " << signer << what << ", is exactly as signed.\n";
  } else if (v->ok() && !(note && note->problem)) {
    // Anyone can sign a record naming anyone with a key of their own: say
    // whose it is only once the key is known to be theirs.
    Out() << "Intact, signer NOT confirmed: the record naming " << signer << what
          << ", is exactly as signed by the key in record.sig, but nothing here confirms that "
          << "key is " << signer << "'s: compare its fingerprint below with them.\n";
  } else {
    Out() << "NOT VERIFIED: " << dir << "\n";
    for (const std::string& p : v->problems) Out() << "  - " << ForTerminal(p, false) << "\n";
  }
  if (!v->signer_fingerprint.empty()) {
    Out() << (v->ok() ? "Signed by " : "record.sig names ") << signer
          << ", identity key fingerprint:\n  " << v->signer_fingerprint << "\nThese digits are "
          << signer << "'s half of a safety number with them "
          << "(`sotto safety-number " << signer << "` on a device that talks to them).\n";
  }
  if (note) Out() << note->line << "\n";
  if (!v->ok()) {
    return absl::DataLossError(absl::StrCat(
        "the export in ", dir, " does not verify: ", ForTerminal(v->problems.front(), false),
        v->problems.size() > 1 ? absl::StrCat(" (and ", v->problems.size() - 1, " more)") : ""));
  }
  if (note && note->problem) {
    return absl::PermissionDeniedError(
        absl::StrCat("the export in ", dir, " is signed by a key that is not ", signer, "'s"));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterRecordCommands(CLI::App& app, Context& context) {
  CLI::App* exp = app.add_subcommand(
      "export",
      "Export the conversation with USER for the clinical record: signed JSON and a printable "
      "document (from this device's history; nothing goes to the server)");
  auto args = std::make_shared<ExportArgs>();
  exp->add_option("user", args->peer, "Their handle")->required();
  exp->add_option("--out", args->out, "A new directory for the export (never overwritten)")
      ->required();
  exp->add_option("--from", args->from, "Only messages from WHEN on")->type_name("WHEN");
  exp->add_option("--to", args->to, "Only messages before WHEN (a date: up to its end)")
      ->type_name("WHEN");
  exp->footer(kWhenHelp);
  exp->callback(
      [&context, args] { context.Then([&context, args] { return Export(context, *args); }); });

  CLI::App* verify = app.add_subcommand(
      "verify-export",
      "Check an export (sotto export): names every altered, removed or added message; exit "
      "status 0 only if it is exactly as signed");
  auto dir = std::make_shared<std::string>();
  auto no_profile = std::make_shared<bool>(false);
  verify->add_option("dir", *dir, "The export's directory")->required();
  verify->add_flag("--no-profile", *no_profile,
                   "Do not compare the signer's key with your profile's contacts");
  verify->callback([&context, dir, no_profile] {
    context.Then([&context, dir, no_profile] { return VerifyExport(context, *dir, *no_profile); });
  });
}

}  // namespace sotto::cli
