#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/scenario_common.h"
#include "bench/scenarios.h"
#include "bench/subscriber.h"

namespace sotto::bench {

namespace {

// The receive side: every envelope carries, in its first 16 bytes, the time
// it was sent (nanoseconds since `epoch`) and its index among the run's
// `total` Sends, so arrival latency needs no clock shared with the server.
// OnEnvelope is thread-safe (gRPC calls it from its threads).
class Receiver {
 public:
  Receiver(uint64_t total, Clock::time_point epoch) : seen_(total), total_(total), epoch_(epoch) {}

  void OnEnvelope(const sotto::v1::Envelope& e) {
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
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - epoch_).count();
    if (index >= total_) {
      ++foreign;
      return;
    }
    if (seen_[index].exchange(1) != 0) {
      ++duplicates;
      return;
    }
    ++received;
    std::lock_guard<std::mutex> lock(lat_mu_);
    delivery_us_.push_back(static_cast<uint32_t>(std::max<int64_t>(0, now_ns - sent_ns) / 1000));
  }

  void ReportLatencies(ScenarioResult& r) {
    std::lock_guard<std::mutex> lock(lat_mu_);
    AddLatencies(r, "delivery_", delivery_us_, true);
  }

  std::atomic<uint64_t> received{0}, duplicates{0}, foreign{0};

 private:
  std::vector<std::atomic<uint8_t>> seen_;
  const uint64_t total_;
  const Clock::time_point epoch_;
  std::mutex lat_mu_;
  std::vector<uint32_t> delivery_us_;
};

// One Subscribe stream per pair, to the pair's recipient. False (streams
// closed, a failure in `r`) if one is not live within 30 s.
// With `via` (a stub on another node), every stream is held there.
bool OpenStreams(ScenarioResult& r, const World& world, size_t pairs, Direction direction,
                 Receiver& receiver, std::vector<std::unique_ptr<Subscriber>>& subs,
                 sotto::v1::Messages::Stub* via) {
  auto on_envelope = [&receiver](const sotto::v1::Envelope& e) { receiver.OnEnvelope(e); };
  for (size_t p = 0; p < pairs; ++p) {
    subs.push_back(std::make_unique<Subscriber>(via != nullptr ? via : world.messages(p),
                                                Recipient(world, p, direction), on_envelope));
  }
  const auto ready_by = Clock::now() + std::chrono::seconds(30);
  for (auto& s : subs) {
    if (!s->AwaitDrained(ready_by)) {
      r.failures.push_back("a Subscribe stream did not become live within 30 s");
      CloseAll(r, subs);
      return false;
    }
  }
  return true;
}

// What the send side saw.
struct Offered {
  uint64_t ok = 0, failed = 0, not_offered = 0;
  std::string first_error;
  std::vector<uint32_t> send_us;
  double seconds = 0;  // Offering them, not waiting for the last answers.
};

// One Send in flight; deletes itself when answered.
struct Call {
  grpc::ClientContext context;
  sotto::v1::SendRequest request;
  sotto::v1::SendResponse response;
  Clock::time_point start;
};

// Send number `i` of the run `run_id` (8 bytes), on pair `p`: `payload` with
// the send time and `i` in its first 16 bytes, started now.
Call* NewCall(const World& world, Direction direction, size_t p, uint64_t i, const char* run_id,
              const std::string& payload, Clock::time_point epoch) {
  const Device& sender =
      direction == Direction::kToTherapist ? world.pairs()[p].client : world.therapist_of(p);
  const Device& recipient = Recipient(world, p, direction);
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
  return call;
}

// The send side: `total` Sends, open loop at the offered rate, round robin
// over the pairs, at most o.max_in_flight at once; returns when every call
// has been answered (each has a deadline). Counts statuses in `r`.
Offered OfferSends(ScenarioResult& r, const World& world, const Common& c, const DeliveryOptions& o,
                   size_t pairs, uint64_t total, size_t size, Clock::time_point epoch) {
  std::mutex mu;
  std::condition_variable cv;
  size_t in_flight = 0;
  Offered out;
  std::string payload(size, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(payload.data()), static_cast<int>(size));
  char run_id[8];
  RAND_bytes(reinterpret_cast<unsigned char*>(run_id), sizeof(run_id));
  const auto start = Clock::now();
  const auto stop_by =
      start +
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds)) +
      c.phase_limit;
  for (uint64_t i = 0; i < total; ++i) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(i / o.rate));
    std::this_thread::sleep_until(due);
    if (Clock::now() >= stop_by) {
      out.not_offered += total - i;
      break;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      if (in_flight >= o.max_in_flight) {
        ++out.not_offered;
        continue;
      }
      ++in_flight;
    }
    const size_t p = i % pairs;
    Call* call = NewCall(world, o.direction, p, i, run_id, payload, epoch);
    world.messages(p)->async()->Send(
        &call->context, &call->request, &call->response, [&, call](grpc::Status s) {
          const auto us =
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call->start)
                  .count();
          const bool good = s.ok() && !call->response.duplicate();
          delete call;  // The call's own reference keeps gRPC's state alive.
          std::lock_guard<std::mutex> lock(mu);
          r.status_counts[CodeName(s.error_code())]++;
          if (good) {
            ++out.ok;
            out.send_us.push_back(static_cast<uint32_t>(us));
          } else {
            ++out.failed;
            if (out.first_error.empty()) {
              out.first_error = CodeName(s.error_code()) + ": " + s.error_message();
            }
          }
          --in_flight;
          cv.notify_all();
        });
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });  // Every call has a deadline.
  return out;
}

}  // namespace

