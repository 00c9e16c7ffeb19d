#ifndef SOTTO_BENCH_SCENARIOS_H_
#define SOTTO_BENCH_SCENARIOS_H_

// The scenarios of issue 5. Each starts its own sotto-server on a fresh data
// directory, sets its accounts up through the real RPCs, runs bounded in
// count and time, checks what the server holds afterwards, and returns a
// ScenarioResult (failures inside it, never thrown).
//
// Each scenario lives in its own bench/<name>_scenario.cc; what they share
// (sizing, start-up, the checks after a run) is in bench/scenario_common.h,
// the Subscribe stream of delivery and idle in bench/subscriber.h.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/report.h"
#include "bench/send_load.h"

namespace sotto::bench {

// The server keeps at most 10,000 envelopes per device queue; scenarios put
// at most this many into one, leaving room.
inline constexpr uint64_t kQueueRoom = 9000;

struct Common {
  std::string server_binary;
  // Extra sotto-server flags (by default the rate limits turned off).
  std::vector<std::string> server_args;
  // Upper bound for each timed phase (and each fill) of a scenario.
  std::chrono::seconds phase_limit{600};
  bool ceiling = true;  // Measure the RocksDB synced-write ceiling.
  // host:port of other sotto-server nodes on the started server's database
  // (PostgreSQL): the scenario's channels alternate between the started
  // server and these, so its calls go through every node.
  std::vector<std::string> nodes;
};

struct IngestOptions {
  size_t concurrency = 64;
  size_t size = 200;
  uint64_t messages = 20000;
  Direction direction = Direction::kToTherapist;
};
ScenarioResult RunIngest(const Common& common, const IngestOptions& o);

struct DeliveryOptions {
  double rate = 5000;  // Sends per second offered, open loop.
  double seconds = 10;
  size_t recipients = 64;  // Online on Subscribe.
  size_t size = 200;
  size_t max_in_flight = 10000;
  Direction direction = Direction::kToTherapist;
  // host:port of another sotto-server node on the same database: the
  // streams are held there while the Sends go to the started server (the
  // cross-node NOTIFY path, issue 17). Empty: the started server.
  std::string subscribe_via;
};
ScenarioResult RunDelivery(const Common& common, const DeliveryOptions& o);

struct DrainOptions {
  uint64_t backlog = 10000;  // Per recipient device, at most 10,000.
  size_t recipients = 8;     // Drained concurrently, one loop each.
  uint32_t batch = 1000;     // Fetch limit and Ack size.
  size_t size = 200;
  size_t fill_concurrency = 64;
};
ScenarioResult RunDrain(const Common& common, const DrainOptions& o);

struct DepthOptions {
  uint64_t queued = 1000000;  // Envelopes queued before the second run.
  uint64_t messages = 20000;  // Timed Sends in each run.
  size_t concurrency = 64;
  size_t size = 200;
  size_t fill_concurrency = 128;
  Direction direction = Direction::kToTherapist;
  // After the fill, wait (at most this long; 0: not at all) until the server
  // is idle — under 5% of a core for a second, i.e. RocksDB's flushes and
  // compactions caused by the burst are done — so the second run measures a
  // server holding the backlog, not one still digesting it.
  double settle_max_seconds = 120;
};
ScenarioResult RunDepth(const Common& common, const DepthOptions& o);

struct IdleOptions {
  size_t streams = 10000;
  size_t streams_per_device = 1;
  // Longer than the server's handler-pool idle timeout (10 s): the threads
  // the set-up burst started have gone, as on a server that is idle.
  double settle_seconds = 12;
};
ScenarioResult RunIdle(const Common& common, const IdleOptions& o);

struct CryptoOptions {
  double seconds = 5;  // Per measurement.
  size_t size = 200;
  uint64_t setups = 500;  // At most, within `seconds`.
  bool pin = true;        // Pin the thread to one CPU.
};
ScenarioResult RunCrypto(const CryptoOptions& o);

// libsignal-protocol-c decrypting a continuing session's messages (200 B
// texts unless said), one thread (pinned to one CPU with `pin`), memory
// stores: the ceiling a client's sync is compared with.
struct RawDecrypt {
  uint64_t messages = 0;
  double per_s = 0;
  double per_cpu_s = 0;
};
absl::StatusOr<RawDecrypt> MeasureRawDecrypt(size_t size, uint64_t messages, bool pin);

// ---- the client library (issue 21): sotto::Client through its public API,
// against the real server. See client_pair.h. ----

struct ClientSyncOptions {
  // Backlogs to sync, each into a fresh therapist profile. The first and the
  // last give the flatness (CPU per message, last / first).
  std::vector<uint64_t> backlogs = {1000, 10000};
  size_t size = 200;
  // Messages the raw libsignal decrypt rate is measured over.
  uint64_t raw_messages = 20000;
  // Rounds of every backlog (each on a fresh server and profiles); figures
  // are medians over the rounds. One run of a few hundred ms moves by 15% on
  // a shared machine, so flatness (a ratio of two of them) needs several.
  int repeats = 3;
};
ScenarioResult RunClientSync(const Common& common, const ClientSyncOptions& o);

struct ClientSendOptions {
  // Messages per thread count (each count sends this many).
  uint64_t messages = 2000;
  size_t size = 200;
  // Threads sending at once on the one Client, each SendText in a loop;
  // every count is measured in the same run, one after another.
  std::vector<int> threads = {1, 16};
};
ScenarioResult RunClientSend(const Common& common, const ClientSendOptions& o);

struct ClientListenOptions {
  // Texts queued before each Listen opens; one pair, bursts in turn.
  std::vector<uint64_t> bursts = {1000, 5000};
  size_t size = 200;
};
ScenarioResult RunClientListen(const Common& common, const ClientListenOptions& o);

struct LettersOptions {
  uint64_t letters = 300;
  size_t size = 40 * 1024;
};
ScenarioResult RunLetters(const Common& common, const LettersOptions& o);

struct ProfileOpenOptions {
  uint64_t history = 1000;  // Messages synced into the profile first.
  int repeats = 5;          // Each piece is measured this often; the median is reported.
};
ScenarioResult RunProfileOpen(const Common& common, const ProfileOpenOptions& o);

struct CliSyncOptions {
  std::string sotto_binary;  // The `sotto` CLI to time.
  std::vector<uint64_t> backlogs = {500, 10000};
  size_t size = 200;
};
ScenarioResult RunCliSync(const Common& common, const CliSyncOptions& o);

}  // namespace sotto::bench

#endif  // SOTTO_BENCH_SCENARIOS_H_
