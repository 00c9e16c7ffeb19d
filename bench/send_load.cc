#include "bench/send_load.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"

namespace sotto::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Threads polling completion queues (one queue each).
constexpr size_t kPollers = 2;

// One closed-loop sender: a single Send in flight at a time; the next
// starts when a poller hands it the previous one's completion (OnDone).
class Worker {
 public:
  Worker(const World& world, const SendLoad& load, size_t index, const std::string& payload,
         grpc::CompletionQueue* cq, std::mutex& mu, std::condition_variable& cv, size_t& running)
      : world_(world),
        load_(load),
        index_(index),
        payload_(payload),
        cq_(cq),
        mu_(mu),
        cv_(cv),
        running_(running) {
    RAND_bytes(reinterpret_cast<unsigned char*>(run_id_), sizeof(run_id_));
  }

  void Start() { Next(); }

  // Called by the completion queue's poller when this worker's call ends.
  void OnDone() {
    const grpc::Status& s = status_;
    const auto elapsed = Clock::now() - started_;
    const int code = static_cast<int>(s.error_code());
    ++codes_[code >= 0 && code <= 16 ? code : 2];
    if (s.ok() && !response_.duplicate()) {
      ++ok_;
      ++ok_pairs_[pair_];
      latencies_.push_back(static_cast<uint32_t>(
          std::min<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count(),
                            std::numeric_limits<uint32_t>::max())));
    } else {
      ++failed_;
      if (first_error_.empty()) {
        first_error_ = s.ok() ? "Send answered duplicate for a fresh message id"
                              : absl::StrCat(CodeName(s.error_code()), ": ", s.error_message());
      }
    }
    Next();
  }

  // Valid once the worker reported done.
  uint64_t ok_ = 0;
  uint64_t failed_ = 0;
  uint64_t not_started_ = 0;
  std::array<uint64_t, 17> codes_{};
  std::vector<uint32_t> latencies_;
  std::string first_error_;
  std::map<size_t, uint64_t> ok_pairs_;

 private:
  void Next() {
    const auto& pairs = load_.per_worker[index_];
    const uint64_t total = load_.messages_per_worker[index_];
    if (sent_ >= total || pairs.empty()) return Done();
    if (Clock::now() >= load_.stop_by) {
      not_started_ = total - sent_;
      return Done();
    }
    pair_ = pairs[sent_ % pairs.size()];
    const Device& sender = load_.direction == Direction::kToTherapist ? world_.pairs()[pair_].client
                                                                      : world_.therapist_of(pair_);
    const Device& recipient = Recipient(world_, pair_, load_.direction);
    // A fresh context per call; the previous call has completed. Its reader
    // lives in that call's arena, so it goes before the context that owns it.
    reader_.reset();
    context_ = std::make_unique<grpc::ClientContext>();
    Authorize(*context_, sender);
    request_.Clear();
    request_.set_recipient(recipient.handle);
    char id[16];
    std::memcpy(id, run_id_, 4);
    uint32_t w = static_cast<uint32_t>(index_);
    std::memcpy(id + 4, &w, 4);
    std::memcpy(id + 8, &sent_, 8);
    request_.set_message_id(id, sizeof(id));
    sotto::v1::OutgoingEnvelope* e = request_.add_envelopes();
    e->set_device_id(recipient.device_id);
    e->set_registration_id(recipient.registration_id);
    e->set_type(sotto::v1::ENVELOPE_TYPE_CIPHERTEXT);
    e->set_ciphertext(payload_.data() + (sent_ % 64), load_.size);
    ++sent_;
    started_ = Clock::now();
    reader_ = world_.messages(index_)->AsyncSend(context_.get(), request_, cq_);
    reader_->Finish(&response_, &status_, this);
  }

  void Done() {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
    cv_.notify_all();
  }

  const World& world_;
  const SendLoad& load_;
  const size_t index_;
  const std::string& payload_;
  grpc::CompletionQueue* const cq_;
  std::mutex& mu_;
  std::condition_variable& cv_;
  size_t& running_;
  char run_id_[4];
  uint64_t sent_ = 0;
  size_t pair_ = 0;
  Clock::time_point started_;
  std::unique_ptr<grpc::ClientContext> context_;
  sotto::v1::SendRequest request_;
  sotto::v1::SendResponse response_;
  grpc::Status status_;
  // Declared after context_, so destroyed before it: the reader lives in the
  // arena of the call that context_ holds.
  std::unique_ptr<grpc::ClientAsyncResponseReader<sotto::v1::SendResponse>> reader_;
};

}  // namespace

const Device& Recipient(const World& world, size_t pair, Direction direction) {
  return direction == Direction::kToTherapist ? world.therapist_of(pair)
                                              : world.pairs()[pair].client;
}

