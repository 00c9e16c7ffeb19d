#include "bench/scenarios.h"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/ceiling.h"
#include "bench/world.h"

namespace sotto::bench {
namespace {

using Clock = std::chrono::steady_clock;

size_t CeilDiv(uint64_t a, uint64_t b) { return static_cast<size_t>((a + b - 1) / b); }

// Envelopes one queue may take in a scenario: under the server's 10,000
// envelopes and (default) 64 MiB per device, with room to spare.
uint64_t QueueRoom(size_t size) {
  return std::max<uint64_t>(1, std::min<uint64_t>(kQueueRoom, (48ULL << 20) / (size + 128)));
}

// Pairs for `messages` spread over `concurrency` workers, each worker with
// its own pairs, no queue above QueueRoom(size).
size_t PairsFor(uint64_t messages, size_t concurrency, size_t size) {
  return concurrency * std::max<size_t>(1, CeilDiv(messages, concurrency * QueueRoom(size)));
}

void Merge(std::map<std::string, uint64_t>& into, const std::map<std::string, uint64_t>& from) {
  for (const auto& [k, v] : from) into[k] += v;
}

// Records a send run's failures in `r`.
void CheckSends(ScenarioResult& r, const SendStats& s, const std::string& phase) {
  if (s.failed > 0) {
    r.failures.push_back(absl::StrCat(phase, ": ", s.failed, " Sends failed (first: ",
                                      s.first_error, ")"));
  }
  if (s.not_started > 0) {
    r.failures.push_back(absl::StrCat(phase, ": time limit reached with ", s.not_started,
                                      " Sends not started"));
  }
}

// Fetches every queue in `expected` (recipient index into `devices` ->
// envelopes it must hold) with 8 threads; records mismatches.
void VerifyQueues(ScenarioResult& r, const World& world,
                  const std::map<const Device*, uint64_t>& expected, std::chrono::seconds limit,
                  const std::string& metric = "verified_envelopes") {
  std::vector<std::pair<const Device*, uint64_t>> work(expected.begin(), expected.end());
  std::atomic<size_t> next{0};
  std::mutex mu;
  uint64_t total = 0, mismatched = 0;
  std::vector<std::thread> pool;
  for (int t = 0; t < 8; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < work.size(); i = next++) {
        absl::StatusOr<uint64_t> n = CountQueue(world, *work[i].first, limit);
        std::lock_guard<std::mutex> lock(mu);
        if (!n.ok()) {
          r.failures.push_back("verify: " + n.status().ToString());
          continue;
        }
        total += *n;
        if (*n != work[i].second) {
          if (++mismatched <= 5) {
            r.failures.push_back(absl::StrCat("verify: queue of ", work[i].first->handle,
                                              " holds ", *n, " envelopes, expected ",
                                              work[i].second));
          }
        }
      }
    });
  }
  for (std::thread& t : pool) t.join();
  if (mismatched > 5) {
    r.failures.push_back(absl::StrCat("verify: ", mismatched, " queues mismatched in all"));
  }
  r.Add(metric, static_cast<double>(total));
}

// What the server must have counted over a scenario (a fresh server each).
struct ExpectedCounters {
  ExpectedCounters(uint64_t ok, uint64_t failed) : sends_ok(ok), sends_failed(failed) {}
  uint64_t sends_ok = 0;      // first-time Sends acknowledged OK
  uint64_t sends_failed = 0;  // Sends answered with an error
  std::optional<uint64_t> envelopes_acked;
  std::optional<uint64_t> min_envelopes_streamed;
};

