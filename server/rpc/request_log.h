#ifndef SOTTO_SERVER_RPC_REQUEST_LOG_H_
#define SOTTO_SERVER_RPC_REQUEST_LOG_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace sotto::server::rpc {

// The request log (internal to server/rpc): one info-level line per call on
// the public port when it ends,
//   sotto-server: request method=/sotto.v1.Messages/Send status=OK ms=0.412
// or the same as JSON (sotto/log.h). A call the client abandoned before
// the server answered is logged with status=CANCELLED.
//
// What it leaves out, on purpose: the handle (the audit log, keyed and
// kept in the database, says who did what; a log line travels to journald,
// shippers and support tickets), the peer address (with a timestamp it
// says where a patient was when they wrote), and every byte of a request
// or reply, sizes included. An operator answering "my sends fail since
// noon" matches the time, the method and the status.
//
// With the log level below info the factory makes no interceptor at all,
// so the calls pay nothing. Thread-safe.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRequestLogFactory();

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_REQUEST_LOG_H_
