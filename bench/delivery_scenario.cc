#include "bench/scenarios.h"

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
#include "bench/subscriber.h"

namespace sotto::bench {

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

}  // namespace sotto::bench
