// Writes the seed corpus of every fuzz target from real encodings: real
// Signal keys, bundles and ciphertexts, records as the server stores them,
// request protos as clients send them. Run by hand after a format changes:
//
//   build-check/tests/fuzz/fuzz_seed_writer tests/fuzz/corpus
//
// Keys are random on every run, so the files change each time; commit them
// only when a format changed. Inputs for targets that use
// FuzzedDataProvider are laid out the way it reads them (FdpWriter).

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client-lib/content/codec.h"
#include "server/domain/device_mismatch.h"
#include "server/domain/records.h"
#include "server/domain/response_policy.h"
#include "server/storage/key_codec.h"
#include "sotto/client/records.pb.h"
#include "sotto/v1/accounts.pb.h"
#include "sotto/v1/care.pb.h"
#include "sotto/v1/keys.pb.h"
#include "sotto/v1/messages.pb.h"
#include "sotto/v1/operator.pb.h"
#include "testing/signal_test_keys.h"
#include "tests/fuzz/client_support.h"

namespace {

namespace fs = std::filesystem;
std::string g_root;

void Put(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(fs::path(g_root) / target);
  std::ofstream out(fs::path(g_root) / target / name, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string Sel(uint8_t which, const std::string& rest) {
  return std::string(1, static_cast<char>(which)) + rest;
}

// Builds input in the order FuzzedDataProvider consumes it: strings from the
// front, integers from the back (most significant byte consumed first).
class FdpWriter {
 public:
  // ConsumeIntegral<T>() / ConsumeBool(): `bytes` = sizeof(T) (1 for bool).
  FdpWriter& Int(uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) back_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  // ConsumeRandomLengthString(max) for a string shorter than max.
  FdpWriter& Str(const std::string& s) {
    for (char c : s) {
      front_.push_back(c);
      if (c == '\\') front_.push_back('\\');
    }
    front_ += "\\x";
    return *this;
  }
  // ConsumeBytesAsString(n) preceded by its ConsumeIntegralInRange length
  // (one byte for ranges below 256).
  FdpWriter& Sized(const std::string& s) {
    Int(s.size(), 1);
    front_ += s;
    return *this;
  }
  std::string Finish() const { return front_ + std::string(back_.rbegin(), back_.rend()); }

 private:
  std::string front_;
  std::string back_;  // in consumption order
};

void SetKeys(sotto::testing::SignalTestKeys& keys, sotto::v1::DeviceKeys* out, int prekeys) {
  out->set_identity_key(keys.identity_key());
  auto spk = keys.MakeSignedPreKey(7);
  out->mutable_signed_prekey()->set_id(spk.id);
  out->mutable_signed_prekey()->set_public_key(spk.public_key);
  out->mutable_signed_prekey()->set_signature(spk.signature);
  for (const auto& k : keys.MakeOneTimePreKeys(1, prekeys)) {
    auto* o = out->add_one_time_prekeys();
    o->set_id(k.id);
    o->set_public_key(k.public_key);
  }
}

void AuthHeader() {
  std::string secret_hex = absl::BytesToHexString(std::string(32, '\x5a'));
  Put("auth_header_fuzz", "valid", "Sotto alice.1:" + secret_hex);
  Put("auth_header_fuzz", "dotted_handle", "Sotto a.b-c_9.4294967295:" + secret_hex);
  Put("auth_header_fuzz", "bad_hex", "Sotto bob.2:" + std::string(64, 'G'));
  Put("auth_header_fuzz", "handle", "therapist_01");
}

void KeyValidation() {
  sotto::testing::SignalTestKeys keys;
  auto spk = keys.MakeSignedPreKey(7);
  auto otks = keys.MakeOneTimePreKeys(1, 2);
  FdpWriter w;
  w.Str(keys.identity_key()).Str(keys.identity_key());
  w.Int(spk.id, 4).Str(spk.public_key).Str(spk.signature);
  w.Int(otks.size(), 1);
  for (const auto& k : otks) w.Int(k.id, 4).Str(k.public_key);
  Put("key_validation_fuzz", "valid", w.Finish());
}

void StoredRecords() {
  namespace r = sotto::server::records;
  namespace keys = sotto::server::keys;
  const std::string id(16, '\x11');
  Put("stored_records_fuzz", "account",
      Sel(0, r::Encode(r::Account{sotto::server::Role::kTherapist})));
  Put("stored_records_fuzz", "device",
      Sel(1, r::Encode(r::Device{202, std::string(16, 's'), std::string(32, 'h')})));
  Put("stored_records_fuzz", "signed_prekey",
      Sel(2, r::Encode(
                 sotto::server::SignedPreKey{7, std::string(33, '\x05'), std::string(64, 'g')})));
  Put("stored_records_fuzz", "queue_meta", Sel(3, r::Encode(r::QueueMeta{12, 3})));
  sotto::server::StoredEnvelope e;
  e.sender = "alice";
  e.sender_device = 1;
  e.type = 3;
  e.ciphertext = "ciphertext";
  e.server_time_ms = 1'750'000'000'000;
  e.message_id = id;
  Put("stored_records_fuzz", "envelope", Sel(4, r::Encode(e)));
  Put("stored_records_fuzz", "idempotency",
      Sel(5, r::Encode(r::Idempotency{1'750'000'000'000, std::string(32, 'd'), 0, ""})));
  // A version 2 idempotency record: recipient in clear, then deliver_at.
  Put("stored_records_fuzz", "idempotency_v2",
      Sel(5, sotto::server::RecordWriter(2).I64(5).Bytes("bob").I64(9).Finish()));
  Put("stored_records_fuzz", "code", Sel(6, r::Encode(r::Code{"thera", 1'750'000'000'000})));
  Put("stored_records_fuzz", "link", Sel(7, r::Encode(r::Link{2, 1, 2, "thera"})));
  Put("stored_records_fuzz", "conversation",
      Sel(8, r::Encode(r::Conversation{1, 5, 2, 7, 0, "thera"})));
  r::Scheduled s;
  s.sender = "thera";
  s.sender_device = 1;
  s.recipient = "client";
  s.message_id = id;
  s.deliver_at_ms = 1'750'000'100'000;
  s.envelopes.push_back(sotto::server::OutgoingEnvelope{1, 0, 2, "ct"});
  s.link_since_ms = 3;
  Put("stored_records_fuzz", "scheduled", Sel(9, r::Encode(s)));
  Put("stored_records_fuzz", "keys", Sel(10, keys::Queue("alice", 1, 42)));
  sotto::server::DeviceMismatch m{"bob", {1, 2}, {9}, {3}};
  auto payload =
      sotto::server::DeviceMismatchError(m).GetPayload(sotto::server::kDeviceMismatchPayloadUrl);
  Put("stored_records_fuzz", "device_mismatch", Sel(11, std::string(*payload)));
}

void ResponsePolicy() {
  sotto::server::ResponsePolicy p = sotto::server::DefaultPolicy();
  Put("response_policy_fuzz", "default", Sel(1, sotto::server::EncodePolicy(p)));
  p.time_zone = "America/New_York";
  p.working_days = {1, 2, 3, 4, 6};
  p.away_from_ms = 1'750'000'000'000;
  p.away_until_ms = 1'750'100'000'000;
  p.away_note = "back Monday";
  Put("response_policy_fuzz", "away", Sel(1, sotto::server::EncodePolicy(p)));
  // The validation path: a valid policy as FuzzValidateAndDue reads it.
  FdpWriter w;
  w.Int(1, 1).Int(1, 1);  // known zone, "America/New_York"
  w.Int(5, 1);
  for (int d = 1; d <= 5; ++d) w.Int(d + 1, 1);  // InRange(-1, 9): value - min
  w.Int(540 + 10, 2).Int(1020 + 10, 2).Int(480 + 1, 2);
  w.Int(0, 8).Int(0, 8).Str("").Int(1'750'000'000'000, 8);
  Put("response_policy_fuzz", "validate", Sel(0, w.Finish()));
}

// server_requests_fuzz seeds: one real request per RPC, each under the
// selector byte Handle reads (0x80: the therapist calls).
constexpr char kServerRequests[] = "server_requests_fuzz";

// The message id the Send and CancelScheduled seeds share.
std::string SeedMessageId() { return std::string(16, '\x22'); }

void AccountAndKeyRequests(sotto::testing::SignalTestKeys& keys) {
  {
    sotto::v1::RegisterRequest r;
    r.set_handle("newclient");
    r.set_role(sotto::v1::ROLE_CLIENT);
    r.set_device_secret(std::string(32, 's'));
    r.set_registration_id(303);
    SetKeys(keys, r.mutable_keys(), 2);
    r.set_invite_code("K7QF-2M9X-TR4C");
    Put(kServerRequests, "register", Sel(0, r.SerializeAsString()));
  }
  Put(kServerRequests, "whoami", Sel(1, ""));
  {
    sotto::v1::UploadKeysRequest r;
    SetKeys(keys, r.mutable_keys(), 2);
    r.mutable_keys()->clear_identity_key();
    r.mutable_keys()->clear_signed_prekey();
    Put(kServerRequests, "upload", Sel(2, r.SerializeAsString()));
  }
  {
    sotto::v1::GetBundleRequest r;
    r.set_user("thera");
    Put(kServerRequests, "get_bundle", Sel(2 + 1, r.SerializeAsString()));
  }
  Put(kServerRequests, "count_prekeys", Sel(4 | 0x80, ""));
}

void MessageRequests() {
  {
    sotto::v1::SendRequest r;
    r.set_recipient("thera");
    r.set_message_id(SeedMessageId());
    auto* e = r.add_envelopes();
    e->set_device_id(1);
    e->set_registration_id(101);
    e->set_type(sotto::v1::ENVELOPE_TYPE_PREKEY);
    e->set_ciphertext(std::string(200, 'c'));
    Put(kServerRequests, "send", Sel(5, r.SerializeAsString()));
    r.set_recipient("client");
    r.mutable_envelopes(0)->set_registration_id(202);
    r.set_deliver_at_ms(1'700'000'900'000);
    Put(kServerRequests, "send_later", Sel(5 | 0x80, r.SerializeAsString()));
  }
  sotto::v1::FetchRequest r;
  r.set_limit(10);
  Put(kServerRequests, "fetch", Sel(6 | 0x80, r.SerializeAsString()));
  sotto::v1::AckRequest a;
  a.add_seqs(1);
  a.add_seqs(2);
  Put(kServerRequests, "ack", Sel(7 | 0x80, a.SerializeAsString()));
  sotto::v1::CancelScheduledRequest c;
  c.set_message_id(SeedMessageId());
  Put(kServerRequests, "cancel", Sel(8 | 0x80, c.SerializeAsString()));
}

void CareRequests() {
  {
    sotto::v1::CreateInviteRequest r;
    r.set_valid_hours(48);
    Put(kServerRequests, "create_invite", Sel(9 | 0x80, r.SerializeAsString()));
    sotto::v1::AcceptInviteRequest a;
    a.set_code("K7QF-2M9X-TR4C");
    Put(kServerRequests, "accept_invite", Sel(10, a.SerializeAsString()));
    Put(kServerRequests, "list_links", Sel(11, ""));
    sotto::v1::EndLinkRequest e;
    e.set_peer("client");
    Put(kServerRequests, "end_link", Sel(12 | 0x80, e.SerializeAsString()));
  }
  sotto::v1::SetPolicyRequest r;
  auto* p = r.mutable_policy();
  p->set_time_zone("Europe/Berlin");
  for (uint32_t d : {1u, 2u, 3u, 4u, 5u}) p->add_working_days(d);
  p->set_day_start_minute(480);
  p->set_day_end_minute(960);
  p->set_reply_window_minutes(240);
  p->set_away_note("on leave");
  Put(kServerRequests, "set_policy", Sel(13 | 0x80, r.SerializeAsString()));
  sotto::v1::GetPolicyRequest g;
  g.set_therapist("thera");
  Put(kServerRequests, "get_policy", Sel(14, g.SerializeAsString()));
}

void QueueAndOperatorRequests() {
  sotto::v1::ListQueueRequest l;
  l.set_include_all(true);
  Put(kServerRequests, "list_queue", Sel(15 | 0x80, l.SerializeAsString()));
  sotto::v1::SnoozeRequest s;
  s.set_client("client");
  s.set_until_ms(1'700'001'000'000);
  Put(kServerRequests, "snooze", Sel(16 | 0x80, s.SerializeAsString()));
  sotto::v1::CloseRequest c;
  c.set_client("client");
  Put(kServerRequests, "close_claim", Sel(17 | 0x80, c.SerializeAsString()));
  sotto::v1::EnrolTherapistRequest e;
  e.set_handle("drsmith");
  e.set_valid_hours(72);
  Put(kServerRequests, "enrol", Sel(18, e.SerializeAsString()));
}

void ServerRequests(sotto::testing::SignalTestKeys& keys) {
  AccountAndKeyRequests(keys);
  MessageRequests();
  CareRequests();
  QueueAndOperatorRequests();
}

void ContentCodec() {
  namespace c = sotto::client::content;
  sotto::v1::content::Content text;
  text.set_sent_at_ms(1'750'000'000'000);
  text.mutable_text()->set_body("How are you feeling today?");
  Put("content_codec_fuzz", "text", c::EncodeContent(text));
  sotto::v1::content::Content letter;
  letter.mutable_letter()->set_subject("Re: homework");
  letter.mutable_letter()->set_body("Dear Dr. Lee,\n\nThe breathing exercise helped.\n");
  letter.mutable_letter()->set_in_reply_to(std::string(16, '\x01'));
  letter.mutable_letter()->set_thread_id(std::string(16, '\x02'));
  Put("content_codec_fuzz", "letter", c::EncodeContent(letter));
  sotto::v1::content::Content receipt;
  receipt.mutable_receipt()->set_type(sotto::v1::content::Receipt::READ);
  receipt.mutable_receipt()->add_message_ids(std::string(16, '\x03'));
  receipt.mutable_receipt()->add_message_ids(std::string(16, '\x04'));
  Put("content_codec_fuzz", "receipt", c::EncodeContent(receipt));
}

void Signal() {
  using sotto::client::signal::Address;
  sotto::fuzz::Device alice(0);
  sotto::fuzz::Device bob(3);
  sotto::client::signal::Bundle b = bob.MakeBundle();

  FdpWriter w;
  w.Int(b.device_id, 4).Int(b.registration_id, 4).Sized(b.identity_key);
  w.Int(b.signed_prekey_id, 4).Sized(b.signed_prekey_public).Sized(b.signed_prekey_signature);
  w.Int(1, 1).Int(b.one_time_prekey->id, 4).Sized(b.one_time_prekey->public_key);
  w.Int(0, 1);  // peer device 1
  Put("bundle_fuzz", "real_bundle", w.Finish());

  const Address kAlice{"alice", 1}, kBob{"bob", 1};
  sotto::fuzz::Require(alice.engine->ProcessBundle(kBob, b), "ProcessBundle");
  auto first = alice.engine->Encrypt(kBob, "first");
  sotto::fuzz::Require(first.status(), "Encrypt");
  Put("decrypt_fuzz", "prekey_message", Sel(1, first->body));
  sotto::fuzz::Require(bob.engine->Decrypt(kAlice, *first).status(), "Decrypt");
  auto reply = bob.engine->Encrypt(kAlice, "reply");
  sotto::fuzz::Require(reply.status(), "Encrypt reply");
  sotto::fuzz::Require(alice.engine->Decrypt(kBob, *reply).status(), "Decrypt reply");
  auto ordinary = alice.engine->Encrypt(kBob, "an ordinary message");
  sotto::fuzz::Require(ordinary.status(), "Encrypt ordinary");
  Put("decrypt_fuzz", "ciphertext_message", Sel(0, ordinary->body));

  // Local records: every value alice's engine stored, each under the slot
  // byte local_records_fuzz uses (spaces scanned in order).
  uint8_t slot = 0;
  for (uint8_t s = 1; s <= 10; ++s) {
    auto entries = alice.store->Scan(static_cast<sotto::client::storage::Space>(s), "");
    if (!entries.ok()) continue;
    for (const auto& e : *entries) {
      if (slot < 8)
        Put("local_records_fuzz", absl::StrCat("space", +s, "_", +slot), Sel(slot, e.value));
      ++slot;
    }
  }
  sotto::client::StoredMessage m;
  m.set_message_id(std::string(16, '\x05'));
  m.set_peer("bob");
  m.set_server_time_ms(1'750'000'000'000);
  m.mutable_content()->mutable_text()->set_body("hi");
  Put("local_records_fuzz", "stored_message", Sel(200, m.SerializeAsString()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  sotto::testing::SignalTestKeys keys;
  AuthHeader();
  KeyValidation();
  StoredRecords();
  ResponsePolicy();
  ServerRequests(keys);
  ContentCodec();
  Signal();
  return 0;
}
