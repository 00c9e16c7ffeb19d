// Parses the input as one sotto.v1 request message and runs it through the
// same conversion and domain call its gRPC handler makes (server/rpc/*.cc),
// without a network: the domain services run over an in-memory Store with a
// therapist and a linked client already registered with real Signal keys.
//
// Input: byte 0 picks the RPC (low 5 bits) and the authenticated caller
// (bit 7: therapist, else client); the rest is the serialized request.
//
// Invariants: whatever the request, the domain answers with a status a
// caller can cause, never INTERNAL, DATA_LOSS or UNKNOWN (those mean our
// own state broke), and ToGrpcStatus maps it without loss of the code.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/domain/accounts.h"
#include "server/domain/care.h"
#include "server/domain/clock.h"
#include "server/domain/conversation_queue.h"
#include "server/domain/enrolment.h"
#include "server/domain/key_directory.h"
#include "server/domain/limits.h"
#include "server/domain/mailbox.h"
#include "server/rpc/convert.h"
#include "server/rpc/status_mapping.h"
#include "sotto/v1/accounts.pb.h"
#include "sotto/v1/care.pb.h"
#include "sotto/v1/keys.pb.h"
#include "sotto/v1/messages.pb.h"
#include "sotto/v1/operator.pb.h"
#include "testing/server_keys.h"
#include "testing/signal_test_keys.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/memory_store.h"