// Compares the server's own counters (Operator.Stats) with what the load
// generator saw, so that neither side can count an error as a success; adds
// the group commit's calls per log sync.
void CheckServerCounters(ScenarioResult& r, const World& world, const ExpectedCounters& e) {
  absl::StatusOr<sotto::v1::StatsResponse> stats = world.ServerStats();
  if (!stats.ok()) {
    r.failures.push_back("server counters: " + stats.status().ToString());
    return;
  }
  uint64_t failed = 0;
  for (uint64_t n : stats->sends_failed_by_code()) failed += n;
  const uint64_t first_time = stats->sends_ok() - stats->sends_duplicate();
  if (first_time != e.sends_ok || failed != e.sends_failed) {
    r.failures.push_back(absl::StrCat("server counters: the server answered ", first_time,
                                      " Sends OK and ", failed, " with an error; the load saw ",
                                      e.sends_ok, " and ", e.sends_failed));
  }
  if (e.envelopes_acked && stats->envelopes_acked() != *e.envelopes_acked) {
    r.failures.push_back(absl::StrCat("server counters: ", stats->envelopes_acked(),
                                      " envelopes acked, the load deleted ", *e.envelopes_acked));
  }
  if (e.min_envelopes_streamed && stats->envelopes_streamed() < *e.min_envelopes_streamed) {
    r.failures.push_back(absl::StrCat("server counters: ", stats->envelopes_streamed(),
                                      " envelopes streamed, the load received ",
                                      *e.min_envelopes_streamed));
  }
  r.Add("server_sends_ok", static_cast<double>(first_time));
  r.Add("server_log_syncs", static_cast<double>(stats->log_syncs()));
  // The disk's part in any latency: the slowest WAL sync of the run (the
  // server's counters since it started) and how many took 10 ms or more.
  r.Add("server_log_sync_max_ms", static_cast<double>(stats->log_sync_max_micros()) / 1000.0,
        "ms");
  r.Add("server_log_syncs_over_10ms", static_cast<double>(stats->log_syncs_over_10ms()));
  if (stats->log_syncs() > 0) {
    r.Add("calls_per_log_sync",
          static_cast<double>(stats->synced_calls()) / static_cast<double>(stats->log_syncs()));
  }
}

void AddExpected(std::map<const Device*, uint64_t>& expected, const World& world,
                 const SendStats& s, Direction d) {
  for (size_t p = 0; p < s.ok_per_pair.size(); ++p) {
    if (s.ok_per_pair[p] > 0) expected[&Recipient(world, p, d)] += s.ok_per_pair[p];
  }
}

// Records a send run in `r` (failures, status counts) and what it left in
// the queues in `expected`.
void Account(ScenarioResult& r, std::map<const Device*, uint64_t>& expected, const World& world,
             const SendStats& s, Direction d, const std::string& phase) {
  CheckSends(r, s, phase);
  AddExpected(expected, world, s, d);
  Merge(r.status_counts, s.status_counts);
}

void AddLatencies(ScenarioResult& r, const std::string& prefix, std::vector<uint32_t>& lat,
                  bool p999) {
  r.Add(prefix + "p50_ms", PercentileMs(lat, 50), "ms");
  r.Add(prefix + "p99_ms", PercentileMs(lat, 99), "ms");
  if (p999) r.Add(prefix + "p999_ms", PercentileMs(lat, 99.9), "ms");
}

std::unique_ptr<World> StartWorld(ScenarioResult& r, const Common& c, int channels) {
  std::string args;
  for (const std::string& a : c.server_args) args += (args.empty() ? "" : " ") + a;
  r.params.push_back({"server_args", 0, args.empty() ? "(none)" : args, ""});
  absl::StatusOr<std::unique_ptr<World>> world =
      World::Start(c.server_binary, c.server_args, channels);
  if (!world.ok()) {
    r.failures.push_back("start server: " + world.status().ToString());
    return nullptr;
  }
  return std::move(*world);
}

bool Setup(ScenarioResult& r, World& world, size_t pairs, size_t clients_per_therapist) {
  const auto start = Clock::now();
  absl::Status s = world.AddPairs(pairs, clients_per_therapist);
  if (!s.ok()) {
    r.failures.push_back("setup: " + s.ToString());
    return false;
  }
  r.Add("setup_seconds", std::chrono::duration<double>(Clock::now() - start).count(), "s");
  return true;
}

const char* DirectionName(Direction d) {
  return d == Direction::kToTherapist ? "client->therapist" : "therapist->client";
}

}  // namespace

// ---------------------------------------------------------------- ingest

