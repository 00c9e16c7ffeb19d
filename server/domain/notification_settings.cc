#include "server/domain/notification_settings.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "sotto/email_address.h"
#include "server/storage/key_codec.h"
#include "sotto/status_macros.h"

namespace sotto::server {
namespace {

constexpr char kVersion = 0x01;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kHeaderBytes = 1 + 1 + 4;
constexpr size_t kScanBatch = 1000;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// The associated data binds a sealed address to its row's handle and the
// row's header, so neither can be swapped without the open failing.
std::string AssociatedData(absl::string_view handle, absl::string_view header) {
  return absl::StrCat("sotto.notification.v1", std::string(1, '\0'), handle, header);
}

absl::StatusOr<std::string> Seal(const std::string& key, absl::string_view ad,
                                 absl::string_view plaintext) {
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonceBytes) != 1) {
    return absl::UnavailableError("no randomness for sealing the notification address");
  }
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string out(plaintext.size() + kTagBytes, '\0');
  int len = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(ad.data()),
                        static_cast<int>(ad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, o + plaintext.size()) != 1) {
    return absl::InternalError("sealing the notification address failed");
  }
  return nonce + out;
}

absl::StatusOr<std::string> Open(const std::string& key, absl::string_view ad,
                                 absl::string_view sealed) {
  auto corrupt = absl::DataLossError(
      "a stored notification address does not open under the notification key "
      "(wrong key file, or the row was altered)");
  if (sealed.size() < kNonceBytes + kTagBytes) return corrupt;
  const absl::string_view nonce = sealed.substr(0, kNonceBytes);
  const absl::string_view body =
      sealed.substr(kNonceBytes, sealed.size() - kNonceBytes - kTagBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  std::string out(body.size(), '\0');
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(ad.data()),
                        static_cast<int>(ad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), o, &len, reinterpret_cast<const unsigned char*>(body.data()),
                        static_cast<int>(body.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + len, &len) != 1) {
    return corrupt;
  }
  return out;
}

std::string Header(NotificationMode mode, uint32_t interval) {
  std::string h(1, kVersion);
  h.push_back(static_cast<char>(mode));
  keys::AppendBigEndian32(h, interval);
  return h;
}

// The header of a row, checked; DATA_LOSS if it is not one.
absl::StatusOr<NotificationTarget> ParseHeader(absl::string_view handle, absl::string_view row) {
  if (row.size() < kHeaderBytes || row[0] != kVersion) {
    return absl::DataLossError("a stored notification setting does not parse");
  }
  NotificationTarget t;
  t.handle = std::string(handle);
  t.mode = static_cast<NotificationMode>(static_cast<unsigned char>(row[1]));
  t.digest_interval_minutes = *keys::ReadBigEndian32(row.substr(2, 4));
  if (t.mode != NotificationMode::kEachMessage && t.mode != NotificationMode::kDigest) {
    return absl::DataLossError("a stored notification setting has an unknown mode");
  }
  return t;
}

absl::Status CheckInterval(NotificationSetting& s, const AuthenticatedDevice& caller) {
  if (s.mode == NotificationMode::kEachMessage) {
    if (s.digest_interval_minutes != 0) {
      return absl::InvalidArgumentError("digest_interval_minutes must be 0 unless mode is DIGEST");
    }
    return absl::OkStatus();
  }
  if (s.mode != NotificationMode::kDigest) {
    return absl::InvalidArgumentError("mode must be EACH_MESSAGE or DIGEST (Disable turns it off)");
  }
  if (caller.role != Role::kTherapist) {
    return absl::PermissionDeniedError(
        "only a therapist can choose a digest (it summarises a therapist's queue)");
  }
  if (s.digest_interval_minutes == 0) s.digest_interval_minutes = kDefaultDigestIntervalMinutes;
  if (s.digest_interval_minutes < kMinDigestIntervalMinutes ||
      s.digest_interval_minutes > kMaxDigestIntervalMinutes) {
    return absl::InvalidArgumentError(
        absl::StrCat("digest_interval_minutes must be ", kMinDigestIntervalMinutes, " to ",
                     kMaxDigestIntervalMinutes, " (or 0 for ", kDefaultDigestIntervalMinutes, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

NotificationSettings::NotificationSettings(Store* store, SecretKey key)
    : store_(store), seal_key_(key.Mac({"sotto notification address sealing key v1"})) {}

absl::StatusOr<std::string> NotificationSettings::Encode(absl::string_view handle,
                                                         const NotificationSetting& s) const {
  std::string header = Header(s.mode, s.digest_interval_minutes);
  SOTTO_ASSIGN_OR_RETURN(std::string sealed,
                         Seal(seal_key_, AssociatedData(handle, header), s.email));
  return header + sealed;
}

absl::StatusOr<NotificationSetting> NotificationSettings::Set(const AuthenticatedDevice& caller,
                                                              NotificationSetting setting) {
  SOTTO_RETURN_IF_ERROR(ValidateEmailAddress(setting.email, "email"));
  SOTTO_RETURN_IF_ERROR(CheckInterval(setting, caller));
  if (seal_key_.size() != SecretKey::kBytes) {
    return absl::InternalError("no key to seal the notification address");
  }
  SOTTO_ASSIGN_OR_RETURN(std::string row, Encode(caller.handle, setting));
  WriteBatch batch;
  batch.Put(Table::kNotifications, keys::Account(caller.handle), std::move(row));
  SOTTO_RETURN_IF_ERROR(store_->Write(batch, Durability::kSynced));
  return setting;
}

absl::Status NotificationSettings::Disable(const AuthenticatedDevice& caller) {
  WriteBatch batch;
  batch.Delete(Table::kNotifications, keys::Account(caller.handle));
  return store_->Write(batch, Durability::kSynced);
}

absl::StatusOr<NotificationSetting> NotificationSettings::Get(absl::string_view handle) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> row,
                         store_->Get(Table::kNotifications, keys::Account(handle)));
  if (!row) return NotificationSetting{};
  SOTTO_ASSIGN_OR_RETURN(NotificationTarget t, ParseHeader(handle, *row));
  absl::string_view header = absl::string_view(*row).substr(0, kHeaderBytes);
  SOTTO_ASSIGN_OR_RETURN(std::string email, Open(seal_key_, AssociatedData(handle, header),
                                                 absl::string_view(*row).substr(kHeaderBytes)));
  return NotificationSetting{t.mode, std::move(email), t.digest_interval_minutes};
}

absl::StatusOr<std::vector<NotificationTarget>> NotificationSettings::ListTargets() {
  std::vector<NotificationTarget> out;
  std::string after;
  while (true) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_->Scan(Table::kNotifications, "", after, kScanBatch));
    for (const KeyValue& kv : rows) {
      SOTTO_ASSIGN_OR_RETURN(NotificationTarget t, ParseHeader(kv.key, kv.value));
      out.push_back(std::move(t));
    }
    if (rows.size() < kScanBatch) return out;
    after = rows.back().key;
  }
}

}  // namespace sotto::server
