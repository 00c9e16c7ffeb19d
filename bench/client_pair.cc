#include "bench/client_pair.h"

#include <stdlib.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "testing/server_process.h"

namespace sotto::bench {
namespace {

constexpr char kTherapist[] = "dr-bench";
constexpr char kClient[] = "cal-bench";

long SelfMinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

}  // namespace

PerfWindow::PerfWindow() {
  if (const char* fifo = getenv("SOTTO_BENCH_PERF_CTL")) fifo_ = fifo;
  Tell("enable");
}

PerfWindow::~PerfWindow() { Tell("disable"); }

void PerfWindow::Tell(const char* command) {
  if (fifo_.empty()) return;
  // perf reads one command per line; a failed write only loses the profile.
  std::ofstream(fifo_) << command << std::endl;
}

Stopwatch::Stopwatch()
    : start_(std::chrono::steady_clock::now()),
      cpu0_(SelfCpuSeconds()),
      faults0_(SelfMinorFaults()) {}

Timed Stopwatch::Elapsed() const {
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(),
          SelfCpuSeconds() - cpu0_, static_cast<double>(SelfMinorFaults() - faults0_)};
}

absl::StatusOr<std::unique_ptr<ClientPair>> ClientPair::Start(const Common& common) {
  std::unique_ptr<ClientPair> pair(new ClientPair());
  absl::StatusOr<std::unique_ptr<World>> world =
      World::Start(common.server_binary, common.server_args, 1);
  if (!world.ok()) return world.status();
  pair->world_ = std::move(*world);
  const char* tmp = getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/sotto-bench-client-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  pair->root_ = pattern;
  pair->therapist_dir_ = pattern + "/therapist";
  pair->client_dir_ = pattern + "/client";
  if (absl::Status s = pair->Register(common); !s.ok()) return s;
  return pair;
}

ClientPair::~ClientPair() {
  therapist_.reset();
  client_.reset();
  world_.reset();
  std::error_code ec;
  if (!root_.empty()) std::filesystem::remove_all(root_, ec);
}

absl::Status ClientPair::Register(const Common& common) {
  absl::StatusOr<std::string> enrolment =
      testing::IssueEnrolmentCode(world_->data_dir(), kTherapist, common.server_binary);
  if (!enrolment.ok()) return enrolment.status();
  RegisterOptions t;
  t.profile_dir = therapist_dir_;
  t.server_address = world_->address();
  t.handle = kTherapist;
  t.role = Role::kTherapist;
  t.passphrase = kBenchPassphrase;
  t.enrolment_code = *enrolment;
  absl::StatusOr<std::unique_ptr<Client>> therapist = Client::Register(t);
  if (!therapist.ok()) return therapist.status();
  therapist_ = std::move(*therapist);
  absl::StatusOr<Invite> invite = therapist_->CreateInvite();
  if (!invite.ok()) return invite.status();
  RegisterOptions c = t;
  c.profile_dir = client_dir_;
  c.handle = kClient;
  c.role = Role::kClient;
  c.enrolment_code.clear();
  c.invite_code = invite->code;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Register(c);
  if (!client.ok()) return client.status();
  client_ = std::move(*client);
  // One message each way: from then on the client's messages are plain
  // Signal messages of a continuing session, not PreKey messages.
  if (auto sent = client_->SendText(kTherapist, "hello"); !sent.ok()) return sent.status();
  if (auto got = therapist_->Sync(); !got.ok()) return got.status();
  if (auto sent = therapist_->SendText(kClient, "hi"); !sent.ok()) return sent.status();
  if (auto got = client_->Sync(); !got.ok()) return got.status();
  // Both sides drained (the receipts included), so a timed Sync sees only
  // what a scenario sends.
  if (auto got = therapist_->Sync(); !got.ok()) return got.status();
  return absl::OkStatus();
}

absl::Status ClientPair::ReopenTherapist() {
  OpenOptions o;
  o.profile_dir = therapist_dir_;
  o.passphrase = kBenchPassphrase;
  absl::StatusOr<std::unique_ptr<Client>> t = Client::Open(o);
  if (!t.ok()) return t.status();
  therapist_ = std::move(*t);
  return absl::OkStatus();
}

std::string NumberedText(uint64_t i, size_t size) {
  std::string text = absl::StrFormat("#%08d ", i);
  while (text.size() < size) text += static_cast<char>('a' + text.size() % 26);
  return text;
}

