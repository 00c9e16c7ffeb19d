// client-listen (issue 21): a burst through Client::Listen. The client sends
// N texts while the therapist is away; then the therapist's Listen opens
// and is timed until its on_message has shown the N-th: the server streams
// the backlog, the library takes what has arrived (up to a page) into one
// deferred span and one Ack, then shows the messages. Every text must be
// shown once and in order, and a Sync afterwards must find nothing.

#include <string>

#include "absl/strings/str_cat.h"
#include "bench/client_pair.h"
#include "bench/scenarios.h"

namespace sotto::bench {
namespace {

// Listen until `n` messages were shown; false (and a failure) otherwise.
bool TimedListen(ScenarioResult& r, ClientPair& pair, uint64_t n, uint64_t first, size_t size,
                 Timed& timed) {
  uint64_t shown = 0;
  bool in_order = true;
  PerfWindow profiled;
  Stopwatch watch;
  absl::StatusOr<SyncStats> got = pair.therapist().Listen(absl::Seconds(10), [&](const Message& m) {
    if (m.text != NumberedText(first + shown, size)) in_order = false;
    return ++shown < n;
  });
  timed = watch.Elapsed();
  if (!got.ok()) {
    r.failures.push_back(absl::StrCat("Listen after ", shown, ": ", got.status().ToString()));
    return false;
  }
  if (shown != n || !in_order) {
    r.failures.push_back(absl::StrCat("Listen showed ", shown, " of ", n,
                                      in_order ? "" : ", not in the order sent"));
    return false;
  }
  absl::StatusOr<SyncStats> again = pair.therapist().Sync();
  if (!again.ok() || again->received != 0 || again->duplicates != 0) {
    r.failures.push_back(
        "a Sync after Listen found more: " +
        (again.ok() ? absl::StrCat(again->received, " received, ", again->duplicates, " duplicates")
                    : again.status().ToString()));
    return false;
  }
  return true;
}

}  // namespace

ScenarioResult RunClientListen(const Common& common, const ClientListenOptions& o) {
  ScenarioResult r;
  r.scenario = "client-listen";
  std::string bursts;
  for (uint64_t n : o.bursts) bursts += (bursts.empty() ? "" : ",") + std::to_string(n);
  r.params.push_back({"bursts", 0, bursts, ""});
  r.Param("size", static_cast<double>(o.size), "B");
  r.Add("load_average_start", LoadAverage());
  absl::StatusOr<std::unique_ptr<ClientPair>> pair = ClientPair::Start(common);
  if (!pair.ok()) {
    r.failures.push_back("set-up: " + pair.status().ToString());
    return r;
  }
  uint64_t first = 0;
  for (uint64_t n : o.bursts) {
    const std::string sfx = absl::StrCat("_n", n);
    if (absl::StatusOr<Timed> fill = SendTexts(**pair, first, n, o.size); !fill.ok()) {
      r.failures.push_back("fill: " + fill.status().ToString());
      return r;
    }
    Timed listen;
    if (!TimedListen(r, **pair, n, first, o.size, listen)) return r;
    r.Add("listen_msgs_per_s" + sfx, n / listen.wall, "msg/s");
    r.Add("listen_wall_s" + sfx, listen.wall, "s");
    r.Add("listen_cpu_s" + sfx, listen.cpu, "s");
    r.Add("cpu_per_msg_us" + sfx, listen.cpu * 1e6 / n, "us");
    first += n;
  }
  VerifyInOrder(r, (*pair)->therapist(), (*pair)->client().handle(), 0, first, o.size);
  r.Add("load_average_end", LoadAverage());
  return r;
}

}  // namespace sotto::bench
