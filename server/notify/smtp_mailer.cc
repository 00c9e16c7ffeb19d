#include "server/notify/smtp_mailer.h"

#include <curl/curl.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "sotto/email_address.h"

namespace sotto::server::notify {
namespace {

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// The payload handed to libcurl piece by piece.
struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadPayload(char* buffer, size_t size, size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  const size_t room = size * count;
  const size_t left = up->data->size() - up->offset;
  const size_t n = left < room ? left : room;
  std::memcpy(buffer, up->data->data() + up->offset, n);
  up->offset += n;
  return n;
}

std::string RandomId() {
  unsigned char b[12];
  if (RAND_bytes(b, sizeof b) != 1) return "0";
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace

absl::Status CheckSmtpOptions(const SmtpOptions& options) {
  if (options.relay.empty()) return absl::OkStatus();
  const size_t colon = options.relay.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(options.relay.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--smtp-relay must be host:port, got \"", options.relay, "\""));
  }
  if (absl::Status s = ValidateEmailAddress(options.from, "--smtp-from"); !s.ok()) return s;
  if ((!options.username.empty() || !options.password.empty()) && !options.starttls) {
    return absl::InvalidArgumentError(
        "--smtp-user needs --smtp-starttls: credentials are not sent in clear");
  }
  return absl::OkStatus();
}

std::string FormatMail(const SmtpOptions& options, const Mail& mail, absl::Time now) {
  std::string body = absl::StrReplaceAll(mail.body, {{"\r\n", "\n"}});
  body = absl::StrReplaceAll(body, {{"\n", "\r\n"}});
  const std::string domain = options.from.substr(options.from.find('@') + 1);
  return absl::StrCat(
      "From: Sotto <", options.from, ">\r\n", "To: <", mail.to, ">\r\n", "Subject: ", mail.subject,
      "\r\n", "Date: ", absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", now, absl::UTCTimeZone()),
      "\r\n", "Message-ID: <", RandomId(), "@", domain, ">\r\n", "MIME-Version: 1.0\r\n",
      "Content-Type: text/plain; charset=utf-8\r\n", "Content-Transfer-Encoding: 8bit\r\n",
      "Auto-Submitted: auto-generated\r\n", "\r\n", body,
      body.size() >= 2 && body.substr(body.size() - 2) == "\r\n" ? "" : "\r\n");
}

SmtpMailer::SmtpMailer(SmtpOptions options) : options_(std::move(options)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

absl::Status SmtpMailer::Send(const Mail& mail) {
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return absl::UnavailableError("cannot start an SMTP client (libcurl)");
  const std::string url = absl::StrCat("smtp://", options_.relay);
  const std::string from = absl::StrCat("<", options_.from, ">");
  const std::string to = absl::StrCat("<", mail.to, ">");
  std::unique_ptr<curl_slist, SlistFree> rcpt(curl_slist_append(nullptr, to.c_str()));
  const std::string payload = FormatMail(options_, mail, absl::Now());
  Upload upload{&payload};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadPayload);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  if (options_.starttls) {
    curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.username.empty()) {
      curl_easy_setopt(c, CURLOPT_USERNAME, options_.username.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
    }
  }
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    // curl_easy_strerror names the class of failure only; the relay's own
    // reply (CURLOPT_ERRORBUFFER) may quote the recipient, so it stays out.
    return absl::UnavailableError(
        absl::StrCat("SMTP relay ", options_.relay, ": ", curl_easy_strerror(rc)));
  }
  return absl::OkStatus();
}

}  // namespace sotto::server::notify
