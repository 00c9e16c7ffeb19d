#include "client-lib/record/record_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client-lib/history/history_book.h"
#include "client-lib/profile/handle.h"
#include "client-lib/record/record_format.h"
#include "client-lib/record/record_html.h"
#include "client-lib/signal/identity_signature.h"
#include "sotto/status_macros.h"
#include "sotto/types.h"

namespace sotto::client::record {
namespace {

// What is written, made under the profile's lock; the files are written
// after it is released.
struct Prepared {
  std::string json, html, sig;
  size_t count = 0;
  std::string fingerprint;
};

RecordMessage ToRecord(const Message& m, const std::string& self) {
  RecordMessage r;
  r.id = m.id;
  r.direction = m.outgoing ? "sent" : "received";
  r.from = ValidUtf8(m.outgoing ? self : m.peer);
  r.to = ValidUtf8(m.outgoing ? m.peer : self);
  r.kind = m.kind == MessageKind::kLetter ? "letter" : "text";
  r.subject = ValidUtf8(m.subject);
  r.body = ValidUtf8(m.text);
  r.in_reply_to = m.in_reply_to;
  r.thread_id = m.thread_id;
  r.server_time_ms = m.server_time_ms;
  r.sent_at_ms = m.sent_at_ms;
  r.state = DeliveryStateName(m.state);
  return r;
}

// Refuses to overwrite: an export is evidence, and a second one into the
// same place would leave files of two exports side by side.
absl::Status CheckOutDir(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot use ", dir, " for the export: ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not a directory"));
  }
  for (const char* name : {kRecordJsonFile, kRecordHtmlFile, kRecordSignatureFile}) {
    const std::string path = absl::StrCat(dir, "/", name);
    if (access(path.c_str(), F_OK) == 0) {
      return absl::AlreadyExistsError(
          absl::StrCat(dir, " already holds an export (", name,
                       "); choose a new directory: an export is never overwritten"));
    }
  }
  return absl::OkStatus();
}

absl::Status WriteNewFile(const std::string& path, absl::string_view bytes) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      close(fd);
      return absl::UnavailableError(absl::StrCat("writing ", path, ": ", std::strerror(saved)));
    }
    done += static_cast<size_t>(n);
  }
  // A record that is filed must be on disk when the command says so.
  const bool synced = fsync(fd) == 0;
  const int saved = errno;
  if (close(fd) != 0 || !synced) {
    return absl::UnavailableError(absl::StrCat("writing ", path, ": ", std::strerror(saved)));
  }
  return absl::OkStatus();
}

// record.json, record.html, then record.sig: a directory without the
// signature is visibly unfinished. On failure the files made are removed.
absl::Status WriteExport(const std::string& dir, const Prepared& p) {
  SOTTO_RETURN_IF_ERROR(CheckOutDir(dir));
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the directory ", dir, ": ", std::strerror(errno)));
  }
  std::vector<std::string> made;
  const std::pair<const char*, const std::string*> files[] = {
      {kRecordJsonFile, &p.json}, {kRecordHtmlFile, &p.html}, {kRecordSignatureFile, &p.sig}};
  for (const auto& [name, bytes] : files) {
    const std::string path = absl::StrCat(dir, "/", name);
    absl::Status s = WriteNewFile(path, *bytes);
    if (!s.ok()) {
      if (s.code() != absl::StatusCode::kFailedPrecondition) unlink(path.c_str());
      for (const std::string& m : made) unlink(m.c_str());
      return s;
    }
    made.push_back(path);
  }
  return absl::OkStatus();
}

