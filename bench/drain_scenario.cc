#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/scenario_common.h"
#include "bench/scenarios.h"

namespace sotto::bench {

namespace {

// The recipients' drain loops, one thread each: Fetch a batch, Ack what came,
// until the queue is empty. Counts every call's status in `r`.
class Drainer {
 public:
  Drainer(ScenarioResult& r, const World& world, const DrainOptions& o, Clock::time_point stop_by)
      : r_(r), world_(world), o_(o), stop_by_(stop_by) {}

  // Returns when every loop has ended.
  void Run() {
    std::vector<std::thread> threads;
    for (size_t p = 0; p < o_.recipients; ++p) threads.emplace_back([this, p] { DrainOne(p); });
    for (std::thread& t : threads) t.join();
  }

  // After Run.
  uint64_t fetched() const { return fetched_; }
  uint64_t deleted() const { return deleted_; }
  std::vector<uint32_t>& fetch_us() { return fetch_us_; }
  std::vector<uint32_t>& ack_us() { return ack_us_; }

 private:
  void Record(const grpc::Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    r_.status_counts[CodeName(s.error_code())]++;
    if (!s.ok()) {
      r_.failures.push_back("drain: " + CodeName(s.error_code()) + ": " + s.error_message());
    }
  }

  static uint32_t MicrosSince(Clock::time_point t0) {
    return static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
  }

  // The therapist of pair `p` drains its queue.
  void DrainOne(size_t p) {
    const Device& me = world_.therapist_of(p);
    sotto::v1::Messages::Stub* stub = world_.messages(p);
    uint64_t after = 0, my_fetched = 0, my_deleted = 0;
    std::vector<uint32_t> my_fetch_us, my_ack_us;
    // Bounded: the backlog needs backlog/batch rounds; twice that plus
    // one is a guard against a server that keeps returning envelopes.
    for (uint64_t round = 0; round <= 2 * (o_.backlog / std::max(1u, o_.batch) + 1); ++round) {
      if (Clock::now() >= stop_by_) break;
      grpc::ClientContext fctx;
      Authorize(fctx, me);
      sotto::v1::FetchRequest freq;
      freq.set_after_seq(after);
      freq.set_limit(o_.batch);
      sotto::v1::FetchResponse fresp;
      auto t0 = Clock::now();
      grpc::Status s = stub->Fetch(&fctx, freq, &fresp);
      my_fetch_us.push_back(MicrosSince(t0));
      Record(s);
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
      my_ack_us.push_back(MicrosSince(t0));
      Record(s);
      if (!s.ok()) break;
      my_deleted += aresp.deleted();
    }
    std::lock_guard<std::mutex> lock(mu_);
    fetched_ += my_fetched;
    deleted_ += my_deleted;
    fetch_us_.insert(fetch_us_.end(), my_fetch_us.begin(), my_fetch_us.end());
    ack_us_.insert(ack_us_.end(), my_ack_us.begin(), my_ack_us.end());
  }

  ScenarioResult& r_;
  const World& world_;
  const DrainOptions& o_;
  const Clock::time_point stop_by_;
  std::mutex mu_;  // Guards r_ and the totals below while Run runs.
  uint64_t fetched_ = 0, deleted_ = 0;
  std::vector<uint32_t> fetch_us_, ack_us_;
};

}  // namespace

// drain: recipients with a full backlog Fetch and Ack it in batches.
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
  SendStats fill =
      RunSends(*world, PlanSends(0, o.recipients, o.fill_concurrency, o.backlog * o.recipients,
                                 o.size, Direction::kToTherapist, c.phase_limit));
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

  const auto start = Clock::now();
  Drainer drainer(r, *world, o, Clock::now() + c.phase_limit);
  drainer.Run();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const uint64_t fetched = drainer.fetched(), deleted = drainer.deleted();
  const uint64_t want = o.backlog * o.recipients;
  r.Add("envelopes_per_s", seconds > 0 ? deleted / seconds : 0, "env/s");
  r.Add("seconds", seconds, "s");
  r.Add("fetched", static_cast<double>(fetched));
  r.Add("acked_deleted", static_cast<double>(deleted));
  AddLatencies(r, "fetch_", drainer.fetch_us(), false);
  AddLatencies(r, "ack_", drainer.ack_us(), false);
  if (fetched != want || deleted != want) {
    r.failures.push_back(
        absl::StrCat("drain: fetched ", fetched, " and deleted ", deleted, ", expected ", want));
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
