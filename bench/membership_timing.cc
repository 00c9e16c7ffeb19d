// sotto-membership-timing: does the time of a refusal tell whether a handle
// exists (issue 19)? Runs the real server in-process on a loopback port with
// real RocksDB in a temporary directory, sets up therapists and clients
// through the real RPCs, then times every refusal path a stranger can reach,
// once for each kind of target (a registered client, a registered therapist,
// a free handle), the calls of all kinds interleaved in a shuffled order so
// that drift in the machine's load falls on every kind alike. Prints, per
// path and target, the median and 90th percentile of the client-side
// latency in microseconds. No assertion: docs/BENCHMARKS.md records the
// figures and how to read them.
//
//   sotto-membership-timing [samples per path and target, default 2000]

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/domain/clock.h"
#include "server/domain/limits.h"
#include "server/rpc/server.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "sotto/v1/care.grpc.pb.h"
#include "sotto/v1/keys.grpc.pb.h"
#include "sotto/v1/messages.grpc.pb.h"
#include "testing/signal_test_keys.h"
#include "testing/temp_dir.h"

namespace sotto::server {
namespace {

namespace v1 = ::sotto::v1;

struct Device {
  std::string handle;
  std::string secret;
  std::string Header() const {
    return absl::StrCat("Sotto ", handle, ".1:", absl::BytesToHexString(secret));
  }
};

class Bench {
 public:
  bool Start() {
    rpc::ServerOptions options;
    options.data_dir = dir_.path() + "/db";
    options.listen_address = "127.0.0.1:0";
    // Every call here is a refusal: lift the limits, and move the fake clock
    // past the wrong-code window before each call, so every sample takes the
    // path a first-time caller takes (no RESOURCE_EXHAUSTED).
    options.clock = &clock_;
    for (BucketConfig* b :
         {&options.rate_limits.registration, &options.rate_limits.failed_auth,
          &options.rate_limits.bundle_per_requester, &options.rate_limits.sends_per_device}) {
      *b = {1e9, 1e9};
    }
    auto server = rpc::SottoServer::Start(options);
    if (!server.ok()) {
      std::fprintf(stderr, "server: %s\n", std::string(server.status().message()).c_str());
      return false;
    }
    server_ = *std::move(server);
    auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    accounts_ = v1::Accounts::NewStub(channel);
    keys_ = v1::Keys::NewStub(channel);
    messages_ = v1::Messages::NewStub(channel);
    care_ = v1::Care::NewStub(channel);
    return true;
  }

  // Registers `handle` (a therapist with an enrolment code, or a client
  // with an invite from `therapist`).
  bool Register(const std::string& handle, const Device* therapist, Device* out) {
    out->handle = handle;
    out->secret = std::string(kDeviceSecretBytes, static_cast<char>(0xa0 | (handle.size() & 15)));
    v1::RegisterRequest req = Request(handle, out->secret);
    if (therapist == nullptr) {
      auto code = server_->IssueEnrolmentCode(handle);
      if (!code.ok()) return false;
      req.set_role(v1::ROLE_THERAPIST);
      req.clear_invite_code();
      req.set_enrolment_code(code->code);
    } else {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", therapist->Header());
      v1::CreateInviteResponse invite;
      if (!care_->CreateInvite(&ctx, v1::CreateInviteRequest(), &invite).ok()) return false;
      req.set_invite_code(invite.code());
    }
    grpc::ClientContext ctx;
    v1::RegisterResponse resp;
    grpc::Status s = accounts_->Register(&ctx, req, &resp);
    if (!s.ok())
      std::fprintf(stderr, "register %s: %s\n", handle.c_str(), s.error_message().c_str());
    return s.ok();
  }

  // A client registration for `handle` with a wrong invite code.
  v1::RegisterRequest Request(const std::string& handle, const std::string& secret) {
    v1::RegisterRequest req;
    req.set_handle(handle);
    req.set_role(v1::ROLE_CLIENT);
    req.set_device_secret(secret);
    req.set_registration_id(100);
    req.set_invite_code("2222-2222-2222");
    v1::DeviceKeys* k = req.mutable_keys();
    k->set_identity_key(keys_material_.identity_key());
    auto spk = keys_material_.MakeSignedPreKey(1);
    k->mutable_signed_prekey()->set_id(spk.id);
    k->mutable_signed_prekey()->set_public_key(spk.public_key);
    k->mutable_signed_prekey()->set_signature(spk.signature);
    return req;
  }

