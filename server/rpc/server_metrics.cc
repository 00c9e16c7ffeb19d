#include "server/rpc/server_metrics.h"

#include <iostream>

#include "server/app/process_metrics.h"
#include "server/domain/queue_totals.h"
#include "sotto/log.h"

#ifndef SOTTO_VERSION
#define SOTTO_VERSION "unknown"
#endif

namespace sotto::server::rpc {
namespace {

double Load(const std::atomic<uint64_t>& v) {
  return static_cast<double>(v.load(std::memory_order_relaxed));
}

void AppendStats(const ServerStats& s, metrics::Exposition& out) {
  out.Family("sotto_envelopes_total", "counter",
             "Envelopes by what happened to them: accepted by Send (duplicates not counted), "
             "fetched, streamed to a Subscribe stream, acknowledged (deleted).");
  out.Sample("sotto_envelopes_total", {{"event", "accepted"}}, Load(s.envelopes_accepted));
  out.Sample("sotto_envelopes_total", {{"event", "fetched"}}, Load(s.envelopes_fetched));
  out.Sample("sotto_envelopes_total", {{"event", "streamed"}}, Load(s.envelopes_streamed));
  out.Sample("sotto_envelopes_total", {{"event", "acked"}}, Load(s.envelopes_acked));
  out.Counter("sotto_sends_duplicate_total",
              "Sends answered as retries of a send already stored (nothing queued).",
              Load(s.sends_duplicate));
  out.Gauge("sotto_subscribe_streams", "Open Subscribe streams.", Load(s.subscriptions_open));
  out.Counter("sotto_subscribe_streams_replaced_total",
              "Subscribe streams ended because their device opened one past its cap.",
              Load(s.subscriptions_replaced));
}

void AppendQueues(Store* store, metrics::Exposition& out) {
  absl::StatusOr<QueueTotals> totals = SumQueues(store);
  if (!totals.ok()) {
    // Left out of the scrape (an absent series, not a false zero); the
    // operator sees why here.
    log::Warn(absl::StrCat("metrics: cannot sum queues: ", totals.status().message()));
    return;
  }
  out.Gauge("sotto_queue_envelopes", "Undelivered envelopes in all device queues.",
            static_cast<double>(totals->envelopes));
  out.Gauge("sotto_queue_bytes", "Stored bytes of the undelivered envelopes.",
            static_cast<double>(totals->bytes));
  out.Gauge("sotto_queue_devices_waiting", "Device queues holding at least one envelope.",
            static_cast<double>(totals->queues_waiting));
  out.Gauge("sotto_queue_deepest_envelopes", "Envelopes in the fullest device queue.",
            static_cast<double>(totals->deepest));
}

}  // namespace

metrics::Registry::Collector ServerCollector(ServerMetricsSources sources) {
  return [sources = std::move(sources)](metrics::Exposition& out) {
    out.Family("sotto_build_info", "gauge", "Always 1; the server's version as a label.");
    out.Sample("sotto_build_info", {{"version", SOTTO_VERSION}}, 1);
    out.Gauge("sotto_start_time_seconds", "When the server started, Unix seconds.",
              absl::ToDoubleSeconds(sources.started - absl::UnixEpoch()));
    AppendStats(*sources.stats, out);
    AppendQueues(sources.store, out);
    AppendProcessMetrics(out);
    AppendDiskMetrics(sources.data_dir, out);
    AppendConnectionMetrics(sources.grpc_port, out);
  };
}

}  // namespace sotto::server::rpc
