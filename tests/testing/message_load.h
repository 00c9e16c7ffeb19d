#ifndef SOTTO_TESTS_TESTING_MESSAGE_LOAD_H_
#define SOTTO_TESTS_TESTING_MESSAGE_LOAD_H_

// Accounts and Sends against the real sotto-server binary, for the tests
// that count acknowledged messages across crashes and restores
// (tests/reliability/, tests/server/backup_test.cc). Header-only.
//
//   auto server = ServerProcess::Start(kServerBinary, RateLimitsOffArgs());
//   MessageLoad load;
//   ASSERT_OK(load.Setup((*server)->address(), (*server)->data_dir(), /*senders=*/4));
//   grpc::Status s = load.Send(sender, n);         // client `sender` -> therapist
//   auto got = load.FetchAll();                    // every queued body, in order
//   load.Fetch(after, limit), load.Ack(seqs)       // to drain as a device does
//
// One therapist (enrolled with `sotto-server enrol-therapist --quiet`) and
// `senders` clients registered with invite codes; each client sends to the
// therapist. A message's body is Body(sender, n), its id derived from the
// same pair, so a retried Send is the same Send (the server's idempotency).
// Thread-safe after Setup: Send and FetchAll may be called concurrently;
// Reconnect must not run alongside them.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "sotto/authorization.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "sotto/v1/care.grpc.pb.h"
#include "sotto/v1/messages.grpc.pb.h"
#include "testing/register_request.h"
#include "testing/server_process.h"

namespace sotto::testing {

class MessageLoad {
 public:
  static std::string Body(int sender, int n) { return absl::StrCat("s", sender, "-", n); }

  // Enrols the therapist and registers `senders` clients on the server at
  // `address` whose data directory is `data_dir`. Their handles start with
  // `prefix` (several loads on one server: one therapist each).
  absl::Status Setup(const std::string& address, const std::string& data_dir, int senders,
                     const std::string& prefix = "") {
    Reconnect(address);
    absl::StatusOr<std::string> code = IssueEnrolmentCode(data_dir, prefix + "therapist");
    if (!code.ok()) return code.status();
    absl::StatusOr<Account> t = Register(prefix + "therapist", v1::ROLE_THERAPIST, *code, "");
    if (!t.ok()) return t.status();
    therapist_ = *t;
    for (int i = 0; i < senders; ++i) {
      v1::CreateInviteResponse invite;
      grpc::ClientContext ctx;
      Prepare(ctx, therapist_);
      grpc::Status s = care_->CreateInvite(&ctx, v1::CreateInviteRequest(), &invite);
      if (!s.ok()) return absl::InternalError("CreateInvite: " + s.error_message());
      absl::StatusOr<Account> c =
          Register(absl::StrCat(prefix, "client", i), v1::ROLE_CLIENT, "", invite.code());
      if (!c.ok()) return c.status();
      senders_.push_back(*c);
    }
    return absl::OkStatus();
  }

  // New channels to `address` (after a restart on another port). They
  // reconnect within half a second of a server's return (gRPC's default
  // backoff grows to two minutes), for tests that restart it often.
  void Reconnect(const std::string& address) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    accounts_ = v1::Accounts::NewStub(channel);
    care_ = v1::Care::NewStub(channel);
    messages_ = v1::Messages::NewStub(channel);
  }

  int senders() const { return static_cast<int>(senders_.size()); }

  // The same accounts, talking to another server node at `address` (one
  // that shares this one's database): for Sends through several nodes.
  std::unique_ptr<MessageLoad> Through(const std::string& address) const {
    auto other = std::make_unique<MessageLoad>();
    other->therapist_ = therapist_;
    other->senders_ = senders_;
    other->Reconnect(address);
    return other;
  }

  // Client `sender`'s message `n` to the therapist; OK means acknowledged.
  grpc::Status Send(int sender, int n) const {
    const Account& from = senders_[static_cast<size_t>(sender)];
    v1::SendRequest req;
    req.set_recipient(therapist_.handle);
    req.set_message_id(absl::StrCat("m", sender, "-", n, std::string(16, '.')).substr(0, 16));
    auto* e = req.add_envelopes();
    e->set_device_id(1);
    e->set_registration_id(therapist_.registration_id);
    e->set_type(v1::ENVELOPE_TYPE_PREKEY);
    e->set_ciphertext(Body(sender, n));
    grpc::ClientContext ctx;
    Prepare(ctx, from);
    v1::SendResponse resp;
    return messages_->Send(&ctx, req, &resp);
  }

  struct Received {
    uint64_t seq = 0;
    std::string body;
  };

  // Up to `limit` envelopes queued for the therapist after `after_seq`;
  // `*more` says whether more follow.
  absl::StatusOr<std::vector<Received>> Fetch(uint64_t after_seq, uint32_t limit,
                                              bool* more = nullptr) const {
    v1::FetchRequest req;
    req.set_after_seq(after_seq);
    req.set_limit(limit);
    v1::FetchResponse resp;
    grpc::ClientContext ctx;
    Prepare(ctx, therapist_);
    grpc::Status s = messages_->Fetch(&ctx, req, &resp);
    if (!s.ok()) return absl::UnavailableError("Fetch: " + s.error_message());
    std::vector<Received> out;
    for (const auto& e : resp.envelopes()) out.push_back({e.seq(), e.ciphertext()});
    if (more != nullptr) *more = resp.more();
    return out;
  }

