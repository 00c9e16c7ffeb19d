#ifndef SOTTO_BENCH_SUBSCRIBER_H_
#define SOTTO_BENCH_SUBSCRIBER_H_

// One Subscribe stream held open by the delivery and idle scenarios, on
// gRPC's callback API so that thousands of streams need no thread each.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "bench/report.h"
#include "bench/world.h"
#include "sotto/v1/messages.grpc.pb.h"

namespace sotto::bench {

// on_envelope runs on gRPC's threads, one call at a time per stream.
class Subscriber final : public grpc::ClientReadReactor<sotto::v1::SubscribeEvent> {
 public:
  using OnEnvelope = std::function<void(const sotto::v1::Envelope&)>;

  // Opens the stream as `device`. No deadline: it stays open until Cancel.
  Subscriber(sotto::v1::Messages::Stub* stub, const Device& device, OnEnvelope on_envelope);

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& s) override;

  void Cancel() { context_.TryCancel(); }

  // True once the backlog was streamed (the stream is live), false if the
  // stream ended or `until` passed first.
  bool AwaitDrained(std::chrono::steady_clock::time_point until);
  // Waits for OnDone (bounded); returns its status.
  bool AwaitDone(std::chrono::steady_clock::time_point until, grpc::Status* status);
  bool done();

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
// leaked rather than freed under gRPC's feet (and reported in `r`).
void CloseAll(ScenarioResult& r, std::vector<std::unique_ptr<Subscriber>>& subs);

}  // namespace sotto::bench

#endif  // SOTTO_BENCH_SUBSCRIBER_H_