ScenarioResult RunIngest(const Common& c, const IngestOptions& o) {
  ScenarioResult r;
  r.scenario = "ingest";
  r.Param("concurrency", o.concurrency);
  r.Param("size", o.size, "B");
  r.Param("messages", o.messages);
  r.params.push_back({"direction", 0, DirectionName(o.direction), ""});
  const size_t pairs = PairsFor(o.messages + o.concurrency, o.concurrency, o.size);
  std::unique_ptr<World> world = StartWorld(r, c, static_cast<int>(std::min<size_t>(8, o.concurrency)));
  if (world == nullptr || !Setup(r, *world, pairs, 1)) return r;

  std::map<const Device*, uint64_t> expected;
  // Warm-up: one Send per worker (connections, caches), counted in the queues
  // but not in the timing.
  SendStats warm = RunSends(*world, PlanSends(0, pairs, o.concurrency, o.concurrency, o.size,
                                              o.direction, c.phase_limit));
  Account(r, expected, *world, warm, o.direction, "warm-up");

  const double server_cpu0 = world->ServerCpuSeconds(), client_cpu0 = SelfCpuSeconds();
  SendStats s = RunSends(*world, PlanSends(0, pairs, o.concurrency, o.messages, o.size,
                                           o.direction, c.phase_limit));
  const double server_cpu = world->ServerCpuSeconds() - server_cpu0;
  const double client_cpu = SelfCpuSeconds() - client_cpu0;
  Account(r, expected, *world, s, o.direction, "ingest");
  const double rate = s.seconds > 0 ? s.ok / s.seconds : 0;
  r.Add("msgs_per_s", rate, "msg/s");
  AddLatencies(r, "send_", s.latencies_us, true);
  r.Add("seconds", s.seconds, "s");
  r.Add("server_threads_max", static_cast<double>(s.max_server_threads));
  r.Add("server_rss_max_mib", s.max_server_rss_kib / 1024.0, "MiB");
  // CPU per Send: on a small machine the load generator shares the cores.
  r.Add("server_cpu_us_per_msg", s.ok > 0 ? server_cpu * 1e6 / s.ok : NAN, "us");
  r.Add("client_cpu_us_per_msg", s.ok > 0 ? client_cpu * 1e6 / s.ok : NAN, "us");
  VerifyQueues(r, *world, expected, c.phase_limit);
  CheckServerCounters(r, *world, {warm.ok + s.ok, warm.failed + s.failed});
  world.reset();  // Stop the server before measuring the disk alone.

  if (c.ceiling) {
    absl::StatusOr<CeilingResult> ceil =
        MeasureSyncedWriteCeiling(TempRoot(), o.messages, o.size, o.concurrency);
    if (!ceil.ok()) {
      r.failures.push_back(ceil.status().ToString());
    } else {
      r.Add("ceiling_per_s", ceil->per_second, "writes/s");
      r.Add("ceiling_ratio", ceil->per_second > 0 ? rate / ceil->per_second : NAN);
    }
  }
  return r;
}

// ---------------------------------------------------------------- depth

