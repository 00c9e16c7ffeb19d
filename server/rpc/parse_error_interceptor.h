#ifndef SOTTO_SERVER_RPC_PARSE_ERROR_INTERCEPTOR_H_
#define SOTTO_SERVER_RPC_PARSE_ERROR_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

namespace sotto::server::rpc {

// Makes a request that does not parse fail with INVALID_ARGUMENT naming the
// method and the message type expected, instead of gRPC 1.51's
// UNIMPLEMENTED with no message. (The callback API's handlers answer a
// failed deserialization with a hard-coded UNIMPLEMENTED reactor
// (server_callback_handlers.h), which tells a client the method does not
// exist.) Recognised by that status exactly: UNIMPLEMENTED, an empty message
// and a method of one of `services` (full names, e.g. "sotto.v1.Messages":
// those the server registers; a method of another, e.g. Operator on the TCP
// port, stays UNIMPLEMENTED). Our own handlers never finish so.
// Thread-safe; one per ServerBuilder.
class ParseErrorInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ParseErrorInterceptorFactory(std::vector<std::string> services)
      : services_(std::move(services)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const std::vector<std::string> services_;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_PARSE_ERROR_INTERCEPTOR_H_
