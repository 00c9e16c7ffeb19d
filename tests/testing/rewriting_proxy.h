#ifndef SOTTO_TESTS_TESTING_REWRITING_PROXY_H_
#define SOTTO_TESTS_TESTING_REWRITING_PROXY_H_

// A gRPC proxy on 127.0.0.1 that plays a breached server: it relays every
// unary call to the real server (with the caller's metadata and deadline)
// and lets a test rewrite what goes back — a bundle with another key, a
// device list the server never had, an envelope the server made up. It sees
// what a breached server sees (the server's side of every call) and nothing
// more: the clients behind it are the real library, unchanged.
//
//   RewritingProxy proxy(server->address());
//   proxy.OnResponse("/sotto.v1.Keys/GetBundle", [&](grpc::ByteBuffer& out) { ... });
//   options.server_address = proxy.address();
//
// Server-streaming calls (Subscribe) are refused UNIMPLEMENTED: tests behind
// the proxy use Sync. Rewriters run on gRPC's threads, one call at a time per
// method; set them from the test thread between calls.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "sotto/authorization.h"

namespace sotto::testing {

class RewritingProxy {
 public:
  // Rewrites a successful response in place.
  using ResponseRewriter = std::function<void(grpc::ByteBuffer& response)>;
  // Answers a call instead of the server (nullopt: relay it as usual).
  using Interceptor = std::function<std::optional<grpc::Status>(const grpc::ByteBuffer& request)>;

  explicit RewritingProxy(const std::string& upstream)
      : channel_(grpc::CreateChannel(upstream, grpc::InsecureChannelCredentials())),
        stub_(channel_),
        service_(this) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterCallbackGenericService(&service_);
    builder.SetMaxReceiveMessageSize(8 * 1024 * 1024);
    server_ = builder.BuildAndStart();
  }
  RewritingProxy(const RewritingProxy&) = delete;
  RewritingProxy& operator=(const RewritingProxy&) = delete;
  ~RewritingProxy() { server_->Shutdown(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // `method` is the full name, e.g. "/sotto.v1.Keys/GetBundle". An empty
  // function removes the hook.
  void OnResponse(const std::string& method, ResponseRewriter rewrite) {
    absl::MutexLock lock(&mu_);
    rewriters_[method] = std::move(rewrite);
  }
  void Intercept(const std::string& method, Interceptor intercept) {
    absl::MutexLock lock(&mu_);
    interceptors_[method] = std::move(intercept);
  }

  // Protobuf <-> the raw bytes of a call.
  template <typename Message>
  static Message Parse(const grpc::ByteBuffer& buffer) {
    grpc::ByteBuffer copy(buffer);
    Message message;
    grpc::GenericDeserialize<grpc::ProtoBufferReader, Message>(&copy, &message);
    return message;
  }
  template <typename Message>
  static grpc::ByteBuffer Serialize(const Message& message) {
    grpc::ByteBuffer out;
    bool own = false;
    grpc::GenericSerialize<grpc::ProtoBufferWriter, Message>(message, &out, &own);
    return out;
  }

 private:
  ResponseRewriter RewriterFor(const std::string& method) {
    absl::MutexLock lock(&mu_);
    auto it = rewriters_.find(method);
    return it == rewriters_.end() ? ResponseRewriter() : it->second;
  }
  Interceptor InterceptorFor(const std::string& method) {
    absl::MutexLock lock(&mu_);
    auto it = interceptors_.find(method);
    return it == interceptors_.end() ? Interceptor() : it->second;
  }

  // One relayed unary call: read the request, call upstream, write back.
  class Call final : public grpc::ServerGenericBidiReactor {
   public:
    Call(RewritingProxy* proxy, grpc::GenericCallbackServerContext* context)
        : proxy_(proxy), context_(context) {
      if (context_->method() == "/sotto.v1.Messages/Subscribe") {
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not through the test proxy"));
        return;
      }
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INTERNAL, "proxy: no request"));
        return;
      }
      if (Interceptor intercept = proxy_->InterceptorFor(context_->method())) {
        if (std::optional<grpc::Status> answer = intercept(request_)) {
          Finish(*answer);
          return;
        }
      }
      for (const auto& [key, value] : context_->client_metadata()) {
        if (std::string(key.data(), key.size()) == sotto::kAuthorizationKey) {
          upstream_.AddMetadata(sotto::kAuthorizationKey, std::string(value.data(), value.size()));
        }
      }
      upstream_.set_deadline(context_->deadline());
      proxy_->stub_.UnaryCall(
          &upstream_, context_->method(), grpc::StubOptions(), &request_, &response_,
          [this](grpc::Status status) {
            if (!status.ok()) {
              Finish(status);
              return;
            }
            if (ResponseRewriter rewrite = proxy_->RewriterFor(context_->method())) {
              rewrite(response_);
            }
            StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
          });
    }
    void OnDone() override { delete this; }

   private:
    RewritingProxy* proxy_;
    grpc::GenericCallbackServerContext* context_;
    grpc::ClientContext upstream_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

  class Service final : public grpc::CallbackGenericService {
   public:
    explicit Service(RewritingProxy* proxy) : proxy_(proxy) {}
    grpc::ServerGenericBidiReactor* CreateReactor(
        grpc::GenericCallbackServerContext* context) override {
      return new Call(proxy_, context);
    }

   private:
    RewritingProxy* proxy_;
  };

  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  Service service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex mu_;
  std::map<std::string, ResponseRewriter> rewriters_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Interceptor> interceptors_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_REWRITING_PROXY_H_
