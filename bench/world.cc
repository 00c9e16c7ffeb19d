#include "bench/world.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "sotto/authorization.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "sotto/v1/care.grpc.pb.h"
#include "sotto/v1/operator.grpc.pb.h"
#include "testing/signal_test_keys.h"

namespace sotto::bench {
namespace {

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  return out;
}

absl::Status FromGrpc(const grpc::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

}  // namespace

void Authorize(grpc::ClientContext& context, const Device& device) {
  context.AddMetadata(kAuthorizationKey, device.authorization);
  context.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
}

std::string CodeName(grpc::StatusCode code) {
  // gRPC's codes are absl's (google.rpc.Code).
  const int c = static_cast<int>(code);
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(c));
  return name.empty() ? absl::StrCat("CODE_", c) : name;
}

absl::StatusOr<std::unique_ptr<World>> World::Start(const std::string& server_binary,
                                                    const std::vector<std::string>& server_args,
                                                    int channels,
                                                    const std::vector<std::string>& nodes) {
  std::unique_ptr<World> world(new World());
  world->server_binary_ = server_binary;
  absl::StatusOr<std::unique_ptr<testing::ServerProcess>> server =
      testing::ServerProcess::Start(server_binary, server_args);
  if (!server.ok()) return server.status();
  world->server_ = std::move(*server);
  world->nodes_ = 1 + nodes.size();
  for (int i = 0; i < std::max(1, channels); ++i) {
    grpc::ChannelArguments args;
    // Distinct args and a local subchannel pool: one TCP connection each.
    args.SetInt("sotto.bench.channel", i);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetMaxReceiveMessageSize(8 << 20);
    const size_t node = static_cast<size_t>(i) % (1 + nodes.size());
    const std::string& address = node == 0 ? world->server_->address() : nodes[node - 1];
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      return absl::UnavailableError("cannot connect to " + address);
    }
    world->messages_.push_back(sotto::v1::Messages::NewStub(channel));
    world->channels_.push_back(std::move(channel));
  }
  return world;
}

World::~World() {
  messages_.clear();
  channels_.clear();
  if (server_ != nullptr) {
    absl::Status s = server_->Stop();
    if (!s.ok()) fprintf(stderr, "sotto-bench: server stop: %s\n", s.ToString().c_str());
  }
}

ProcStatus World::ReadServerStatus() const {
  ProcStatus out;
  if (server_->pid() <= 0) return out;
  std::ifstream f(absl::StrCat("/proc/", server_->pid(), "/status"));
  std::string line;
  while (std::getline(f, line)) {
    unsigned long long v = 0;
    if (sscanf(line.c_str(), "VmRSS: %llu", &v) == 1) out.rss_kib = v;
    if (sscanf(line.c_str(), "VmHWM: %llu", &v) == 1) out.peak_rss_kib = v;
    if (sscanf(line.c_str(), "Threads: %llu", &v) == 1) out.threads = v;
  }
  return out;
}