  // One timed call of `kind` against `target` by `caller`; microseconds,
  // or -1 if the answer was not the expected refusal.
  double Time(const std::string& kind, const Device& caller, const std::string& target) {
    if (kind == "Register(wrong code)") clock_.Advance(kCodeFailureWindowMs);
    grpc::ClientContext ctx;
    grpc::Status s;
    grpc::StatusCode want = grpc::StatusCode::PERMISSION_DENIED;
    auto start = std::chrono::steady_clock::now();
    if (kind == "Register(wrong code)") {
      v1::RegisterResponse resp;
      s = accounts_->Register(&ctx, register_requests_[target], &resp);
    } else if (kind == "auth(wrong secret)") {
      Device wrong{target, std::string(kDeviceSecretBytes, '\x01')};
      ctx.AddMetadata("authorization", wrong.Header());
      v1::WhoAmIResponse resp;
      s = accounts_->WhoAmI(&ctx, v1::WhoAmIRequest(), &resp);
      want = grpc::StatusCode::UNAUTHENTICATED;
    } else if (kind.rfind("Send", 0) == 0) {
      ctx.AddMetadata("authorization", caller.Header());
      v1::SendRequest req;
      req.set_recipient(target);
      req.set_message_id(std::string(kMessageIdBytes, '\x07'));
      v1::OutgoingEnvelope* e = req.add_envelopes();
      e->set_device_id(1);
      e->set_registration_id(100);
      e->set_type(v1::ENVELOPE_TYPE_CIPHERTEXT);
      e->set_ciphertext(std::string(200, 'c'));
      v1::SendResponse resp;
      s = messages_->Send(&ctx, req, &resp);
    } else {
      ctx.AddMetadata("authorization", caller.Header());
      v1::GetBundleRequest req;
      req.set_user(target);
      v1::GetBundleResponse resp;
      s = keys_->GetBundle(&ctx, req, &resp);
    }
    auto end = std::chrono::steady_clock::now();
    if (s.error_code() != want) {
      std::fprintf(stderr, "%s %s: unexpected %d %s\n", kind.c_str(), target.c_str(),
                   s.error_code(), s.error_message().c_str());
      return -1;
    }
    return std::chrono::duration<double, std::micro>(end - start).count();
  }

  int Run(int samples) {
    if (!Start()) return 1;
    Device ana, lee, bob, cal;
    if (!Register("ana", nullptr, &ana) || !Register("dr-lee", nullptr, &lee) ||
        !Register("bob", &ana, &bob) || !Register("cal", &lee, &cal)) {
      return 1;
    }
    // Some bulk, so that reads go through RocksDB's levels, not one memtable.
    Device filler;
    for (int i = 0; i < 200; ++i) {
      if (!Register(absl::StrCat("client", i), &lee, &filler)) return 1;
    }
    // Targets: a client (cal) and a therapist (dr-lee) neither caller is
    // linked with, and free handles.
    const std::vector<std::pair<std::string, std::string>> targets = {
        {"client", "cal"}, {"therapist", "dr-lee"}, {"free", "zoe"}};
    for (const auto& [label, handle] : targets) {
      register_requests_[handle] = Request(handle, std::string(kDeviceSecretBytes, '\x05'));
    }
    struct Path {
      std::string kind;
      const Device* caller;
    };
    const std::vector<Path> paths = {
        {"Register(wrong code)", nullptr}, {"auth(wrong secret)", nullptr},
        {"Send by therapist", &ana},       {"Send by client", &bob},
        {"GetBundle by therapist", &ana},  {"GetBundle by client", &bob}};
    struct Job {
      size_t path;
      size_t target;
    };
    std::vector<Job> jobs;
    for (size_t p = 0; p < paths.size(); ++p) {
      for (size_t t = 0; t < targets.size(); ++t) {
        for (int i = 0; i < samples; ++i) jobs.push_back({p, t});
      }
    }
    std::mt19937 rng(19);
    std::shuffle(jobs.begin(), jobs.end(), rng);
    std::map<std::pair<size_t, size_t>, std::vector<double>> times;
    // A warm-up pass, not recorded.
    for (size_t i = 0; i < std::min<size_t>(jobs.size(), 500); ++i) {
      Time(paths[jobs[i].path].kind, paths[jobs[i].path].caller ? *paths[jobs[i].path].caller : ana,
           targets[jobs[i].target].second);
    }
    for (const Job& j : jobs) {
      const Path& p = paths[j.path];
      double us = Time(p.kind, p.caller ? *p.caller : ana, targets[j.target].second);
      if (us < 0) return 1;
      times[{j.path, j.target}].push_back(us);
    }
    std::printf("%-24s %22s %22s %22s\n", "refusal path (us)", "client: p50 / p90",
                "therapist: p50 / p90", "free: p50 / p90");
    for (size_t p = 0; p < paths.size(); ++p) {
      std::printf("%-24s", paths[p].kind.c_str());
      for (size_t t = 0; t < targets.size(); ++t) {
        std::vector<double>& v = times[{p, t}];
        std::sort(v.begin(), v.end());
        std::printf(" %13.1f / %6.1f", v[v.size() / 2], v[v.size() * 9 / 10]);
      }
      std::printf("\n");
    }
    return 0;
  }

 private:
  sotto::testing::TempDir dir_;
  FakeClock clock_;
  sotto::testing::SignalTestKeys keys_material_;
  std::unique_ptr<rpc::SottoServer> server_;
  std::unique_ptr<v1::Accounts::Stub> accounts_;
  std::unique_ptr<v1::Keys::Stub> keys_;
  std::unique_ptr<v1::Messages::Stub> messages_;
  std::unique_ptr<v1::Care::Stub> care_;
  std::map<std::string, v1::RegisterRequest> register_requests_;
};

}  // namespace
}  // namespace sotto::server

int main(int argc, char** argv) {
  int samples = argc > 1 ? std::atoi(argv[1]) : 2000;
  if (samples < 10) samples = 10;
  sotto::server::Bench bench;
  return bench.Run(samples);
}