absl::StatusOr<Prepared> Prepare(ProfileSession& session, absl::string_view peer,
                                 const RecordExportOptions& options)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(session.mu) {
  const std::string self = session.profile().handle();
  // ReadConversation's writes (marking read) are not applied: exporting is
  // not reading, and a receipt must not go out because of it.
  SOTTO_ASSIGN_OR_RETURN(history::ConversationRead read,
                         history::ReadConversation(session.store(), peer, session.NowMs(),
                                                   /*read_receipts=*/false));
  RecordHeader header;
  header.exporter_handle = self;
  header.exporter_role =
      static_cast<Role>(session.profile().role()) == Role::kTherapist ? "therapist" : "client";
  SOTTO_ASSIGN_OR_RETURN(header.identity_key, session.engine().IdentityPublicKey());
  header.peer = std::string(peer);
  if (options.from != absl::InfinitePast()) header.from_ms = absl::ToUnixMillis(options.from);
  if (options.to != absl::InfiniteFuture()) header.to_ms = absl::ToUnixMillis(options.to);
  header.exported_at_ms = session.NowMs();
  std::vector<RecordMessage> messages;
  for (const Message& m : read.messages) {
    const int64_t t = m.server_time_ms != 0 ? m.server_time_ms : m.sent_at_ms;
    if ((header.from_ms && t < *header.from_ms) || (header.to_ms && t >= *header.to_ms)) continue;
    messages.push_back(ToRecord(m, self));
  }
  header.message_count = static_cast<int64_t>(messages.size());

  Prepared p;
  SOTTO_ASSIGN_OR_RETURN(std::string digits,
                         signal::IdentityFingerprintHalf(self, header.identity_key));
  p.fingerprint = GroupDigits(digits);
  p.json = RecordJson(header, messages);
  p.html = RecordHtml(header, messages, p.fingerprint);
  p.count = messages.size();
  Manifest manifest;
  manifest.json_sha256 = Sha256Hex(p.json);
  manifest.html_sha256 = Sha256Hex(p.html);
  manifest.header_digest = HeaderDigest(header);
  for (const RecordMessage& m : messages) {
    manifest.messages.push_back(ManifestEntry{m.id, m.server_time_ms, MessageDigest(m)});
  }
  SignatureFile sig;
  sig.signer = self;
  sig.identity_key = header.identity_key;
  sig.manifest = ManifestText(manifest);
  SOTTO_ASSIGN_OR_RETURN(sig.signature, session.engine().SignWithIdentity(sig.manifest));
  p.sig = SignatureFileText(sig);
  return p;
}

}  // namespace

std::string GroupDigits(absl::string_view digits) {
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && i % 5 == 0) out += ' ';
    out += digits[i];
  }
  return out;
}

absl::StatusOr<RecordExportResult> ExportRecord(ProfileSession& session, absl::string_view peer,
                                                const RecordExportOptions& options) {
  SOTTO_RETURN_IF_ERROR(ValidateHandle(peer));
  if (options.out_dir.empty()) {
    return absl::InvalidArgumentError("the export needs a directory to write to");
  }
  if (options.from >= options.to) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the export's range is empty: from ", absl::FormatTime(options.from, absl::UTCTimeZone()),
        " is not before to ", absl::FormatTime(options.to, absl::UTCTimeZone())));
  }
  // Checked before the history is read, so a taken directory costs nothing.
  SOTTO_RETURN_IF_ERROR(CheckOutDir(options.out_dir));
  Prepared prepared;
  {
    absl::MutexLock lock(&session.mu);
    SOTTO_RETURN_IF_ERROR(session.Enter());
    SOTTO_ASSIGN_OR_RETURN(prepared, Prepare(session, peer, options));
  }
  SOTTO_RETURN_IF_ERROR(WriteExport(options.out_dir, prepared));
  return RecordExportResult{options.out_dir, prepared.count, prepared.fingerprint};
}

absl::StatusOr<RecordSignerMatch> CheckRecordSigner(ProfileSession& session,
                                                    absl::string_view handle,
                                                    absl::string_view identity_key) {
  SOTTO_RETURN_IF_ERROR(ValidateHandle(handle));
  absl::MutexLock lock(&session.mu);
  SOTTO_RETURN_IF_ERROR(session.Enter());
  signal::Engine& engine = session.engine();
  if (handle == session.profile().handle()) {
    SOTTO_ASSIGN_OR_RETURN(std::string own, engine.IdentityPublicKey());
    return own == identity_key ? RecordSignerMatch::kOwnKey : RecordSignerMatch::kDifferentKey;
  }
  SOTTO_ASSIGN_OR_RETURN(auto trusted, engine.TrustedIdentity(handle));
  if (!trusted) return RecordSignerMatch::kUnknown;
  if (*trusted != identity_key) return RecordSignerMatch::kDifferentKey;
  SOTTO_ASSIGN_OR_RETURN(bool verified, engine.IsVerified(handle));
  return verified ? RecordSignerMatch::kVerifiedContact : RecordSignerMatch::kUnverifiedContact;
}

}  // namespace sotto::client::record