SendLoad PlanSends(size_t first_pair, size_t pairs, size_t concurrency, uint64_t messages,
                   size_t size, Direction direction, std::chrono::seconds limit) {
  SendLoad load;
  concurrency = std::max<size_t>(1, concurrency);
  load.per_worker.resize(concurrency);
  load.messages_per_worker.assign(concurrency, messages / concurrency);
  for (size_t w = 0; w < messages % concurrency; ++w) ++load.messages_per_worker[w];
  for (size_t p = 0; p < pairs; ++p) load.per_worker[p % concurrency].push_back(first_pair + p);
  // Fewer pairs than workers: workers share pairs.
  for (size_t w = pairs; w < concurrency && pairs > 0; ++w) {
    load.per_worker[w].push_back(first_pair + w % pairs);
  }
  load.size = size;
  load.direction = direction;
  load.stop_by = Clock::now() + limit;
  return load;
}

SendStats RunSends(const World& world, const SendLoad& load) {
  SendStats stats;
  stats.ok_per_pair.assign(world.pairs().size(), 0);
  std::string payload(load.size + 64, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(payload.data()), static_cast<int>(payload.size()));

  std::mutex mu;
  std::condition_variable cv;
  size_t running = load.per_worker.size();
  // The async API with our own pollers, one completion queue each: a
  // completion is handled, and the worker's next Send started, on the thread
  // that polled it. A Send's latency includes any wait for its poller.
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  for (size_t q = 0; q < kPollers; ++q) queues.push_back(std::make_unique<grpc::CompletionQueue>());
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t w = 0; w < load.per_worker.size(); ++w) {
    workers.push_back(std::make_unique<Worker>(world, load, w, payload, queues[w % kPollers].get(),
                                               mu, cv, running));
  }
  std::vector<std::thread> pollers;
  for (auto& q : queues) {
    pollers.emplace_back([cq = q.get()] {
      void* tag = nullptr;
      bool ok = false;
      // A unary Finish tag always comes back with ok == true; the call's
      // outcome is in its status.
      while (cq->Next(&tag, &ok)) static_cast<Worker*>(tag)->OnDone();
    });
  }
  // Samples the server's threads and RSS until the run ends.
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      ProcStatus s = world.ReadServerStatus();
      stats.max_server_threads = std::max(stats.max_server_threads, s.threads);
      stats.max_server_rss_kib = std::max(stats.max_server_rss_kib, s.rss_kib);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  const auto start = Clock::now();
  for (auto& w : workers) w->Start();
  {
    std::unique_lock<std::mutex> lock(mu);
    // Every call has a deadline, so this ends: stop_by + kRpcDeadline at most.
    cv.wait(lock, [&] { return running == 0; });
  }
  for (auto& q : queues) q->Shutdown();
  for (auto& t : pollers) t.join();
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sampling = false;
  sampler.join();
  for (auto& w : workers) {
    stats.ok += w->ok_;
    stats.failed += w->failed_;
    stats.not_started += w->not_started_;
    for (int c = 0; c <= 16; ++c) {
      if (w->codes_[c] > 0) {
        stats.status_counts[CodeName(static_cast<grpc::StatusCode>(c))] += w->codes_[c];
      }
    }
    stats.latencies_us.insert(stats.latencies_us.end(), w->latencies_.begin(), w->latencies_.end());
    if (stats.first_error.empty()) stats.first_error = w->first_error_;
    for (const auto& [p, n] : w->ok_pairs_) stats.ok_per_pair[p] += n;
  }
  return stats;
}

absl::StatusOr<uint64_t> CountQueue(const World& world, const Device& device,
                                    std::chrono::seconds limit) {
  const auto stop_by = Clock::now() + limit;
  uint64_t count = 0;
  uint64_t after = 0;
  // At most 10,000 envelopes per queue (the server's limit) and at least one
  // per page; the page bound is a guard, not a limit we expect to reach.
  for (int page = 0; page < 100000; ++page) {
    if (Clock::now() >= stop_by) {
      return absl::DeadlineExceededError("counting the queue of " + device.handle +
                                         " took too long");
    }
    grpc::ClientContext ctx;
    Authorize(ctx, device);
    sotto::v1::FetchRequest req;
    req.set_after_seq(after);
    req.set_limit(1000);
    sotto::v1::FetchResponse resp;
    grpc::Status s = world.messages(page)->Fetch(&ctx, req, &resp);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                          "Fetch by " + device.handle + ": " + s.error_message());
    }
    count += resp.envelopes_size();
    if (resp.envelopes_size() == 0) return count;
    after = resp.envelopes(resp.envelopes_size() - 1).seq();
    if (!resp.more()) return count;
  }
  return absl::InternalError("queue of " + device.handle + " did not end");
}

double PercentileMs(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * v.size()));
  i = std::min(v.size() - 1, i == 0 ? 0 : i - 1);
  return v[i] / 1000.0;
}

}  // namespace sotto::bench