ScenarioResult RunDepth(const Common& c, const DepthOptions& o) {
  ScenarioResult r;
  r.scenario = "depth";
  r.Param("queued", static_cast<double>(o.queued));
  r.Param("messages", static_cast<double>(o.messages));
  r.Param("concurrency", o.concurrency);
  r.Param("size", o.size, "B");
  r.params.push_back({"direction", 0, DirectionName(o.direction), ""});
  const size_t pairs_empty = PairsFor(o.messages, o.concurrency, o.size);
  const size_t pairs_deep = PairsFor(o.queued + o.messages, o.concurrency, o.size);
  std::unique_ptr<World> world = StartWorld(r, c, static_cast<int>(std::min<size_t>(8, o.concurrency)));
  if (world == nullptr || !Setup(r, *world, pairs_empty + pairs_deep, 1)) return r;
  std::map<const Device*, uint64_t> expected;

  // Run 1: the store holds only the accounts.
  SendStats empty = RunSends(*world, PlanSends(0, pairs_empty, o.concurrency, o.messages, o.size,
                                               o.direction, c.phase_limit));
  Account(r, expected, *world, empty, o.direction, "empty store");

  // Fill: `queued` envelopes spread over the deep pairs, by concurrent Sends.
  SendStats fill = RunSends(*world, PlanSends(pairs_empty, pairs_deep, o.fill_concurrency,
                                              o.queued, o.size, o.direction, c.phase_limit));
  Account(r, expected, *world, fill, o.direction, "fill");
  r.Add("fill_seconds", fill.seconds, "s");
  r.Param("settle_max", o.settle_max_seconds, "s");
  if (o.settle_max_seconds > 0) {
    const auto settle_start = Clock::now();
    const auto settle_by = settle_start + std::chrono::duration<double>(o.settle_max_seconds);
    bool idle = false;
    while (!idle && Clock::now() < settle_by) {
      const double cpu0 = world->ServerCpuSeconds();
      std::this_thread::sleep_for(std::chrono::seconds(1));
      idle = world->ServerCpuSeconds() - cpu0 < 0.05;
    }
    r.Add("settle_seconds",
          std::chrono::duration<double>(Clock::now() - settle_start).count(), "s");
    if (!idle) r.Add("settled", 0);
  }

  // Run 2: the same Sends into the queues that already hold the backlog.
  SendStats deep = RunSends(*world, PlanSends(pairs_empty, pairs_deep, o.concurrency, o.messages,
                                              o.size, o.direction, c.phase_limit));
  Account(r, expected, *world, deep, o.direction, "queued store");

  const double rate_empty = empty.seconds > 0 ? empty.ok / empty.seconds : 0;
  const double rate_deep = deep.seconds > 0 ? deep.ok / deep.seconds : 0;
  r.Add("msgs_per_s_empty", rate_empty, "msg/s");
  r.Add("msgs_per_s_queued", rate_deep, "msg/s");
  r.Add("depth_ratio", rate_empty > 0 ? rate_deep / rate_empty : NAN);
  AddLatencies(r, "send_empty_", empty.latencies_us, true);
  AddLatencies(r, "send_queued_", deep.latencies_us, true);
  VerifyQueues(r, *world, expected, c.phase_limit);
  CheckServerCounters(r, *world, {empty.ok + fill.ok + deep.ok,
                                  empty.failed + fill.failed + deep.failed});
  world.reset();

  if (c.ceiling) {
    absl::StatusOr<CeilingResult> ceil =
        MeasureSyncedWriteCeiling(TempRoot(), o.messages, o.size, o.concurrency);
    if (!ceil.ok()) {
      r.failures.push_back(ceil.status().ToString());
    } else {
      r.Add("ceiling_per_s", ceil->per_second, "writes/s");
      r.Add("ceiling_ratio_empty", ceil->per_second > 0 ? rate_empty / ceil->per_second : NAN);
      r.Add("ceiling_ratio", ceil->per_second > 0 ? rate_deep / ceil->per_second : NAN);
    }
  }
  return r;
}

// ---------------------------------------------------------------- streams

namespace {

// One Subscribe stream (callback API). on_envelope runs on gRPC's threads,
// one call at a time per stream.
class Subscriber final : public grpc::ClientReadReactor<sotto::v1::SubscribeEvent> {
 public:
  using OnEnvelope = std::function<void(const sotto::v1::Envelope&)>;

  Subscriber(sotto::v1::Messages::Stub* stub, const Device& device, OnEnvelope on_envelope)
      : on_envelope_(std::move(on_envelope)) {
    // No deadline: the stream stays open until Cancel.
    context_.AddMetadata("authorization", device.authorization);
    stub->async()->Subscribe(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows.
    if (event_.has_envelope()) {
      if (on_envelope_) on_envelope_(event_.envelope());
    } else if (event_.drained()) {
      std::lock_guard<std::mutex> lock(mu_);
      drained_ = true;
      cv_.notify_all();
    }
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& s) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = s;
    done_ = true;
    cv_.notify_all();
  }

  void Cancel() { context_.TryCancel(); }

