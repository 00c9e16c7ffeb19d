// client-send and letters (issue 21): the client library's send side,
// Client::SendText / SendLetter in a loop to one recipient (each returns once
// the message is in the local history and stored by the server), and for
// letters the therapist's Sync of them too.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/client_pair.h"
#include "bench/scenarios.h"

namespace sotto::bench {
namespace {

std::unique_ptr<ClientPair> StartPair(ScenarioResult& r, const Common& common) {
  absl::StatusOr<std::unique_ptr<ClientPair>> pair = ClientPair::Start(common);
  if (!pair.ok()) {
    r.failures.push_back("set-up: " + pair.status().ToString());
    return nullptr;
  }
  return std::move(*pair);
}

// The therapist syncs what was sent; the count must match.
absl::StatusOr<Timed> SyncAll(ClientPair& pair, uint64_t n) {
  Stopwatch watch;
  uint64_t received = 0;
  for (uint64_t calls = 0; received < n && calls < n + 2; ++calls) {
    absl::StatusOr<SyncStats> got = pair.therapist().Sync();
    if (!got.ok()) return got.status();
    if (got->received == 0) break;
    received += static_cast<uint64_t>(got->received);
  }
  if (received != n) {
    return absl::DataLossError(absl::StrCat("Sync received ", received, " of ", n, " messages"));
  }
  return watch.Elapsed();
}

std::string LetterSubject(uint64_t i) { return absl::StrFormat("letter %08d", i); }

// The therapist's history must hold the letters in order, bodies intact.
void VerifyLetters(ScenarioResult& r, ClientPair& pair, uint64_t n, const std::string& body) {
  absl::StatusOr<std::vector<Message>> history =
      pair.therapist().ReadConversation(pair.client().handle());
  if (!history.ok()) {
    r.failures.push_back("ReadConversation: " + history.status().ToString());
    return;
  }
  uint64_t i = 0;
  for (const Message& m : *history) {
    if (m.outgoing || m.kind != MessageKind::kLetter) continue;
    if (m.subject != LetterSubject(i) || m.text != body) {
      r.failures.push_back(absl::StrCat("letter ", i, " arrived as \"", m.subject, "\" with ",
                                        m.text.size(), " bytes"));
      return;
    }
    ++i;
  }
  if (i != n) r.failures.push_back(absl::StrCat(i, " letters arrived, expected ", n));
}

}  // namespace

ScenarioResult RunClientSend(const Common& common, const ClientSendOptions& o) {
  ScenarioResult r;
  r.scenario = "client-send";
  r.Param("messages", static_cast<double>(o.messages));
  r.Param("size", static_cast<double>(o.size), "B");
  r.Add("load_average_start", LoadAverage());
  std::unique_ptr<ClientPair> pair = StartPair(r, common);
  if (pair == nullptr) return r;
  std::vector<SendRound> rounds;
  uint64_t first = 0;
  for (int threads : o.threads) {
    const double server0 = pair->world().ServerCpuSeconds();
    absl::StatusOr<Timed> sent;
    {
      PerfWindow profiled;
      sent = SendTextsFromThreads(*pair, first, o.messages, o.size, threads);
    }
    if (!sent.ok()) {
      r.failures.push_back(absl::StrCat(threads, " threads: ", sent.status().ToString()));
      return r;
    }
    const double server_cpu = pair->world().ServerCpuSeconds() - server0;
    const std::string t = absl::StrCat("_t", threads);
    r.Add("send_msgs_per_s" + t, o.messages / sent->wall, "msg/s");
    r.Add("send_wall_s" + t, sent->wall, "s");
    r.Add("cpu_per_msg_us" + t, sent->cpu * 1e6 / o.messages, "us");
    r.Add("server_cpu_per_msg_us" + t, server_cpu * 1e6 / o.messages, "us");
    rounds.push_back(SendRound{first, o.messages, threads});
    first += o.messages;
    // What the server took, the therapist gets (untimed; it also keeps the
    // therapist's queue under the server's limit of 10,000 for the next
    // round).
    if (absl::StatusOr<Timed> got = SyncAll(*pair, o.messages); !got.ok()) {
      r.failures.push_back(
          absl::StrCat("verify after ", threads, " threads: ", got.status().ToString()));
      return r;
    }
  }
  // All of it, once each, every thread's texts in the order it sent them.
  VerifyOncePerThreadOrder(r, pair->therapist(), pair->client().handle(), rounds, o.size);
  r.Add("load_average_end", LoadAverage());
  return r;
}

ScenarioResult RunLetters(const Common& common, const LettersOptions& o) {
  ScenarioResult r;
  r.scenario = "letters";
  r.Param("letters", static_cast<double>(o.letters));
  r.Param("size", static_cast<double>(o.size), "B");
  r.Add("load_average_start", LoadAverage());
  std::unique_ptr<ClientPair> pair = StartPair(r, common);
  if (pair == nullptr) return r;
  std::string body(o.size, ' ');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7) % 26);
  Stopwatch watch;
  for (uint64_t i = 0; i < o.letters; ++i) {
    absl::StatusOr<SendResult> sent =
        pair->client().SendLetter(pair->therapist().handle(), LetterSubject(i), body);
    if (!sent.ok()) {
      r.failures.push_back(absl::StrCat("SendLetter ", i, ": ", sent.status().ToString()));
      return r;
    }
  }
  const Timed send = watch.Elapsed();
  const double mb = static_cast<double>(o.letters) * o.size / 1e6;
  r.Add("send_msgs_per_s", o.letters / send.wall, "msg/s");
  r.Add("send_mb_per_s", mb / send.wall, "MB/s");
  r.Add("send_cpu_per_msg_us", send.cpu * 1e6 / o.letters, "us");
  absl::StatusOr<Timed> sync = SyncAll(*pair, o.letters);
  if (!sync.ok()) {
    r.failures.push_back(sync.status().ToString());
    return r;
  }
  r.Add("sync_msgs_per_s", o.letters / sync->wall, "msg/s");
  r.Add("sync_mb_per_s", mb / sync->wall, "MB/s");
  r.Add("sync_cpu_per_msg_us", sync->cpu * 1e6 / o.letters, "us");
  VerifyLetters(r, *pair, o.letters, body);
  r.Add("load_average_end", LoadAverage());
  return r;
}

}  // namespace sotto::bench
