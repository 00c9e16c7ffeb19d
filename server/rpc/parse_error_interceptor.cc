#include "server/rpc/parse_error_interceptor.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sotto::server::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

// The method "/pkg.Service/Method" as the descriptor pool knows it, or null.
const google::protobuf::MethodDescriptor* FindMethod(absl::string_view path,
                                                     const std::vector<std::string>& services) {
  if (path.size() < 2 || path[0] != '/') return nullptr;
  std::string name(path.substr(1));
  const size_t slash = name.find('/');
  if (slash == std::string::npos) return nullptr;
  if (std::find(services.begin(), services.end(), name.substr(0, slash)) == services.end()) {
    return nullptr;
  }
  name[slash] = '.';
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
}

class ParseErrorInterceptor final : public grpc::experimental::Interceptor {
 public:
  ParseErrorInterceptor(const char* method, const std::vector<std::string>* services)
      : method_(method != nullptr ? method : ""), services_(services) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        if (const auto* method = FindMethod(method_, *services_); method != nullptr) {
          methods->ModifySendStatus(
              grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           absl::StrCat("request to ", method_, " did not parse as ",
                                        method->input_type()->full_name())));
        }
      }
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  const std::vector<std::string>* const services_;  // the factory's
};

}  // namespace

grpc::experimental::Interceptor* ParseErrorInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new ParseErrorInterceptor(info->method(), &services_);
}

}  // namespace sotto::server::rpc