  // True once the backlog was streamed (the stream is live), false if the
  // stream ended or `until` passed first.
  bool AwaitDrained(Clock::time_point until) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, until, [&] { return drained_ || done_; });
    return drained_ && !done_;
  }
  // Waits for OnDone (bounded); returns its status.
  bool AwaitDone(Clock::time_point until, grpc::Status* status) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, until, [&] { return done_; });
    *status = status_;
    return done_;
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }

 private:
  OnEnvelope on_envelope_;
  grpc::ClientContext context_;
  sotto::v1::SubscribeRequest request_;
  sotto::v1::SubscribeEvent event_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool drained_ = false;
  bool done_ = false;
  grpc::Status status_;
};

// Cancels and reaps every stream; a stream that does not end in 10 s is
// leaked rather than freed under gRPC's feet (and reported).
void CloseAll(ScenarioResult& r, std::vector<std::unique_ptr<Subscriber>>& subs) {
  for (auto& s : subs) s->Cancel();
  const auto until = Clock::now() + std::chrono::seconds(10);
  size_t stuck = 0;
  for (auto& s : subs) {
    grpc::Status st;
    if (!s->AwaitDone(until, &st)) {
      ++stuck;
      (void)s.release();
    }
  }
  subs.clear();
  if (stuck > 0) r.failures.push_back(absl::StrCat(stuck, " streams did not end after cancel"));
}

}  // namespace

