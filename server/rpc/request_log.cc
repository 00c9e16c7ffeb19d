#include "server/rpc/request_log.h"

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "sotto/log.h"

namespace sotto::server::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

class RequestLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit RequestLogInterceptor(const char* method)
      : method_(method != nullptr ? method : "?"), start_(std::chrono::steady_clock::now()) {}
  RequestLogInterceptor(const RequestLogInterceptor&) = delete;
  RequestLogInterceptor& operator=(const RequestLogInterceptor&) = delete;

  // The call is over when the interceptor goes: one that never sent a
  // status was abandoned by its client (or cut by shutdown).
  ~RequestLogInterceptor() override {
    if (!logged_) Log(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Log(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Log(grpc::StatusCode code) {
    logged_ = true;
    const std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - start_;
    // grpc::StatusCode and absl::StatusCode are both google.rpc.Code.
    log::Info("request", {{"method", method_},
                          {"status", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))},
                          {"ms", ms.count()}});
  }

  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
  bool logged_ = false;  // Hooks of one call run one at a time.
};

class RequestLogFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (!log::Enabled(log::Level::kInfo)) return nullptr;
    return new RequestLogInterceptor(info->method());
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRequestLogFactory() {
  return std::make_unique<RequestLogFactory>();
}

}  // namespace sotto::server::rpc