double World::ServerCpuSeconds() const {
  if (server_->pid() <= 0) return 0;
  std::ifstream f(absl::StrCat("/proc/", server_->pid(), "/stat"));
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  std::istringstream in(stat.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

absl::StatusOr<sotto::v1::StatsResponse> World::ServerStats() const {
  // The operator socket's documented place (proto/sotto/v1/operator.proto).
  auto stub = sotto::v1::Operator::NewStub(grpc::CreateChannel(
      "unix:" + server_->data_dir() + "/operator.sock", grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  sotto::v1::StatsResponse resp;
  grpc::Status s = stub->Stats(&ctx, sotto::v1::StatsRequest(), &resp);
  if (!s.ok()) return absl::UnavailableError("Operator.Stats: " + s.error_message());
  return resp;
}

absl::StatusOr<std::string> World::EnrolTherapist(const std::string& handle) const {
  return testing::IssueEnrolmentCode(server_->data_dir(), handle, server_binary_);
}

absl::StatusOr<Device> World::Register(const std::string& handle, bool therapist,
                                       const std::string& code) const {
  // Real key material: an identity and a signed prekey with an XEdDSA
  // signature the server verifies. Made per device (one curve25519 key pair
  // and one signature, ~1 ms).
  testing::SignalTestKeys keys;
  testing::TestSignedPreKey spk = keys.MakeSignedPreKey(1);
  sotto::v1::RegisterRequest req;
  req.set_handle(handle);
  req.set_role(therapist ? sotto::v1::ROLE_THERAPIST : sotto::v1::ROLE_CLIENT);
  const std::string secret = RandomBytes(32);
  req.set_device_secret(secret);
  uint32_t reg_id = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&reg_id), sizeof(reg_id));
  reg_id = 1 + reg_id % 16380;
  req.set_registration_id(reg_id);
  req.mutable_keys()->set_identity_key(keys.identity_key());
  req.mutable_keys()->mutable_signed_prekey()->set_id(spk.id);
  req.mutable_keys()->mutable_signed_prekey()->set_public_key(spk.public_key);
  req.mutable_keys()->mutable_signed_prekey()->set_signature(spk.signature);
  if (therapist) {
    req.set_enrolment_code(code);
  } else {
    req.set_invite_code(code);
  }
  sotto::v1::RegisterResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
  auto stub = sotto::v1::Accounts::NewStub(channels_[0]);
  grpc::Status s = stub->Register(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s, "Register " + handle);
  Device d;
  d.handle = handle;
  d.device_id = resp.device_id();
  d.registration_id = reg_id;
  d.authorization = AuthorizationValue(handle, d.device_id, secret);
  return d;
}

absl::StatusOr<std::string> World::CreateInvite(const Device& therapist) const {
  auto stub = sotto::v1::Care::NewStub(channels_[0]);
  grpc::ClientContext ctx;
  Authorize(ctx, therapist);
  sotto::v1::CreateInviteRequest req;
  sotto::v1::CreateInviteResponse resp;
  grpc::Status s = stub->CreateInvite(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s, "CreateInvite by " + therapist.handle);
  return resp.code();
}

absl::Status World::AddPairs(size_t count, size_t clients_per_therapist, int threads) {
  clients_per_therapist = std::max<size_t>(1, clients_per_therapist);
  // Decide every pair's therapist first, then enrol the new therapists and
  // register the clients in parallel.
  const size_t first_pair = pairs_.size();
  const size_t first_therapist = therapists_.size();
  std::vector<size_t> therapist_of(count);
  size_t new_therapists = 0;
  for (size_t i = 0; i < count; ++i) {
    if (clients_of_.empty() || clients_of_.back() >= clients_per_therapist) {
      clients_of_.push_back(0);
      ++new_therapists;
    }
    ++clients_of_.back();
    therapist_of[i] = clients_of_.size() - 1;
  }
  therapists_.resize(first_therapist + new_therapists);
  pairs_.resize(first_pair + count);

  std::mutex mu;
  absl::Status first_error;
  auto run = [&](size_t n, auto&& body) {
    std::atomic<size_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < std::max(1, threads); ++t) {
      pool.emplace_back([&] {
        for (size_t i = next++; i < n; i = next++) {
          {
            std::lock_guard<std::mutex> lock(mu);
            if (!first_error.ok()) return;
          }
          absl::Status s = body(i);
          if (!s.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            if (first_error.ok()) first_error = s;
            return;
          }
        }
      });
    }
    for (std::thread& t : pool) t.join();
  };
  run(new_therapists, [&](size_t i) -> absl::Status {
    const size_t t = first_therapist + i;
    const std::string handle = absl::StrCat("therapist", t);
    absl::StatusOr<std::string> code = EnrolTherapist(handle);
    if (!code.ok()) return code.status();
    absl::StatusOr<Device> d = Register(handle, /*therapist=*/true, *code);
    if (!d.ok()) return d.status();
    therapists_[t] = std::move(*d);
    return absl::OkStatus();
  });
  if (!first_error.ok()) return first_error;
  run(count, [&](size_t i) -> absl::Status {
    const size_t p = first_pair + i;
    const size_t t = therapist_of[i];
    absl::StatusOr<std::string> invite = CreateInvite(therapists_[t]);
    if (!invite.ok()) return invite.status();
    absl::StatusOr<Device> d = Register(absl::StrCat("client", p), /*therapist=*/false, *invite);
    if (!d.ok()) return d.status();
    pairs_[p].therapist = t;
    pairs_[p].client = std::move(*d);
    return absl::OkStatus();
  });
  return first_error;
}

}  // namespace sotto::bench
