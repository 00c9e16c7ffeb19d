// A quick measuring tool for issue 21 (not a test, not the benchmark: the
// figures in docs/BENCHMARKS.md come from sotto-bench). Against the real
// server: fills a therapist's queue with N ordinary Signal messages (one
// continuing session, ~200-byte texts), then times opening the therapist's
// real profile and syncing it, a second open + sync with nothing new, and
// SendText / SendLetter in a loop from the real profile.
//
//   build/tests/reliability/throughput_probe [N] [SENDS] [LETTERS]

#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "e2e/e2e_support.h"
#include "testing/temp_dir.h"

namespace sotto::testing {
namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

ServerProcess* g_server = nullptr;

void Die(const absl::Status& s, const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  if (g_server) g_server->Kill();
  std::exit(1);
}

std::string Text(int i) {
  std::string t = absl::StrCat("message ", i, " ");
  t.resize(200, 'x');
  return t;
}

int Main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int sends = argc > 2 ? std::atoi(argv[2]) : 500;
  const int letters = argc > 3 ? std::atoi(argv[3]) : 50;
  auto server = ServerProcess::Start(kServerBinary, {"--rate-sends", "1000000/1000000"});
  if (!server.ok()) Die(server.status(), "server");
  g_server = server->get();
  TempDir dir;
  const std::string profile = dir.path() + "/t";
  auto code = IssueEnrolmentCode((*server)->data_dir(), "dr-t", SOTTO_SERVER_BINARY);
  if (!code.ok()) Die(code.status(), "enrol");
  RegisterOptions t_opts;
  t_opts.server_address = (*server)->address();
  t_opts.handle = "dr-t";
  t_opts.role = Role::kTherapist;
  t_opts.enrolment_code = *code;
  t_opts.profile_dir = profile;
  t_opts.passphrase = "correct horse battery staple";
  auto therapist = Client::Register(t_opts);
  if (!therapist.ok()) Die(therapist.status(), "register therapist");
  Party t{std::move(*therapist), nullptr};
  auto c = RegisterClient((*server)->address(), "client-c", t);
  if (!c.ok()) Die(c.status(), "register client");
  // One continuing session: after the first exchange every message is an
  // ordinary ciphertext.
  if (auto s = c->client->SendText("dr-t", "hello"); !s.ok()) Die(s.status(), "first send");
  if (auto s = t.client->Sync(); !s.ok()) Die(s.status(), "first sync");
  if (auto s = c->client->Sync(); !s.ok()) Die(s.status(), "client sync");
  t.client.reset();

  absl::Time fill_start = absl::Now();
  std::atomic<int> next{0};
  std::vector<std::thread> fillers;
  for (int k = 0; k < 16; ++k) {
    fillers.emplace_back([&] {
      for (int i; (i = next++) < n;) {
        if (auto s = c->client->SendText("dr-t", Text(i)); !s.ok()) Die(s.status(), "fill");
      }
    });
  }
  for (auto& f : fillers) f.join();
  std::printf("filled %d in %.2f s\n", n, absl::ToDoubleSeconds(absl::Now() - fill_start));

  OpenOptions o_opts;
  o_opts.profile_dir = profile;
  o_opts.passphrase = t_opts.passphrase;
  for (int round = 0; round < 2; ++round) {
    const double cpu0 = CpuSeconds();
    t.client.reset();
    absl::Time t0 = absl::Now();
    auto opened = Client::Open(o_opts);
    if (!opened.ok()) Die(opened.status(), "open");
    absl::Time t1 = absl::Now();
    auto stats = (*opened)->Sync();
    if (!stats.ok()) Die(stats.status(), "sync");
    absl::Time t2 = absl::Now();
    const double cpu = CpuSeconds() - cpu0;
    std::printf(
        "round %d: open %.3f s, sync %.3f s (%d received, %.0f msgs/s), cpu %.2f s "
        "(%.3f ms/msg)\n",
        round, absl::ToDoubleSeconds(t1 - t0), absl::ToDoubleSeconds(t2 - t1), stats->received,
        stats->received / absl::ToDoubleSeconds(t2 - t1), cpu,
        stats->received ? cpu * 1000 / stats->received : 0.0);
    if (round == 0) {
      auto conv = (*opened)->ReadConversation("client-c");
      if (!conv.ok()) Die(conv.status(), "read");
      std::set<std::string> seen;
      for (const Message& m : *conv) seen.insert(m.text);
      std::printf("conversation: %zu messages, %zu distinct (want %d + 1)\n", conv->size(),
                  seen.size(), n);
    }
    t.client = std::move(*opened);
  }

  for (int kind = 0; kind < 2; ++kind) {
    const int count = kind == 0 ? sends : letters;
    std::string body(kind == 0 ? 200 : 40 * 1024, 'y');
    const double cpu0 = CpuSeconds();
    absl::Time t0 = absl::Now();
    for (int i = 0; i < count; ++i) {
      auto r = kind == 0 ? t.client->SendText("client-c", body)
                         : t.client->SendLetter("client-c", "subject", body);
      if (!r.ok()) Die(r.status(), "send");
    }
    const double secs = absl::ToDoubleSeconds(absl::Now() - t0);
    std::printf("%s: %d in %.3f s = %.0f msgs/s (%.2f MB/s), cpu %.3f ms/msg\n",
                kind == 0 ? "SendText" : "SendLetter 40KiB", count, secs, count / secs,
                count * body.size() / secs / 1e6, (CpuSeconds() - cpu0) * 1000 / count);
  }
  return 0;
}

}  // namespace
}  // namespace sotto::testing

int main(int argc, char** argv) { return sotto::testing::Main(argc, argv); }