ScenarioResult RunDelivery(const Common& c, const DeliveryOptions& o) {
  ScenarioResult r;
  r.scenario = "delivery";
  r.Param("rate", o.rate, "msg/s");
  r.Param("seconds", o.seconds, "s");
  r.Param("recipients", o.recipients);
  r.Param("size", o.size, "B");
  r.params.push_back({"direction", 0, DirectionName(o.direction), ""});
  const uint64_t total = static_cast<uint64_t>(std::llround(o.rate * o.seconds));
  const size_t size = std::max<size_t>(o.size, 16);  // Room for the timestamp.
  const size_t pairs = std::max(o.recipients, CeilDiv(total, QueueRoom(size)));
  std::unique_ptr<World> world = StartWorld(r, c, 8);
  if (world == nullptr || !Setup(r, *world, pairs, 1)) return r;

  // Receive side: latency from the send time carried in the ciphertext.
  std::vector<std::atomic<uint8_t>> seen(total);
  std::mutex lat_mu;
  std::vector<uint32_t> delivery_us;
  std::atomic<uint64_t> received{0}, duplicates{0}, foreign{0};
  const auto epoch = Clock::now();
  auto on_envelope = [&](const sotto::v1::Envelope& e) {
    const std::string& ct = e.ciphertext();
    if (ct.size() < 16) {
      ++foreign;
      return;
    }
    int64_t sent_ns;
    uint64_t index;
    std::memcpy(&sent_ns, ct.data(), 8);
    std::memcpy(&index, ct.data() + 8, 8);
    const int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - epoch).count();
    if (index >= total) {
      ++foreign;
      return;
    }
    if (seen[index].exchange(1) != 0) {
      ++duplicates;
      return;
    }
    ++received;
    std::lock_guard<std::mutex> lock(lat_mu);
    delivery_us.push_back(static_cast<uint32_t>(std::max<int64_t>(0, now_ns - sent_ns) / 1000));
  };
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (size_t p = 0; p < pairs; ++p) {
    subs.push_back(std::make_unique<Subscriber>(
        world->messages(p), Recipient(*world, p, o.direction), on_envelope));
  }
  const auto ready_by = Clock::now() + std::chrono::seconds(30);
  for (auto& s : subs) {
    if (!s->AwaitDrained(ready_by)) {
      r.failures.push_back("a Subscribe stream did not become live within 30 s");
      CloseAll(r, subs);
      return r;
    }
  }

  // Send side: open loop at the offered rate, round robin over the pairs.
  struct Call {
    grpc::ClientContext context;
    sotto::v1::SendRequest request;
    sotto::v1::SendResponse response;
    Clock::time_point start;
  };
  std::mutex mu;
  std::condition_variable cv;
  size_t in_flight = 0;
  uint64_t ok = 0, failed = 0, not_offered = 0;
  std::string first_error;
  std::vector<uint32_t> send_us;
  std::string payload(size, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(payload.data()), static_cast<int>(size));
  char run_id[8];
  RAND_bytes(reinterpret_cast<unsigned char*>(run_id), sizeof(run_id));
  const auto start = Clock::now();
  const auto stop_by = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(o.seconds)) +
                       c.phase_limit;
  for (uint64_t i = 0; i < total; ++i) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(i / o.rate));
    std::this_thread::sleep_until(due);
    if (Clock::now() >= stop_by) {
      not_offered += total - i;
      break;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      if (in_flight >= o.max_in_flight) {
        ++not_offered;
        continue;
      }
      ++in_flight;
    }
    const size_t p = i % pairs;
    const Device& sender = o.direction == Direction::kToTherapist ? world->pairs()[p].client
                                                                  : world->therapist_of(p);
    const Device& recipient = Recipient(*world, p, o.direction);
    auto* call = new Call();
    Authorize(call->context, sender);
    call->request.set_recipient(recipient.handle);
    char id[16];
    std::memcpy(id, run_id, 8);
    std::memcpy(id + 8, &i, 8);
    call->request.set_message_id(id, sizeof(id));
    auto* e = call->request.add_envelopes();
    e->set_device_id(recipient.device_id);
    e->set_registration_id(recipient.registration_id);
    e->set_type(sotto::v1::ENVELOPE_TYPE_CIPHERTEXT);
    call->start = Clock::now();
    const int64_t sent_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(call->start - epoch).count();
    std::string ct = payload;
    std::memcpy(ct.data(), &sent_ns, 8);
    std::memcpy(ct.data() + 8, &i, 8);
    e->set_ciphertext(std::move(ct));
    world->messages(p)->async()->Send(
        &call->context, &call->request, &call->response, [&, call](grpc::Status s) {
          const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                              Clock::now() - call->start)
                              .count();
          const bool good = s.ok() && !call->response.duplicate();
          delete call;  // The call's own reference keeps gRPC's state alive.
          std::lock_guard<std::mutex> lock(mu);
          r.status_counts[CodeName(s.error_code())]++;
          if (good) {
            ++ok;
            send_us.push_back(static_cast<uint32_t>(us));
          } else {
            ++failed;
            if (first_error.empty()) first_error = CodeName(s.error_code()) + ": " + s.error_message();
          }
          --in_flight;
          cv.notify_all();
        });
  }
  const double offer_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });  // Every call has a deadline.
  }
  // Wait (bounded) for the streams to deliver every acknowledged Send.
  const auto settle_by = Clock::now() + std::chrono::seconds(10);
  while (received < ok && Clock::now() < settle_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  size_t ended = 0;
  for (auto& s : subs) ended += s->done() ? 1 : 0;
  CloseAll(r, subs);

  r.Add("offered", static_cast<double>(total));
  r.Add("send_rate", offer_seconds > 0 ? ok / offer_seconds : 0, "msg/s");
  {
    std::lock_guard<std::mutex> lock(lat_mu);
    AddLatencies(r, "delivery_", delivery_us, true);
  }
  AddLatencies(r, "send_", send_us, false);
  r.Add("received", static_cast<double>(received.load()));
  r.Add("lost", static_cast<double>(ok > received ? ok - received : 0));
  if (failed > 0) r.failures.push_back(absl::StrCat(failed, " Sends failed (first: ", first_error, ")"));
  if (not_offered > 0) {
    r.failures.push_back(absl::StrCat(not_offered, " Sends not offered: ", o.max_in_flight,
                                      " in flight or the time limit (the server fell behind)"));
  }
  if (received < ok) {
    r.failures.push_back(absl::StrCat(ok - received, " acknowledged Sends never arrived on a stream"));
  }
  if (duplicates > 0) r.failures.push_back(absl::StrCat(duplicates.load(), " envelopes arrived twice"));
  if (foreign > 0) r.failures.push_back(absl::StrCat(foreign.load(), " envelopes not sent by this run"));
  if (ended > 0) r.failures.push_back(absl::StrCat(ended, " streams ended during the run"));
  ExpectedCounters expect{ok, failed};
  expect.min_envelopes_streamed = received.load();
  CheckServerCounters(r, *world, expect);
  return r;
}

