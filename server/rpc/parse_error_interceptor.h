#ifndef SOTTO_SERVER_RPC_PARSE_ERROR_INTERCEPTOR_H_
#define SOTTO_SERVER_RPC_PARSE_ERROR_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace sotto::server::rpc {

// Makes a request that does not parse fail with INVALID_ARGUMENT naming the
// method and the message type expected, instead of gRPC 1.51's
// UNIMPLEMENTED with no message. (The callback API's handlers answer a
// failed deserialization with a hard-coded UNIMPLEMENTED reactor
// (server_callback_handlers.h), which tells a client the method does not
// exist.) Recognised by that status exactly: UNIMPLEMENTED, an empty message
// and a method the server does serve; our own handlers never finish so.
// Thread-safe; one per ServerBuilder.
class ParseErrorInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_PARSE_ERROR_INTERCEPTOR_H_
