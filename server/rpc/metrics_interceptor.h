#ifndef SOTTO_SERVER_RPC_METRICS_INTERCEPTOR_H_
#define SOTTO_SERVER_RPC_METRICS_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace sotto::server::rpc {

// Counts every call on the gRPC port into metrics::Global() (internal to
// server/rpc): sotto_rpc_requests_total{method,code} when the call's status
// is sent, sotto_rpc_duration_seconds{method} from the call's arrival to
// its status, and sotto_rpc_active_calls while calls are open (unary calls
// in progress and open Subscribe streams). `method` is "sotto.v1.SERVICE/
// METHOD" for the methods the server registers and "other" for any name a
// client makes up, so a client cannot grow the label set; `code` is the
// gRPC status name ("OK", "RESOURCE_EXHAUSTED", ...). A call that ends
// without sending a status (cancelled) counts as CANCELLED. Nothing of the
// request or its caller is looked at.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeMetricsInterceptor();

}  // namespace sotto::server::rpc

#endif  // SOTTO_SERVER_RPC_METRICS_INTERCEPTOR_H_