// delivery: open-loop Sends at a fixed rate to recipients online on
// Subscribe; latency from send to arrival on the stream.
ScenarioResult RunDelivery(const Common& c, const DeliveryOptions& o) {
  ScenarioResult r;
  r.scenario = "delivery";
  r.Param("rate", o.rate, "msg/s");
  r.Param("seconds", o.seconds, "s");
  r.Param("recipients", o.recipients);
  r.Param("size", o.size, "B");
  r.params.push_back({"direction", 0, DirectionName(o.direction), ""});
  if (!o.subscribe_via.empty()) r.params.push_back({"subscribe_via", 0, o.subscribe_via, ""});
  const uint64_t total = static_cast<uint64_t>(std::llround(o.rate * o.seconds));
  const size_t size = std::max<size_t>(o.size, 16);  // Room for the timestamp.
  const size_t pairs = std::max(o.recipients, CeilDiv(total, QueueRoom(size)));
  std::unique_ptr<World> world = StartWorld(r, c, 8);
  if (world == nullptr || !Setup(r, *world, pairs, 1)) return r;
  std::unique_ptr<sotto::v1::Messages::Stub> via;
  if (!o.subscribe_via.empty()) {
    via = sotto::v1::Messages::NewStub(
        grpc::CreateChannel(o.subscribe_via, grpc::InsecureChannelCredentials()));
  }

  const auto epoch = Clock::now();
  Receiver receiver(total, epoch);
  std::vector<std::unique_ptr<Subscriber>> subs;
  if (!OpenStreams(r, *world, pairs, o.direction, receiver, subs, via.get())) return r;
  Offered sent = OfferSends(r, *world, c, o, pairs, total, size, epoch);
  // Wait (bounded) for the streams to deliver every acknowledged Send.
  const auto settle_by = Clock::now() + std::chrono::seconds(10);
  while (receiver.received < sent.ok && Clock::now() < settle_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  size_t ended = 0;
  for (auto& s : subs) ended += s->done() ? 1 : 0;
  CloseAll(r, subs);

  const uint64_t ok = sent.ok, received = receiver.received;
  r.Add("offered", static_cast<double>(total));
  r.Add("send_rate", sent.seconds > 0 ? ok / sent.seconds : 0, "msg/s");
  receiver.ReportLatencies(r);
  AddLatencies(r, "send_", sent.send_us, false);
  r.Add("received", static_cast<double>(received));
  r.Add("lost", static_cast<double>(ok > received ? ok - received : 0));
  if (sent.failed > 0) {
    r.failures.push_back(
        absl::StrCat(sent.failed, " Sends failed (first: ", sent.first_error, ")"));
  }
  if (sent.not_offered > 0) {
    r.failures.push_back(absl::StrCat(sent.not_offered, " Sends not offered: ", o.max_in_flight,
                                      " in flight or the time limit (the server fell behind)"));
  }
  if (received < ok) {
    r.failures.push_back(
        absl::StrCat(ok - received, " acknowledged Sends never arrived on a stream"));
  }
  if (receiver.duplicates > 0) {
    r.failures.push_back(absl::StrCat(receiver.duplicates.load(), " envelopes arrived twice"));
  }
  if (receiver.foreign > 0) {
    r.failures.push_back(absl::StrCat(receiver.foreign.load(), " envelopes not sent by this run"));
  }
  if (ended > 0) r.failures.push_back(absl::StrCat(ended, " streams ended during the run"));
  ExpectedCounters expect{ok, sent.failed};
  // Streams held by another node are counted there, not by this server.
  if (o.subscribe_via.empty()) expect.min_envelopes_streamed = received;
  CheckServerCounters(r, *world, expect);
  return r;
}

}  // namespace sotto::bench