ScenarioResult RunIdle(const Common& c, const IdleOptions& o) {
  ScenarioResult r;
  r.scenario = "idle";
  r.Param("streams", o.streams);
  r.Param("streams_per_device", o.streams_per_device);
  const size_t per = std::max<size_t>(1, o.streams_per_device);
  const size_t devices = CeilDiv(o.streams, per);
  const int channels = static_cast<int>(std::clamp<size_t>(o.streams / 250, 1, 64));
  // More streams per device than the server's default limit would replace
  // each other: raise it for this run (a server that predates the flag
  // refuses to start with it: give such a binary one stream per device).
  Common with_limit = c;
  if (per > 1) with_limit.server_args.push_back(absl::StrCat("--max-streams-per-device=", per));
  std::unique_ptr<World> world = StartWorld(r, with_limit, channels);
  if (world == nullptr || !Setup(r, *world, devices, 4000)) return r;

  const ProcStatus before = world->ReadServerStatus();
  std::vector<std::unique_ptr<Subscriber>> subs;
  const auto open_start = Clock::now();
  for (size_t i = 0; i < o.streams; ++i) {
    subs.push_back(std::make_unique<Subscriber>(world->messages(i), world->pairs()[i / per].client,
                                                nullptr));
  }
  const auto ready_by = Clock::now() + c.phase_limit;
  size_t live = 0;
  for (auto& s : subs) live += s->AwaitDrained(ready_by) ? 1 : 0;
  r.Add("open_seconds", std::chrono::duration<double>(Clock::now() - open_start).count(), "s");
  std::this_thread::sleep_for(std::chrono::duration<double>(o.settle_seconds));
  size_t still = 0;
  for (auto& s : subs) still += s->done() ? 0 : 1;
  const ProcStatus after = world->ReadServerStatus();
  absl::StatusOr<sotto::v1::StatsResponse> stats = world->ServerStats();
  if (!stats.ok()) {
    r.failures.push_back("server counters: " + stats.status().ToString());
  } else {
    if (stats->subscriptions_open() != still) {
      r.failures.push_back(absl::StrCat("server counters: ", stats->subscriptions_open(),
                                        " streams open on the server, ", still, " here"));
    }
    r.Add("server_pool_threads", static_cast<double>(stats->pool_threads()));
  }
  CloseAll(r, subs);

  r.Add("streams_live", static_cast<double>(std::min(live, still)));
  r.Add("server_rss_mib", after.rss_kib / 1024.0, "MiB");
  r.Add("server_threads", static_cast<double>(after.threads));
  r.Add("server_rss_before_mib", before.rss_kib / 1024.0, "MiB");
  r.Add("server_threads_before", static_cast<double>(before.threads));
  r.Add("server_kib_per_stream",
        o.streams > 0 ? (static_cast<double>(after.rss_kib) - before.rss_kib) / o.streams : 0,
        "KiB");
  r.Add("server_peak_rss_mib", after.peak_rss_kib / 1024.0, "MiB");
  if (after.rss_kib == 0) r.failures.push_back("could not read /proc/PID/status of the server");
  if (live < o.streams || still < o.streams) {
    r.failures.push_back(absl::StrCat(o.streams - std::min(live, still), " of ", o.streams,
                                      " streams did not stay open"));
  }
  return r;
}

// ---------------------------------------------------------------- drain

