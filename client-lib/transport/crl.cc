#include "client-lib/transport/crl.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client-lib/transport/openssl_ptr.h"
#include "client-lib/transport/x509_text.h"

namespace sotto::client::transport {
namespace {

constexpr absl::string_view kCrlBegin = "-----BEGIN X509 CRL-----";
constexpr absl::string_view kCrlEnd = "-----END X509 CRL-----";

std::string PemOf(X509_CRL* crl) {
  SslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

// Each PEM block with its parsed CRL.
struct ParsedCrl {
  CrlInfo info;
  SslPtr<X509_CRL> crl;
};

absl::StatusOr<std::vector<ParsedCrl>> Parse(absl::string_view pem) {
  std::vector<ParsedCrl> out;
  size_t at = 0;
  while ((at = pem.find(kCrlBegin, at)) != absl::string_view::npos) {
    const size_t end = pem.find(kCrlEnd, at);
    if (end == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("CRL ", out.size() + 1, " has no \"", kCrlEnd, "\" line"));
    }
    const absl::string_view block = pem.substr(at, end + kCrlEnd.size() - at);
    at = end + kCrlEnd.size();
    SslPtr<BIO> bio(BIO_new_mem_buf(block.data(), static_cast<int>(block.size())));
    SslPtr<X509_CRL> crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)
                             : nullptr);
    ERR_clear_error();
    if (!crl) {
      return absl::InvalidArgumentError(
          absl::StrCat("CRL ", out.size() + 1, " in the PEM does not parse as an X.509 CRL"));
    }
    ParsedCrl parsed;
    parsed.info.issuer = X509NameText(X509_CRL_get_issuer(crl.get()));
    parsed.info.last_update = X509TimeOf(X509_CRL_get0_lastUpdate(crl.get()));
    parsed.info.next_update = X509TimeOf(X509_CRL_get0_nextUpdate(crl.get()));
    parsed.info.pem = PemOf(crl.get());
    parsed.crl = std::move(crl);
    out.push_back(std::move(parsed));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no certificate revocation list in it (expected a PEM \"", kCrlBegin, "\" block)"));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<CrlInfo>> ParseCrls(absl::string_view pem) {
  absl::StatusOr<std::vector<ParsedCrl>> parsed = Parse(pem);
  if (!parsed.ok()) return parsed.status();
  std::vector<CrlInfo> out;
  for (ParsedCrl& p : *parsed) out.push_back(std::move(p.info));
  return out;
}

absl::StatusOr<std::string> MergeCrls(absl::string_view stored, absl::string_view given) {
  std::vector<CrlInfo> all;
  if (!stored.empty()) {
    absl::StatusOr<std::vector<CrlInfo>> old = ParseCrls(stored);
    if (!old.ok()) {
      return absl::DataLossError(
          absl::StrCat("the CRLs stored in the profile do not parse: ", old.status().message()));
    }
    all = std::move(*old);
  }
  if (!given.empty()) {
    absl::StatusOr<std::vector<CrlInfo>> fresh = ParseCrls(given);
    if (!fresh.ok()) return fresh.status();
    for (CrlInfo& c : *fresh) all.push_back(std::move(c));
  }
  // Issuer -> index into `kept`, in order of first appearance.
  std::map<std::string, size_t> by_issuer;
  std::vector<CrlInfo> kept;
  for (CrlInfo& c : all) {
    auto [it, inserted] = by_issuer.emplace(c.issuer, kept.size());
    if (inserted) {
      kept.push_back(std::move(c));
    } else if (c.last_update >= kept[it->second].last_update) {
      kept[it->second] = std::move(c);
    }
  }
  std::string out;
  for (const CrlInfo& c : kept) out += c.pem;
  return out;
}

absl::Status CheckCrlsCurrent(absl::string_view pem, absl::Time now) {
  if (pem.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<CrlInfo>> crls = ParseCrls(pem);
  if (!crls.ok()) return crls.status();
  for (const CrlInfo& c : *crls) {
    if (c.next_update < now) {
      return absl::FailedPreconditionError(absl::StrCat(
          "TLS: the certificate revocation list of ", c.issuer, " is out of date (next update was ",
          absl::FormatTime("%Y-%m-%d %H:%M UTC", c.next_update, absl::UTCTimeZone()),
          "), so no certificate of that issuer can be checked; get a current CRL from your "
          "provider (sotto --crl FILE); nothing was sent"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CrlDirectory>> CrlDirectory::Create(absl::string_view pem) {
  absl::StatusOr<std::vector<ParsedCrl>> crls = Parse(pem);
  if (!crls.ok()) return crls.status();
  const char* tmp = getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/sotto-crl-XXXXXX");
  // mkdtemp makes it 0700: nobody else can add or swap a list in it.
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("creating a directory for the CRLs: ", std::strerror(errno)));
  }
  std::unique_ptr<CrlDirectory> dir(new CrlDirectory(pattern));
  std::map<unsigned long, int> seen;
  for (const ParsedCrl& c : *crls) {
    int ok = 0;
    const unsigned long hash =
        X509_NAME_hash_ex(X509_CRL_get_issuer(c.crl.get()), nullptr, nullptr, &ok);
    if (ok != 1) return absl::InternalError("hashing a CRL issuer's name failed");
    const std::string path = absl::StrFormat("%s/%08lx.r%d", dir->path(), hash, seen[hash]++);
    std::ofstream out(path, std::ios::binary);
    out << c.info.pem;
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("writing ", path, " failed"));
  }
  return dir;
}

CrlDirectory::~CrlDirectory() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace sotto::client::transport