  // Deletes the therapist's envelopes `seqs` (at most 1,000).
  grpc::Status Ack(const std::vector<uint64_t>& seqs) const {
    v1::AckRequest req;
    for (uint64_t seq : seqs) req.add_seqs(seq);
    v1::AckResponse resp;
    grpc::ClientContext ctx;
    Prepare(ctx, therapist_);
    return messages_->Ack(&ctx, req, &resp);
  }

  // The therapist's Subscribe stream (no deadline: it lasts until `ctx` is
  // cancelled or the server ends it).
  std::unique_ptr<grpc::ClientReader<v1::SubscribeEvent>> Subscribe(
      grpc::ClientContext& ctx) const {
    ctx.AddMetadata("authorization",
                    sotto::AuthorizationValue(therapist_.handle, 1, therapist_.secret));
    return messages_->Subscribe(&ctx, v1::SubscribeRequest());
  }

  // Every body queued for the therapist, oldest first (without Ack).
  absl::StatusOr<std::vector<std::string>> FetchAll() const {
    std::vector<std::string> bodies;
    uint64_t after = 0;
    while (true) {
      bool more = false;
      absl::StatusOr<std::vector<Received>> page = Fetch(after, 1000, &more);
      if (!page.ok()) return page.status();
      for (const Received& r : *page) {
        bodies.push_back(r.body);
        after = r.seq;
      }
      if (!more || page->empty()) return bodies;
    }
  }

 private:
  struct Account {
    std::string handle;
    std::string secret;
    uint32_t registration_id = 0;
  };

  static void Prepare(grpc::ClientContext& ctx, const Account& a) {
    ctx.AddMetadata("authorization", sotto::AuthorizationValue(a.handle, 1, a.secret));
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  absl::StatusOr<Account> Register(const std::string& handle, v1::Role role,
                                   const std::string& enrolment_code,
                                   const std::string& invite_code) {
    Account a{handle, std::string(32, static_cast<char>('A' + senders_.size() % 26)),
              static_cast<uint32_t>(100 + senders_.size())};
    const v1::RegisterRequest req =
        MakeRegisterRequest(handle, role, role == v1::ROLE_THERAPIST ? enrolment_code : invite_code,
                            a.secret, a.registration_id);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::RegisterResponse resp;
    grpc::Status s = accounts_->Register(&ctx, req, &resp);
    if (!s.ok()) return absl::InternalError("Register " + handle + ": " + s.error_message());
    return a;
  }

  Account therapist_;
  std::vector<Account> senders_;
  std::unique_ptr<v1::Accounts::Stub> accounts_;
  std::unique_ptr<v1::Care::Stub> care_;
  std::unique_ptr<v1::Messages::Stub> messages_;
};

// What a receiver got: by seq, so that an envelope delivered again because
// its Ack was lost in a crash counts once (its seq is stable), and a Send
// stored twice shows as one body under two seqs.
class ReceivedBySeq {
 public:
  void Add(const MessageLoad::Received& r) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = by_seq_.emplace(r.seq, r.body);
    if (!inserted && it->second != r.body) {
      changed_.push_back(std::to_string(r.seq) + ": " + it->second + " then " + r.body);
    }
  }
  // Body -> how many distinct seqs carried it.
  std::map<std::string, int> Counts() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, int> counts;
    for (const auto& [seq, body] : by_seq_) ++counts[body];
    return counts;
  }
  // Seqs that carried one body, then another (an overwritten message).
  std::vector<std::string> changed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return changed_;
  }

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, std::string> by_seq_;
  std::vector<std::string> changed_;
};

// Fetches and acknowledges as a device does until `stop`, then until the
// queue is empty; a failed call (a server or database going away) is
// retried.
inline void ReceiveUntil(const MessageLoad& load, const std::atomic<bool>& stop,
                         ReceivedBySeq& got) {
  while (true) {
    absl::StatusOr<std::vector<MessageLoad::Received>> page = load.Fetch(0, 1000);
    if (!page.ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (page->empty()) {
      if (stop.load()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    std::vector<uint64_t> seqs;
    for (const MessageLoad::Received& r : *page) {
      got.Add(r);
      seqs.push_back(r.seq);
    }
    (void)load.Ack(seqs);  // if lost, they come again, under the same seqs
  }
}

// What went wrong, if anything, for senders whose messages 0..acked[i]-1
// were acknowledged: one line per acknowledged message never received, per
// message received more than once, per seq overwritten. Empty: each
// acknowledged message arrived exactly once.
inline std::vector<std::string> AcknowledgedOnceProblems(const std::vector<int>& acked,
                                                         const ReceivedBySeq& got) {
  std::vector<std::string> problems;
  const std::map<std::string, int> counts = got.Counts();
  for (size_t i = 0; i < acked.size(); ++i) {
    for (int n = 0; n < acked[i]; ++n) {
      const std::string body = MessageLoad::Body(static_cast<int>(i), n);
      if (counts.find(body) == counts.end()) problems.push_back("acknowledged " + body + " lost");
    }
  }
  for (const auto& [body, count] : counts) {
    if (count != 1) problems.push_back(body + " stored " + std::to_string(count) + " times");
  }
  for (const std::string& c : got.changed()) problems.push_back("seq overwritten: " + c);
  return problems;
}

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_MESSAGE_LOAD_H_
