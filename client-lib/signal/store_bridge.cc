#include "client-lib/signal/store_bridge.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "client-lib/signal/identity_commitment.h"
#include "client-lib/signal/status.h"
#include "sotto/status_macros.h"

namespace sotto::client::signal {
namespace {

using storage::Entry;
using storage::Space;
using storage::Write;

StoreBridge* Bridge(void* user_data) { return static_cast<StoreBridge*>(user_data); }

absl::string_view View(const uint8_t* data, size_t len) {
  return absl::string_view(reinterpret_cast<const char*>(data), len);
}

std::string Name(const signal_protocol_address* address) {
  return std::string(address->name, address->name_len);
}

// Looks up (space, key); 1 and *out if present, 0 if absent, <0 on failure.
int Lookup(StoreBridge* bridge, Space space, absl::string_view key, std::string* out) {
  auto got = bridge->Get(space, key);
  if (!got.ok()) return bridge->Fail(got.status());
  if (!got->has_value()) return 0;
  *out = std::move(**got);
  return 1;
}

// ---- sessions ----

std::string EncodeSession(const uint8_t* record, size_t len, const uint8_t* user, size_t user_len) {
  std::string out = StoreBridge::U32Key(static_cast<uint32_t>(len));
  out.append(reinterpret_cast<const char*>(record), len);
  if (user != nullptr) out.append(reinterpret_cast<const char*>(user), user_len);
  return out;
}

int LoadSession(signal_buffer** record, signal_buffer** user_record,
                const signal_protocol_address* address, void* user_data) {
  StoreBridge* b = Bridge(user_data);
  std::string value;
  int found = Lookup(b, Space::kSession, b->SessionKey(Name(address), address->device_id), &value);
  if (found <= 0) return found;
  if (value.size() < 4) return kErrBadRecord;
  const uint32_t len = StoreBridge::ReadU32(value);
  if (value.size() - 4 < len) return kErrBadRecord;
  *record = signal_buffer_create(reinterpret_cast<const uint8_t*>(value.data()) + 4, len);
  const size_t user_len = value.size() - 4 - len;
  *user_record = user_len == 0
                     ? nullptr
                     : signal_buffer_create(
                           reinterpret_cast<const uint8_t*>(value.data()) + 4 + len, user_len);
  OPENSSL_cleanse(value.data(), value.size());
  return 1;
}

int GetSubDeviceSessions(signal_int_list** sessions, const char* name, size_t name_len,
                         void* user_data) {
  StoreBridge* b = Bridge(user_data);
  auto entries = b->Scan(Space::kSession, b->SessionPrefix(absl::string_view(name, name_len)));
  if (!entries.ok()) return b->Fail(entries.status());
  signal_int_list* list = signal_int_list_alloc();
  if (list == nullptr) return SG_ERR_NOMEM;
  for (const Entry& e : *entries) {
    if (e.key.size() < 4) continue;
    signal_int_list_push_back(
        list,
        static_cast<int>(StoreBridge::ReadU32(absl::string_view(e.key).substr(e.key.size() - 4))));
  }
  *sessions = list;
  return static_cast<int>(entries->size());
}

int StoreSession(const signal_protocol_address* address, uint8_t* record, size_t record_len,
                 uint8_t* user_record, size_t user_record_len, void* user_data) {
  StoreBridge* b = Bridge(user_data);
  b->Put(Space::kSession, b->SessionKey(Name(address), address->device_id),
         EncodeSession(record, record_len, user_record, user_record_len));
  return SG_SUCCESS;
}

int ContainsSession(const signal_protocol_address* address, void* user_data) {
  StoreBridge* b = Bridge(user_data);
  std::string value;
  return Lookup(b, Space::kSession, b->SessionKey(Name(address), address->device_id), &value);
}

int DeleteSession(const signal_protocol_address* address, void* user_data) {
  StoreBridge* b = Bridge(user_data);
  std::string key = b->SessionKey(Name(address), address->device_id);
  std::string value;
  int found = Lookup(b, Space::kSession, key, &value);
  if (found <= 0) return found;
  b->Delete(Space::kSession, std::move(key));
  return 1;
}

int DeleteAllSessions(const char* name, size_t name_len, void* user_data) {
  StoreBridge* b = Bridge(user_data);
  auto entries = b->Scan(Space::kSession, b->SessionPrefix(absl::string_view(name, name_len)));
  if (!entries.ok()) return b->Fail(entries.status());
  for (Entry& e : *entries) b->Delete(Space::kSession, std::move(e.key));
  return static_cast<int>(entries->size());
}

// ---- one-time and signed prekeys (same shape, different spaces) ----

template <Space kSpace>
int LoadKey(signal_buffer** record, uint32_t id, void* user_data) {
  std::string value;
  int found = Lookup(Bridge(user_data), kSpace, StoreBridge::U32Key(id), &value);
  if (found < 0) return found;
  if (found == 0) return SG_ERR_INVALID_KEY_ID;
  *record = signal_buffer_create(reinterpret_cast<const uint8_t*>(value.data()), value.size());
  OPENSSL_cleanse(value.data(), value.size());
  return *record != nullptr ? SG_SUCCESS : SG_ERR_NOMEM;
}

template <Space kSpace>
int StoreKey(uint32_t id, uint8_t* record, size_t len, void* user_data) {
  Bridge(user_data)->Put(kSpace, StoreBridge::U32Key(id), std::string(View(record, len)));
  return SG_SUCCESS;
}

template <Space kSpace>
int ContainsKey(uint32_t id, void* user_data) {
  std::string value;
  return Lookup(Bridge(user_data), kSpace, StoreBridge::U32Key(id), &value);
}

template <Space kSpace>
int RemoveKey(uint32_t id, void* user_data) {
  Bridge(user_data)->Delete(kSpace, StoreBridge::U32Key(id));
  return SG_SUCCESS;
}

// ---- identity ----

int GetIdentityKeyPair(signal_buffer** public_data, signal_buffer** private_data, void* user_data) {
  StoreBridge* b = Bridge(user_data);
  std::string pub, priv;
  int found = Lookup(b, Space::kIdentity, StoreBridge::kPublicKey, &pub);
  if (found < 0) return found;
  if (found > 0) found = Lookup(b, Space::kIdentity, StoreBridge::kPrivateKey, &priv);
  if (found < 0) return found;
  if (found == 0) return kErrNoIdentity;
  *public_data = signal_buffer_create(reinterpret_cast<const uint8_t*>(pub.data()), pub.size());
  *private_data = signal_buffer_create(reinterpret_cast<const uint8_t*>(priv.data()), priv.size());
  OPENSSL_cleanse(priv.data(), priv.size());
  return SG_SUCCESS;
}

int GetLocalRegistrationId(void* user_data, uint32_t* registration_id) {
  std::string value;
  int found = Lookup(Bridge(user_data), Space::kMeta, StoreBridge::kRegistrationId, &value);
  if (found < 0) return found;
  if (found == 0) return kErrNoIdentity;
  if (value.size() != 4) return kErrBadRecord;
  *registration_id = StoreBridge::ReadU32(value);
  return SG_SUCCESS;
}

int SaveIdentity(const signal_protocol_address* address, uint8_t* key_data, size_t key_len,
                 void* user_data) {
  StoreBridge* b = Bridge(user_data);
  // libsignal passes no key to forget one it saved during a failed decrypt.
  if (key_data == nullptr) {
    b->Delete(Space::kTrust, b->TrustKey(Name(address), address->device_id));
  } else {
    b->Put(Space::kTrust, b->TrustKey(Name(address), address->device_id),
           std::string(View(key_data, key_len)));
  }
  return SG_SUCCESS;
}

// A user new to us: trusted on first use, unless an invite committed to
// their key — then only the committed key is, and it counts as verified from
// the start (the written kVerified row goes with the operation's writes, so
// it exists only if the session or message does).
int IsTrustedFirstKey(StoreBridge* b, const signal_protocol_address* address,
                      absl::string_view key) {
  std::string expected;
  int found = Lookup(b, Space::kExpectedIdentity, b->TrustPrefix(Name(address)), &expected);
  if (found <= 0) return found < 0 ? found : 1;
  if (!MatchesCommitmentRecord(expected, Name(address), key)) return 0;
  b->Put(Space::kVerified, b->TrustPrefix(Name(address)), std::string(key));
  // A substitute refused earlier is moot once the invited key is here.
  b->Delete(Space::kPendingIdentity, b->TrustPrefix(Name(address)));
  return 1;
}

// Trust on first use, per user, bound to the invite where there was one. A
// device whose key we trusted must keep it; a device we have not seen is
// trusted only if it presents a key we already trust for another device of
// the same user, or if the user is new to us (IsTrustedFirstKey).
// Otherwise a breached server could add a "device" of a known user (a
// DeviceMismatch, a bundle or a PreKey message from a new device id) and
// read everything we send that user from then on. A changed or unknown key
// stays untrusted until the user accepts it (Engine::AcceptPendingIdentity).
int IsTrustedIdentity(const signal_protocol_address* address, uint8_t* key_data, size_t key_len,
                      void* user_data) {
  StoreBridge* b = Bridge(user_data);
  const absl::string_view key = View(key_data, key_len);
  std::string trusted;
  int found = Lookup(b, Space::kTrust, b->TrustKey(Name(address), address->device_id), &trusted);
  if (found < 0) return found;
  if (found > 0) return trusted == key ? 1 : 0;
  auto known = b->Scan(Space::kTrust, b->TrustPrefix(Name(address)));
  if (!known.ok()) return b->Fail(known.status());
  if (known->empty()) return IsTrustedFirstKey(b, address, key);
  for (const Entry& e : *known) {
    if (e.value == key) return 1;
  }
  return 0;
}

// ---- sender keys: no group messaging in Sotto ----

int StoreSenderKey(const signal_protocol_sender_key_name*, uint8_t*, size_t, uint8_t*, size_t,
                   void*) {
  return SG_ERR_INVAL;
}
int LoadSenderKey(signal_buffer**, signal_buffer**, const signal_protocol_sender_key_name*, void*) {
  return 0;
}

}  // namespace

std::string StoreBridge::U32Key(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  return out;
}

uint32_t StoreBridge::ReadU32(absl::string_view b) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

std::string StoreBridge::SessionKey(absl::string_view user, uint32_t device_id) const {
  return store_->Blind(user) + U32Key(device_id);
}

absl::Status StoreBridge::Install(signal_protocol_store_context* context) {
  signal_protocol_session_store sessions{};
  sessions.load_session_func = LoadSession;
  sessions.get_sub_device_sessions_func = GetSubDeviceSessions;
  sessions.store_session_func = StoreSession;
  sessions.contains_session_func = ContainsSession;
  sessions.delete_session_func = DeleteSession;
  sessions.delete_all_sessions_func = DeleteAllSessions;
  sessions.user_data = this;

  signal_protocol_pre_key_store pre_keys{};
  pre_keys.load_pre_key = LoadKey<Space::kPreKey>;
  pre_keys.store_pre_key = StoreKey<Space::kPreKey>;
  pre_keys.contains_pre_key = ContainsKey<Space::kPreKey>;
  pre_keys.remove_pre_key = RemoveKey<Space::kPreKey>;
  pre_keys.user_data = this;

  signal_protocol_signed_pre_key_store signed_pre_keys{};
  signed_pre_keys.load_signed_pre_key = LoadKey<Space::kSignedPreKey>;
  signed_pre_keys.store_signed_pre_key = StoreKey<Space::kSignedPreKey>;
  signed_pre_keys.contains_signed_pre_key = ContainsKey<Space::kSignedPreKey>;
  signed_pre_keys.remove_signed_pre_key = RemoveKey<Space::kSignedPreKey>;
  signed_pre_keys.user_data = this;

  signal_protocol_identity_key_store identity{};
  identity.get_identity_key_pair = GetIdentityKeyPair;
  identity.get_local_registration_id = GetLocalRegistrationId;
  identity.save_identity = SaveIdentity;
  identity.is_trusted_identity = IsTrustedIdentity;
  identity.user_data = this;

  signal_protocol_sender_key_store sender_keys{};
  sender_keys.store_sender_key = StoreSenderKey;
  sender_keys.load_sender_key = LoadSenderKey;
  sender_keys.user_data = this;

  int rc = signal_protocol_store_context_set_session_store(context, &sessions);
  if (rc >= 0) rc = signal_protocol_store_context_set_pre_key_store(context, &pre_keys);
  if (rc >= 0)
    rc = signal_protocol_store_context_set_signed_pre_key_store(context, &signed_pre_keys);
  if (rc >= 0) rc = signal_protocol_store_context_set_identity_key_store(context, &identity);
  if (rc >= 0) rc = signal_protocol_store_context_set_sender_key_store(context, &sender_keys);
  return FromSignal(rc, "installing the signal stores");
}

void StoreBridge::Begin() {
  Abort();
  in_transaction_ = true;
}

absl::Status StoreBridge::Commit() {
  absl::Status status = callback_error_;
  if (status.ok() && !pending_.empty()) status = store_->Apply(pending_);
  Abort();
  return status;
}

void StoreBridge::Abort() {
  // Pending values may hold private keys and session state.
  for (Write& w : pending_) {
    if (w.value.has_value()) OPENSSL_cleanse(w.value->data(), w.value->size());
  }
  for (auto* values : {&overlay_, &reads_}) {
    for (auto& [k, v] : *values) {
      if (v.has_value()) OPENSSL_cleanse(v->data(), v->size());
    }
  }
  pending_.clear();
  overlay_.clear();
  reads_.clear();
  in_transaction_ = false;
  callback_error_ = absl::OkStatus();
}

int StoreBridge::Fail(const absl::Status& status) {
  if (callback_error_.ok()) callback_error_ = status;
  return kErrStoreFailed;
}

absl::StatusOr<std::optional<std::string>> StoreBridge::Get(Space space, absl::string_view key) {
  std::pair<Space, std::string> at{space, std::string(key)};
  if (auto it = overlay_.find(at); it != overlay_.end()) return it->second;
  if (!in_transaction_) return store_->Get(space, key);
  if (auto it = reads_.find(at); it != reads_.end()) return it->second;
  SOTTO_ASSIGN_OR_RETURN(std::optional<std::string> value, store_->Get(space, key));
  reads_.emplace(std::move(at), value);
  return value;
}

absl::StatusOr<std::vector<Entry>> StoreBridge::Scan(Space space, absl::string_view prefix) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<Entry> stored, store_->Scan(space, prefix));
  std::map<std::string, std::string> merged;
  for (Entry& e : stored) merged[std::move(e.key)] = std::move(e.value);
  for (const auto& [k, v] : overlay_) {
    if (k.first != space || absl::string_view(k.second).substr(0, prefix.size()) != prefix)
      continue;
    if (v.has_value()) {
      merged[k.second] = *v;
    } else {
      merged.erase(k.second);
    }
  }
  std::vector<Entry> out;
  out.reserve(merged.size());
  for (auto& [k, v] : merged) out.push_back(Entry{k, std::move(v)});
  return out;
}

void StoreBridge::Put(Space space, std::string key, std::string value) {
  overlay_[{space, key}] = value;
  pending_.push_back(Write{space, std::move(key), std::move(value)});
}

void StoreBridge::Delete(Space space, std::string key) {
  overlay_[{space, key}] = std::nullopt;
  pending_.push_back(Write{space, std::move(key), std::nullopt});
}

void StoreBridge::AddWrites(std::vector<Write> writes) {
  for (Write& w : writes) {
    overlay_[{w.space, w.key}] = w.value;
    pending_.push_back(std::move(w));
  }
}

}  // namespace sotto::client::signal