namespace {

using namespace sotto::server;  // NOLINT: a fuzz target, short names help.
using sotto::server::rpc::FromWire;

DeviceKeys MakeKeys(sotto::testing::SignalTestKeys& keys, size_t one_time) {
  DeviceKeys out;
  out.identity_key = keys.identity_key();
  sotto::testing::TestSignedPreKey spk = keys.MakeSignedPreKey(7);
  out.signed_prekey = SignedPreKey{spk.id, spk.public_key, spk.signature};
  for (const auto& k : keys.MakeOneTimePreKeys(1, one_time)) {
    out.one_time_prekeys.push_back(OneTimePreKey{k.id, k.public_key});
  }
  return out;
}

void Require(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "fuzz set-up failed: %s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

// The server's domain, as server/rpc/server.cc assembles it.
struct World {
  World() {
    accounts = std::make_unique<Accounts>(&store);
    keys = std::make_unique<KeyDirectory>(&store, accounts.get());
    enrolment =
        std::make_unique<Enrolment>(&store, accounts.get(), &clock, sotto::testing::TestKey('p'));
    care = std::make_unique<Care>(&store, accounts.get(), enrolment.get(), &clock);
    conversations = std::make_unique<ConversationQueue>(&store, care.get(), &clock);
    mailbox = std::make_unique<Mailbox>(&store, accounts.get(), &clock, MailboxOptions{},
                                        care.get(), conversations.get());

    absl::StatusOr<IssuedCode> enrol = enrolment->IssueTherapistCode("thera", 24);
    Require(enrol.status(), "enrolment code");
    Registration t{"thera", Role::kTherapist, std::string(kDeviceSecretBytes, 't'), 101,
                   MakeKeys(therapist_keys, 3)};
    Require(care->Register(t, enrol->code, "").status(), "register therapist");
    therapist = AuthenticatedDevice{"thera", 1, Role::kTherapist};

    absl::StatusOr<IssuedCode> invite = care->CreateInvite(therapist, 24);
    Require(invite.status(), "invite");
    Registration c{"client", Role::kClient, std::string(kDeviceSecretBytes, 'c'), 202,
                   MakeKeys(client_keys, 3)};
    Require(care->Register(c, "", invite->code).status(), "register client");
    client = AuthenticatedDevice{"client", 1, Role::kClient};
  }

  FakeClock clock;
  sotto::fuzz::MemoryStore store;
  sotto::testing::SignalTestKeys therapist_keys;
  sotto::testing::SignalTestKeys client_keys;
  std::unique_ptr<Accounts> accounts;
  std::unique_ptr<KeyDirectory> keys;
  std::unique_ptr<Enrolment> enrolment;
  std::unique_ptr<Care> care;
  std::unique_ptr<ConversationQueue> conversations;
  std::unique_ptr<Mailbox> mailbox;
  AuthenticatedDevice therapist;
  AuthenticatedDevice client;
};

// care_service.cc's FromWire (file-local there): uint32 values past int
// range clamp so that ValidatePolicy names them.
int ToInt(uint32_t v) { return v > 0x7FFFFFFFu ? 0x7FFFFFFF : static_cast<int>(v); }
ResponsePolicy PolicyFromWire(const sotto::v1::ResponsePolicy& in) {
  ResponsePolicy out;
  out.time_zone = in.time_zone();
  for (uint32_t d : in.working_days()) out.working_days.push_back(ToInt(d));
  out.day_start_minute = ToInt(in.day_start_minute());
  out.day_end_minute = ToInt(in.day_end_minute());
  out.reply_window_minutes = ToInt(in.reply_window_minutes());
  out.away_from_ms = in.away_from_ms();
  out.away_until_ms = in.away_until_ms();
  out.away_note = in.away_note();
  return out;
}

template <typename Request>
bool Parse(Request& request, const uint8_t* data, size_t size) {
  return request.ParseFromArray(data, static_cast<int>(size));
}

// The handlers below each take the RPCs of one service, numbered as in
// Handle, and return the domain's status (OK when the bytes do not parse).

// Accounts and Keys: 0 Register, 1 WhoAmI, 2 UploadKeys, 3 GetBundle,
// 4 CountPreKeys.
absl::Status HandleAccountsAndKeys(World& w, uint8_t rpc, const AuthenticatedDevice& caller,
                                   const uint8_t* data, size_t size) {
  switch (rpc) {
    case 0: {
      sotto::v1::RegisterRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      Registration reg;
      reg.handle = r.handle();
      reg.role = static_cast<Role>(r.role());
      reg.device_secret = r.device_secret();
      reg.registration_id = r.registration_id();
      reg.keys = FromWire(r.keys());
      return w.care->Register(reg, r.enrolment_code(), r.invite_code()).status();
    }
    case 1:
      return w.accounts->WhoAmI(caller).status();
    case 2: {
      sotto::v1::UploadKeysRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      return w.keys->Upload(caller, FromWire(r.keys())).status();
    }
    case 3: {
      sotto::v1::GetBundleRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      absl::Status allowed = w.care->CheckCanFetchBundle(caller, r.user());
      if (!allowed.ok()) return allowed;
      return w.keys->GetBundle(r.user()).status();
    }
    case 4:
      return w.keys->CountPreKeys(caller).status();
  }
  return absl::OkStatus();
}

// Messages: 5 Send, 6 Fetch, 7 Ack, 8 CancelScheduled.
absl::Status HandleMessages(World& w, uint8_t rpc, const AuthenticatedDevice& caller,
                            const uint8_t* data, size_t size) {
  switch (rpc) {
    case 5: {
      sotto::v1::SendRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      std::vector<OutgoingEnvelope> envelopes;
      for (const sotto::v1::OutgoingEnvelope& e : r.envelopes()) {
        envelopes.push_back(OutgoingEnvelope{e.device_id(), e.registration_id(),
                                             static_cast<int>(e.type()), e.ciphertext()});
      }
      SendOptions options;
      options.kind = static_cast<SendKind>(r.kind());
      options.deliver_at_ms = r.deliver_at_ms();
      return w.mailbox->Send(caller, r.recipient(), r.message_id(), envelopes, options).status();
    }
    case 6: {
      sotto::v1::FetchRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      return w.mailbox->Fetch(caller, r.after_seq(), r.limit()).status();
    }
    case 7: {
      sotto::v1::AckRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      std::vector<uint64_t> seqs(r.seqs().begin(), r.seqs().end());
      return w.mailbox->Ack(caller, seqs).status();
    }
    case 8: {
      sotto::v1::CancelScheduledRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      return w.mailbox->CancelScheduled(caller, r.message_id());
    }
  }
  return absl::OkStatus();
}

// Care: 9 CreateInvite, 10 AcceptInvite, 11 ListLinks, 12 EndLink,
// 13 SetPolicy, 14 GetPolicy.
absl::Status HandleCare(World& w, uint8_t rpc, const AuthenticatedDevice& caller,
                        const uint8_t* data, size_t size) {
  switch (rpc) {
    case 9: {
      sotto::v1::CreateInviteRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      return w.care->CreateInvite(caller, r.valid_hours()).status();
    }
    case 10: {
      sotto::v1::AcceptInviteRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      return w.care->AcceptInvite(caller, r.code()).status();
    }
    case 11:
      return w.care->ListLinks(caller).status();
    case 12: {
      sotto::v1::EndLinkRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      return w.care->EndLink(caller, r.peer());
    }
    case 13: {
      sotto::v1::SetPolicyRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      if (!r.has_policy()) return absl::InvalidArgumentError("policy is required");
      return w.care->SetPolicy(caller, PolicyFromWire(r.policy()));
    }
    case 14: {
      sotto::v1::GetPolicyRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      return w.care->GetPolicy(caller, r.therapist()).status();
    }
  }
  return absl::OkStatus();
}

// Queue and Operator: 15 List, 16 Snooze, 17 Close then Claim,
// 18 EnrolTherapist.
absl::Status HandleQueueAndOperator(World& w, uint8_t rpc, const AuthenticatedDevice& caller,
                                    const uint8_t* data, size_t size) {
  switch (rpc) {
    case 15: {
      sotto::v1::ListQueueRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      return w.conversations->List(caller, r.include_all()).status();
    }
    case 16: {
      sotto::v1::SnoozeRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      return w.conversations->Snooze(caller, r.client(), r.until_ms()).status();
    }
    case 17: {
      sotto::v1::CloseRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      absl::Status s = w.conversations->Close(caller, r.client()).status();
      if (!s.ok()) return s;
      sotto::v1::ClaimRequest c;
      if (!Parse(c, data, size)) return absl::OkStatus();
      return w.conversations->Claim(caller, c.client()).status();
    }
    case 18: {
      sotto::v1::EnrolTherapistRequest r;
      if (!Parse(r, data, size)) return absl::OkStatus();
      return w.enrolment->IssueTherapistCode(r.handle(), r.valid_hours()).status();
    }
  }
  return absl::OkStatus();
}

// Runs one request as its handler would; returns the domain's status.
absl::Status Handle(World& w, uint8_t which, const AuthenticatedDevice& caller, const uint8_t* data,
                    size_t size) {
  const uint8_t rpc = which % 19;
  if (rpc <= 4) return HandleAccountsAndKeys(w, rpc, caller, data, size);
  if (rpc <= 8) return HandleMessages(w, rpc, caller, data, size);
  if (rpc <= 14) return HandleCare(w, rpc, caller, data, size);
  return HandleQueueAndOperator(w, rpc, caller, data, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // State carries over between inputs (queues fill, links end), which lets
  // sequences of requests find bugs; a fresh world every so often keeps
  // memory bounded and the fixtures usable.
  static std::unique_ptr<World> world;
  static int runs = 0;
  if (world == nullptr || ++runs % 500 == 0) world = std::make_unique<World>();
  if (size == 0) return 0;

  const uint8_t which = data[0];
  const AuthenticatedDevice& caller = (which & 0x80) ? world->therapist : world->client;
  world->clock.Advance(1000);
  absl::Status s = Handle(*world, which & 0x7F, caller, data + 1, size - 1);

  FUZZ_CHECK(s.code() != absl::StatusCode::kInternal, s.ToString().c_str());
  FUZZ_CHECK(s.code() != absl::StatusCode::kDataLoss, s.ToString().c_str());
  FUZZ_CHECK(s.code() != absl::StatusCode::kUnknown, s.ToString().c_str());
  grpc::Status wire = sotto::server::rpc::ToGrpcStatus(s);
  FUZZ_CHECK(static_cast<int>(wire.error_code()) == static_cast<int>(s.code()),
             "ToGrpcStatus changed the code");
  return 0;
}
