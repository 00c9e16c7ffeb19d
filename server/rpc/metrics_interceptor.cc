#include "server/rpc/metrics_interceptor.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "sotto/metrics.h"

namespace sotto::server::rpc {
namespace {

namespace gx = grpc::experimental;

constexpr int kCodes = 17;  // gRPC status codes 0..16
constexpr const char* kCodeNames[kCodes] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

// Every service the TCP port serves (not Operator: Unix socket only).
constexpr const char* kServices[] = {
    "sotto.v1.Accounts", "sotto.v1.Keys",          "sotto.v1.Messages",    "sotto.v1.Care",
    "sotto.v1.Queue",    "sotto.v1.Notifications", "grpc.health.v1.Health"};

// One method's series, made on first use (a scrape shows the methods called
// and the codes they answered, not 17 zeros for each) and then kept.
struct MethodSeries {
  std::string label;
  std::array<std::atomic<metrics::Counter*>, kCodes> by_code{};
  std::atomic<metrics::Histogram*> duration{nullptr};

  void Count(int code, double seconds) {
    if (code < 0 || code >= kCodes) code = 2;  // UNKNOWN
    metrics::Counter* c = by_code[code].load(std::memory_order_acquire);
    if (c == nullptr) {
      // Racing first uses get the same series from the registry.
      c = &metrics::Global().GetCounter("sotto_rpc_requests_total",
                                        "gRPC calls answered, by method and status code.",
                                        {{"method", label}, {"code", kCodeNames[code]}});
      by_code[code].store(c, std::memory_order_release);
    }
    c->Add();
    metrics::Histogram* d = duration.load(std::memory_order_acquire);
    if (d == nullptr) {
      d = &metrics::Global().GetHistogram("sotto_rpc_duration_seconds",
                                          "Time from a call's arrival to its status, by method.",
                                          metrics::LatencyBuckets(), {{"method", label}});
      duration.store(d, std::memory_order_release);
    }
    d->Observe(seconds);
  }
};

class MetricsInterceptor final : public gx::Interceptor {
 public:
  MetricsInterceptor(MethodSeries* method, metrics::Gauge* active)
      : method_(method), active_(active), start_(std::chrono::steady_clock::now()) {
    active_->Add(1);
  }
  ~MetricsInterceptor() override {
    if (!counted_) Count(1);  // CANCELLED: no status was sent
    active_->Add(-1);
  }

  void Intercept(gx::InterceptorBatchMethods* methods) override {
    if (!counted_ &&
        methods->QueryInterceptionHookPoint(gx::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Count(static_cast<int>(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  void Count(int code) {
    counted_ = true;
    method_->Count(
        code, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }

  MethodSeries* const method_;
  metrics::Gauge* const active_;
  const std::chrono::steady_clock::time_point start_;
  bool counted_ = false;
};

class MetricsInterceptorFactory final : public gx::ServerInterceptorFactoryInterface {
 public:
  MetricsInterceptorFactory()
      : active_(&metrics::Global().GetGauge(
            "sotto_rpc_active_calls",
            "gRPC calls in progress on the client port, open Subscribe streams included.")) {
    std::vector<std::string> names;
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    for (const char* service : kServices) {
      const google::protobuf::ServiceDescriptor* s = pool->FindServiceByName(service);
      if (s == nullptr) continue;  // health: its proto may not be linked in
      for (int i = 0; i < s->method_count(); ++i) {
        names.push_back(absl::StrCat(service, "/", s->method(i)->name()));
      }
    }
    // gRPC's health service is served without its descriptor in our pool.
    for (const char* m : {"grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch"}) {
      if (std::find(names.begin(), names.end(), m) == names.end()) names.push_back(m);
    }
    names.push_back("other");
    methods_ = std::vector<MethodSeries>(names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      methods_[i].label = names[i];
      index_.emplace(absl::StrCat("/", names[i]), i);
    }
  }

  gx::Interceptor* CreateServerInterceptor(gx::ServerRpcInfo* info) override {
    auto it = index_.find(info->method() != nullptr ? info->method() : "");
    MethodSeries* method = &methods_[it != index_.end() ? it->second : methods_.size() - 1];
    return new MetricsInterceptor(method, active_);
  }

 private:
  metrics::Gauge* const active_;
  std::vector<MethodSeries> methods_;               // the last one is "other"
  absl::flat_hash_map<std::string, size_t> index_;  // "/service/method" -> methods_
};

}  // namespace

std::unique_ptr<gx::ServerInterceptorFactoryInterface> MakeMetricsInterceptor() {
  return std::make_unique<MetricsInterceptorFactory>();
}

}  // namespace sotto::server::rpc