ScenarioResult RunDrain(const Common& c, const DrainOptions& o) {
  ScenarioResult r;
  r.scenario = "drain";
  r.Param("backlog", static_cast<double>(o.backlog));
  r.Param("recipients", o.recipients);
  r.Param("batch", o.batch);
  r.Param("size", o.size, "B");
  if (o.backlog > 10000) {
    r.failures.push_back("--backlog is per device and the server queues at most 10,000");
    return r;
  }
  std::unique_ptr<World> world = StartWorld(r, c, 8);
  if (world == nullptr || !Setup(r, *world, o.recipients, 1)) return r;
  // Clients send to their therapists; the therapists drain.
  SendStats fill = RunSends(*world, PlanSends(0, o.recipients, o.fill_concurrency,
                                              o.backlog * o.recipients, o.size,
                                              Direction::kToTherapist, c.phase_limit));
  CheckSends(r, fill, "fill");
  Merge(r.status_counts, fill.status_counts);
  r.Add("fill_seconds", fill.seconds, "s");
  if (!r.ok()) return r;
  std::map<const Device*, uint64_t> expected;
  AddExpected(expected, *world, fill, Direction::kToTherapist);
  for (const auto& [device, n] : expected) {
    if (n != o.backlog) {
      r.failures.push_back(absl::StrCat("fill: ", device->handle, " was sent ", n, " envelopes"));
    }
  }
  VerifyQueues(r, *world, expected, c.phase_limit);
  if (!r.ok()) return r;

  std::mutex mu;
  uint64_t fetched = 0, deleted = 0, calls = 0;
  std::vector<uint32_t> fetch_us, ack_us;
  const auto stop_by = Clock::now() + c.phase_limit;
  auto record = [&](const grpc::Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    r.status_counts[CodeName(s.error_code())]++;
    ++calls;
    if (!s.ok()) {
      r.failures.push_back("drain: " + CodeName(s.error_code()) + ": " + s.error_message());
    }
  };
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t p = 0; p < o.recipients; ++p) {
    threads.emplace_back([&, p] {
      const Device& me = world->therapist_of(p);
      sotto::v1::Messages::Stub* stub = world->messages(p);
      uint64_t after = 0, my_fetched = 0, my_deleted = 0;
      std::vector<uint32_t> my_fetch_us, my_ack_us;
      // Bounded: the backlog needs backlog/batch rounds; twice that plus
      // one is a guard against a server that keeps returning envelopes.
      for (uint64_t round = 0; round <= 2 * (o.backlog / std::max(1u, o.batch) + 1); ++round) {
        if (Clock::now() >= stop_by) break;
        grpc::ClientContext fctx;
        Authorize(fctx, me);
        sotto::v1::FetchRequest freq;
        freq.set_after_seq(after);
        freq.set_limit(o.batch);
        sotto::v1::FetchResponse fresp;
        auto t0 = Clock::now();
        grpc::Status s = stub->Fetch(&fctx, freq, &fresp);
        my_fetch_us.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count()));
        record(s);
        if (!s.ok() || fresp.envelopes_size() == 0) break;
        grpc::ClientContext actx;
        Authorize(actx, me);
        sotto::v1::AckRequest areq;
        for (const auto& e : fresp.envelopes()) areq.add_seqs(e.seq());
        after = fresp.envelopes(fresp.envelopes_size() - 1).seq();
        my_fetched += fresp.envelopes_size();
        sotto::v1::AckResponse aresp;
        t0 = Clock::now();
        s = stub->Ack(&actx, areq, &aresp);
        my_ack_us.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count()));
        record(s);
        if (!s.ok()) break;
        my_deleted += aresp.deleted();
      }
      std::lock_guard<std::mutex> lock(mu);
      fetched += my_fetched;
      deleted += my_deleted;
      fetch_us.insert(fetch_us.end(), my_fetch_us.begin(), my_fetch_us.end());
      ack_us.insert(ack_us.end(), my_ack_us.begin(), my_ack_us.end());
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const uint64_t want = o.backlog * o.recipients;
  r.Add("envelopes_per_s", seconds > 0 ? deleted / seconds : 0, "env/s");
  r.Add("seconds", seconds, "s");
  r.Add("fetched", static_cast<double>(fetched));
  r.Add("acked_deleted", static_cast<double>(deleted));
  AddLatencies(r, "fetch_", fetch_us, false);
  AddLatencies(r, "ack_", ack_us, false);
  if (fetched != want || deleted != want) {
    r.failures.push_back(absl::StrCat("drain: fetched ", fetched, " and deleted ", deleted,
                                      ", expected ", want));
  }
  // Afterwards every queue must be empty.
  for (auto& [device, n] : expected) n = 0;
  VerifyQueues(r, *world, expected, c.phase_limit, "left_after_drain");
  ExpectedCounters expect{fill.ok, fill.failed};
  expect.envelopes_acked = deleted;
  CheckServerCounters(r, *world, expect);
  return r;
}

}  // namespace sotto::bench