absl::StatusOr<Timed> SendTexts(ClientPair& pair, uint64_t first, uint64_t n, size_t size) {
  std::vector<std::string> texts;
  texts.reserve(n);
  for (uint64_t i = 0; i < n; ++i) texts.push_back(NumberedText(first + i, size));
  Stopwatch watch;
  for (uint64_t i = 0; i < n; ++i) {
    absl::StatusOr<SendResult> sent = pair.client().SendText(kTherapist, texts[i]);
    if (!sent.ok()) {
      return absl::Status(sent.status().code(),
                          absl::StrCat("SendText #", first + i, ": ", sent.status().message()));
    }
  }
  return watch.Elapsed();
}

absl::StatusOr<Timed> SendTextsFromThreads(ClientPair& pair, uint64_t first, uint64_t n,
                                           size_t size, int threads) {
  if (threads <= 1) return SendTexts(pair, first, n, size);
  std::vector<std::string> texts;
  texts.reserve(n);
  for (uint64_t i = 0; i < n; ++i) texts.push_back(NumberedText(first + i, size));
  absl::Mutex mu;
  absl::Status failed;
  std::vector<std::thread> senders;
  Stopwatch watch;
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] {
      for (uint64_t i = t; i < n; i += threads) {
        absl::StatusOr<SendResult> sent = pair.client().SendText(kTherapist, texts[i]);
        if (sent.ok()) continue;
        absl::MutexLock lock(&mu);
        if (failed.ok()) {
          failed = absl::Status(sent.status().code(), absl::StrCat("SendText #", first + i, ": ",
                                                                   sent.status().message()));
        }
        return;
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  const Timed elapsed = watch.Elapsed();
  if (!failed.ok()) return failed;
  return elapsed;
}

void VerifyOncePerThreadOrder(ScenarioResult& r, Client& therapist,
                              const std::string& client_handle,
                              const std::vector<SendRound>& rounds, size_t size) {
  absl::StatusOr<std::vector<Message>> history = therapist.ReadConversation(client_handle);
  if (!history.ok()) {
    r.failures.push_back("ReadConversation: " + history.status().ToString());
    return;
  }
  absl::flat_hash_map<std::string, uint64_t> number;
  uint64_t total = 0;
  for (const SendRound& round : rounds) {
    for (uint64_t i = 0; i < round.count; ++i) {
      number[NumberedText(round.first + i, size)] = round.first + i;
    }
    total += round.count;
  }
  // The last text seen from each (round, thread), to check each thread's order.
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, uint64_t> last;
  absl::flat_hash_set<uint64_t> seen;
  for (const Message& m : *history) {
    if (m.outgoing || m.kind != MessageKind::kText || m.text == "hello") continue;
    auto it = number.find(m.text);
    if (it == number.end()) {
      r.failures.push_back(
          absl::StrCat("the therapist got a text nobody sent: \"", m.text.substr(0, 10), "\""));
      return;
    }
    const uint64_t i = it->second;
    if (!seen.insert(i).second) {
      r.failures.push_back(absl::StrCat("text #", i, " arrived twice"));
      return;
    }
    for (const SendRound& round : rounds) {
      if (i < round.first || i >= round.first + round.count) continue;
      const auto key = std::make_pair(round.first, (i - round.first) % round.threads);
      if (auto prev = last.find(key); prev != last.end() && prev->second > i) {
        r.failures.push_back(absl::StrCat("text #", i, " arrived after #", prev->second,
                                          ", which its thread sent later"));
        return;
      }
      last[key] = i;
    }
  }
  if (seen.size() != total) {
    r.failures.push_back(absl::StrCat(seen.size(), " benchmark texts arrived, expected ", total));
  }
}

void VerifyInOrder(ScenarioResult& r, Client& therapist, const std::string& client_handle,
                   uint64_t first, uint64_t n, size_t size) {
  absl::StatusOr<std::vector<Message>> history = therapist.ReadConversation(client_handle);
  if (!history.ok()) {
    r.failures.push_back("ReadConversation: " + history.status().ToString());
    return;
  }
  std::vector<const Message*> texts;
  for (const Message& m : *history) {
    if (!m.outgoing && m.kind == MessageKind::kText && m.text != "hello") texts.push_back(&m);
  }
  if (texts.size() != n) {
    r.failures.push_back(absl::StrCat("the therapist's history holds ", texts.size(),
                                      " benchmark texts, expected ", n));
  }
  for (uint64_t i = 0; i < std::min<uint64_t>(n, texts.size()); ++i) {
    if (texts[i]->text != NumberedText(first + i, size)) {
      r.failures.push_back(absl::StrCat("text ", i, " of the history is \"",
                                        texts[i]->text.substr(0, 10), "\", expected #", first + i,
                                        " (lost, duplicated or out of order)"));
      return;
    }
  }
}

double LoadAverage() {
  std::ifstream f("/proc/loadavg");
  double one = 0;
  f >> one;
  return one;
}

}  // namespace sotto::bench
