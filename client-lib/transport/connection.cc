#include "client-lib/transport/connection.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client-lib/transport/address_policy.h"
#include "client-lib/transport/device_mismatch.h"
#include "client-lib/transport/short_calls.h"
#include "client-lib/transport/tls_diagnosis.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "sotto/authorization.h"

namespace sotto::client::transport {
namespace {

// Unary calls: long enough for a synced write on a slow disk, short enough
// that a dead server is reported while the user still waits.
constexpr absl::Duration kCallTimeout = absl::Seconds(15);
constexpr int kSendAttempts = 4;
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(200);
// Above the largest Send the server accepts (16 devices × 64 KiB).
constexpr int kMaxMessageBytes = 4 * 1024 * 1024;

}  // namespace

class GrpcSubscription final : public Subscription {
 public:
  // `finished` turns the final gRPC status into ours (Connection::Failed).
  // Registered with `connection` before the call starts, so that
  // CancelSubscriptions reaches it (gRPC cancels a call whose context was
  // cancelled before it started).
  GrpcSubscription(Connection& connection, v1::Messages::Stub* stub,
                   std::unique_ptr<grpc::ClientContext> context,
                   std::function<absl::Status(const grpc::Status&)> finished)
      : connection_(connection),
        context_(Register(connection, std::move(context))),
        reader_(stub->Subscribe(context_.get(), v1::SubscribeRequest())),
        finished_(std::move(finished)) {}
  ~GrpcSubscription() override {
    absl::MutexLock lock(&connection_.subscriptions_mu_);
    auto& live = connection_.subscriptions_;
    live.erase(std::remove(live.begin(), live.end(), context_.get()), live.end());
  }

  std::optional<v1::SubscribeEvent> Read() override {
    v1::SubscribeEvent event;
    if (!reader_->Read(&event)) return std::nullopt;
    return event;
  }
  void Cancel() override { context_->TryCancel(); }
  absl::Status Finish() override { return finished_(reader_->Finish()); }

 private:
  static std::unique_ptr<grpc::ClientContext> Register(
      Connection& connection, std::unique_ptr<grpc::ClientContext> context) {
    absl::MutexLock lock(&connection.subscriptions_mu_);
    connection.subscriptions_.push_back(context.get());
    return context;
  }

  Connection& connection_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<v1::SubscribeEvent>> reader_;
  std::function<absl::Status(const grpc::Status&)> finished_;
};

namespace {

// TLS through gRPC's TlsCredentials, the credentials type that can check
// CRLs. Hostname verification there is the job of a certificate verifier:
// set it explicitly rather than trust a default (tests pin that a
// wrong-host certificate is still refused).
std::shared_ptr<grpc::ChannelCredentials> TlsChannelCredentials(const TlsConfig& tls,
                                                                const CrlDirectory* crls) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  if (!tls.system_roots) {
    // Without a provider gRPC uses the system's (or its bundled) roots.
    options.set_certificate_provider(
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(tls.ca_pem));
    options.watch_root_certs();
  }
  options.set_verify_server_certs(true);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  options.set_check_call_host(true);
  if (crls != nullptr) options.set_crl_directory(crls->path());
  return grpc::experimental::TlsCredentials(options);
}

// A subscription to an address we refused: ends at once with the reason.
class RefusedSubscription final : public Subscription {
 public:
  explicit RefusedSubscription(absl::Status status) : status_(std::move(status)) {}
  std::optional<v1::SubscribeEvent> Read() override { return std::nullopt; }
  void Cancel() override {}
  absl::Status Finish() override { return status_; }

 private:
  absl::Status status_;
};

// What a person is told when the server could not be reached, from gRPC's
// text (which names resolvers, sub-channels and "ipv4:…" addresses: that
// goes to the detail payload only). Every variant says "unreachable", and
// what to do.
std::string Unreachable(const grpc::Status& status, absl::string_view address, bool tls) {
  const std::string server =
      address.empty() ? "the Sotto server" : absl::StrCat("the Sotto server at ", address);
  const std::string& text = status.error_message();
  const auto has = [&text](absl::string_view part) { return absl::StrContains(text, part); };
  std::string why;
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    why = absl::StrCat("it did not answer within ", absl::FormatDuration(kCallTimeout),
                       "; try again later");
  } else if (has("Connection refused")) {
    why = "nothing is listening there; is sotto-server running, and is the address right?";
  } else if (has("Socket closed") || has("Connection reset") || has("Broken pipe") ||
             has("End of TCP stream") || has("connection closed")) {
    why = tls ? "it closed the connection; try again later"
              : "it closed the connection; if the server uses TLS, pass --ca FILE (the CA "
                "certificate of the server) or --system-roots";
  } else if (has("DNS resolution failed") || has("not known") || has("resolve")) {
    why = "its host name could not be resolved; check the address";
  } else if (has("Handshake") || has("handshake") || has("SSL") || has("ssl")) {
    why = tls ? "the TLS handshake failed; does the server use TLS on this port?"
              : "the connection failed before any request";
  } else if (has("timed out") || has("No route") || has("Network is unreachable")) {
    why = "no connection could be made (the network, or a firewall?); check the address";
  } else {
    why = "try again later";
  }
  return absl::StrCat(server, " is unreachable: ", why);
}

}  // namespace

std::string AuthorizationValue(const Credentials& credentials) {
  return sotto::AuthorizationValue(credentials.handle, credentials.device_id, credentials.secret);
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view rpc, absl::string_view address,
                      bool tls) {
  if (status.ok()) return absl::OkStatus();
  // Both enums are google.rpc.Code, so the numbers line up.
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const bool unreachable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                           status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  absl::Status result(code,
                      unreachable ? Unreachable(status, address, tls) : status.error_message());
  result.SetPayload(kDetailPayloadUrl,
                    absl::Cord(absl::StrCat(rpc, ": ", absl::StatusCodeToString(code), ": ",
                                            status.error_message())));
  return result;
}

Connection::Connection(std::string address, TlsConfig tls, Keepalive keepalive)
    : address_(std::move(address)),
      tls_(std::move(tls)),
      refused_(CheckServerAddress(address_, tls_.enabled())) {
  if (!refused_.ok()) return;
  if (!tls_.crl_pem.empty()) {
    if (!tls_.enabled()) {
      refused_ = absl::InvalidArgumentError(
          "a certificate revocation list needs TLS: give the CA certificate or use the system "
          "roots");
      return;
    }
    absl::StatusOr<std::vector<CrlInfo>> crls = ParseCrls(tls_.crl_pem);
    absl::StatusOr<std::unique_ptr<CrlDirectory>> dir =
        crls.ok() ? CrlDirectory::Create(tls_.crl_pem) : crls.status();
    if (!dir.ok()) {
      refused_ =
          absl::Status(dir.status().code(), absl::StrCat("TLS CRL: ", dir.status().message()));
      return;
    }
    crl_dir_ = std::move(*dir);
    for (const CrlInfo& crl : *crls) {
      crls_current_until_ = std::min(crls_current_until_, crl.next_update);
    }
  }
  grpc::ChannelArguments args;
  // After an outage, a long-lived client (an app, Listen) must reach the
  // server again soon after it is back: gRPC's default reconnect backoff
  // grows to 120 s, during which every call fails at once.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  if (keepalive.time > absl::ZeroDuration()) {
    auto ms = [](absl::Duration d) {
      return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 1, INT32_MAX));
    };
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, ms(keepalive.time));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(keepalive.timeout));
    // Only while a call is open: an idle app pings nobody.
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
    // A quiet Listen stream sends no data, and gRPC 1.51's client stops
    // after two pings without data unless told otherwise.
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      tls_.enabled() ? TlsChannelCredentials(tls_, crl_dir_.get())
                     : grpc::InsecureChannelCredentials();
  channel_ = grpc::CreateCustomChannel(address_, credentials, args);
  accounts_ = v1::Accounts::NewStub(channel_);
  devices_ = v1::Devices::NewStub(channel_);
  keys_ = v1::Keys::NewStub(channel_);
  messages_ = v1::Messages::NewStub(channel_);
  care_ = v1::Care::NewStub(channel_);
  queue_ = v1::Queue::NewStub(channel_);
  notifications_ = v1::Notifications::NewStub(channel_);
}

absl::Status Connection::Usable() const {
  if (!refused_.ok()) return refused_;
  if (crls_current_until_ < absl::Now()) return CheckCrlsCurrent(tls_.crl_pem, absl::Now());
  return absl::OkStatus();
}

absl::Status Connection::Failed(const grpc::Status& status, absl::string_view rpc) const {
  absl::Status failed = FromGrpc(status, rpc, address_, tls_.enabled());
  // A refused certificate shows up as UNAVAILABLE "failed to connect … ";
  // only a handshake of our own can tell which check failed.
  if (!tls_.enabled() || status.error_code() != grpc::StatusCode::UNAVAILABLE) return failed;
  std::optional<std::string> reason =
      ExplainCertificateRefusal(address_, {tls_.ca_pem, tls_.system_roots, tls_.crl_pem});
  if (!reason) return failed;
  // The call's name stays in this message: tests/e2e/cli_test.cc pins
  // "Register: TLS: ...".
  absl::Status refused = absl::UnavailableError(
      absl::StrCat(rpc, ": TLS: ", *reason, "; the connection was refused and nothing was sent"));
  if (auto detail = failed.GetPayload(kDetailPayloadUrl)) {
    refused.SetPayload(kDetailPayloadUrl, *detail);
  }
  return refused;
}

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Connection::Call(Stub* stub,
                                          grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                       const Request&, Response*),
                                          const Request& request, absl::string_view rpc,
                                          bool authenticated) {
  if (absl::Status usable = Usable(); !usable.ok()) return usable;
  grpc::ClientContext context;
  Prepare(&context, authenticated, kCallTimeout);
  Response response;
  grpc::Status status = (stub->*method)(&context, request, &response);
  if (!status.ok()) return Failed(status, rpc);
  return response;
}

void Connection::SetCredentials(Credentials credentials) {
  std::string value = AuthorizationValue(credentials);
  OPENSSL_cleanse(credentials.secret.data(), credentials.secret.size());
  absl::MutexLock lock(&mu_);
  // The value replaced holds the old secret in hex: wiped before its buffer
  // is freed (the move below takes the new value's buffer, copying nothing).
  OPENSSL_cleanse(authorization_.data(), authorization_.size());
  authorization_ = std::move(value);
}

void Connection::ClearCredentials() {
  absl::MutexLock lock(&mu_);
  OPENSSL_cleanse(authorization_.data(), authorization_.size());
  authorization_.clear();
}

bool Connection::HasCredentials() {
  absl::MutexLock lock(&mu_);
  return !authorization_.empty();
}

Connection::~Connection() {
  absl::MutexLock lock(&mu_);
  OPENSSL_cleanse(authorization_.data(), authorization_.size());
}

void Connection::Prepare(grpc::ClientContext* context, bool authenticated, absl::Duration timeout) {
  timeout = std::min(timeout, ShortCallsOnThisThread::Limit());
  if (timeout != absl::InfiniteDuration()) {
    context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  }
  if (authenticated) {
    absl::MutexLock lock(&mu_);
    // None while locked: the server then refuses the call (UNAUTHENTICATED).
    if (!authorization_.empty()) context->AddMetadata(sotto::kAuthorizationKey, authorization_);
  }
}

absl::StatusOr<v1::RegisterResponse> Connection::Register(const v1::RegisterRequest& request) {
  if (absl::Status usable = Usable(); !usable.ok()) return usable;
  grpc::ClientContext context;
  Prepare(&context, /*authenticated=*/false, kCallTimeout);
  v1::RegisterResponse response;
  grpc::Status status = accounts_->Register(&context, request, &response);
  if (!status.ok()) return Failed(status, "Register");
  return response;
}

absl::StatusOr<v1::WhoAmIResponse> Connection::WhoAmI() {
  if (absl::Status usable = Usable(); !usable.ok()) return usable;
  grpc::ClientContext context;
  Prepare(&context, true, kCallTimeout);
  v1::WhoAmIResponse response;
  grpc::Status status = accounts_->WhoAmI(&context, v1::WhoAmIRequest(), &response);
  if (!status.ok()) return Failed(status, "WhoAmI");
  return response;
}

absl::Status Connection::DeleteAccount(const std::string& confirm_handle) {
  v1::DeleteAccountRequest request;
  request.set_confirm_handle(confirm_handle);
  return Call(accounts_.get(), &v1::Accounts::Stub::DeleteAccount, request, "DeleteAccount")
      .status();
}

absl::StatusOr<v1::UploadKeysResponse> Connection::UploadKeys(
    const v1::UploadKeysRequest& request) {
  if (absl::Status usable = Usable(); !usable.ok()) return usable;
  grpc::ClientContext context;
  Prepare(&context, true, kCallTimeout);
  v1::UploadKeysResponse response;
  grpc::Status status = keys_->Upload(&context, request, &response);
  if (!status.ok()) return Failed(status, "Keys.Upload");
  return response;
}

absl::StatusOr<v1::GetBundleResponse> Connection::GetBundle(const std::string& user) {
  if (absl::Status usable = Usable(); !usable.ok()) return usable;
  grpc::ClientContext context;
  Prepare(&context, true, kCallTimeout);
  v1::GetBundleRequest request;
  request.set_user(user);
  v1::GetBundleResponse response;
  grpc::Status status = keys_->GetBundle(&context, request, &response);
  if (!status.ok()) return Failed(status, "GetBundle");
  return response;
}

absl::StatusOr<v1::CountPreKeysResponse> Connection::CountPreKeys() {
  if (absl::Status usable = Usable(); !usable.ok()) return usable;
  grpc::ClientContext context;
  Prepare(&context, true, kCallTimeout);
  v1::CountPreKeysResponse response;
  grpc::Status status = keys_->CountPreKeys(&context, v1::CountPreKeysRequest(), &response);
  if (!status.ok()) return Failed(status, "CountPreKeys");
  return response;
}

absl::StatusOr<SendOutcome> Connection::Send(const v1::SendRequest& request) {
  if (absl::Status usable = Usable(); !usable.ok()) return usable;
  absl::Duration backoff = kFirstBackoff;
  grpc::Status status;
  // Under ShortCallsOnThisThread a person waits: one try, what fails stays queued.
  const int attempts =
      ShortCallsOnThisThread::Limit() == absl::InfiniteDuration() ? kSendAttempts : 1;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    grpc::ClientContext context;
    Prepare(&context, true, kCallTimeout);
    v1::SendResponse response;
    status = messages_->Send(&context, request, &response);
    if (status.ok()) return SendOutcome{std::move(response), std::nullopt};
    if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      absl::StatusOr<std::optional<v1::DeviceMismatch>> mismatch =
          ParseDeviceMismatch(status.error_details(), request.recipient());
      if (!mismatch.ok()) return mismatch.status();
      if (*mismatch) return SendOutcome{std::nullopt, std::move(**mismatch)};
    }
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    if (attempt < attempts) {
      std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
      backoff *= 2;
    }
  }
  return Failed(status, "Send");
}

absl::StatusOr<v1::FetchResponse> Connection::Fetch(uint64_t after_seq, uint32_t limit) {
  if (absl::Status usable = Usable(); !usable.ok()) return usable;
  grpc::ClientContext context;
  Prepare(&context, true, kCallTimeout);
  v1::FetchRequest request;
  request.set_after_seq(after_seq);
  request.set_limit(limit);
  v1::FetchResponse response;
  grpc::Status status = messages_->Fetch(&context, request, &response);
  if (!status.ok()) return Failed(status, "Fetch");
  return response;
}

absl::StatusOr<v1::AckResponse> Connection::Ack(const std::vector<uint64_t>& seqs) {
  if (absl::Status usable = Usable(); !usable.ok()) return usable;
  grpc::ClientContext context;
  Prepare(&context, true, kCallTimeout);
  v1::AckRequest request;
  for (uint64_t seq : seqs) request.add_seqs(seq);
  v1::AckResponse response;
  grpc::Status status = messages_->Ack(&context, request, &response);
  if (!status.ok()) return Failed(status, "Ack");
  return response;
}

std::unique_ptr<Subscription> Connection::Subscribe() {
  if (absl::Status usable = Usable(); !usable.ok()) {
    return std::make_unique<RefusedSubscription>(std::move(usable));
  }
  auto context = std::make_unique<grpc::ClientContext>();
  Prepare(context.get(), true, absl::InfiniteDuration());
  return std::make_unique<GrpcSubscription>(
      *this, messages_.get(), std::move(context),
      [this](const grpc::Status& status) { return Failed(status, "Subscribe"); });
}

void Connection::CancelSubscriptions() {
  absl::MutexLock lock(&subscriptions_mu_);
  for (grpc::ClientContext* context : subscriptions_) context->TryCancel();
}

absl::Status Connection::CancelScheduled(const std::string& message_id) {
  v1::CancelScheduledRequest request;
  request.set_message_id(message_id);
  return Call(messages_.get(), &v1::Messages::Stub::CancelScheduled, request, "CancelScheduled")
      .status();
}

absl::StatusOr<v1::CreateInviteResponse> Connection::CreateInvite(uint32_t valid_hours) {
  v1::CreateInviteRequest request;
  request.set_valid_hours(valid_hours);
  return Call(care_.get(), &v1::Care::Stub::CreateInvite, request, "CreateInvite");
}

absl::StatusOr<v1::AcceptInviteResponse> Connection::AcceptInvite(const std::string& code) {
  v1::AcceptInviteRequest request;
  request.set_code(code);
  return Call(care_.get(), &v1::Care::Stub::AcceptInvite, request, "AcceptInvite");
}

absl::StatusOr<v1::ListInvitesResponse> Connection::ListInvites() {
  return Call(care_.get(), &v1::Care::Stub::ListInvites, v1::ListInvitesRequest(), "ListInvites");
}

absl::StatusOr<v1::ListLinksResponse> Connection::ListLinks() {
  return Call(care_.get(), &v1::Care::Stub::ListLinks, v1::ListLinksRequest(), "ListLinks");
}

absl::Status Connection::EndLink(const std::string& peer) {
  v1::EndLinkRequest request;
  request.set_peer(peer);
  return Call(care_.get(), &v1::Care::Stub::EndLink, request, "EndLink").status();
}

absl::Status Connection::SetPolicy(const v1::ResponsePolicy& policy) {
  v1::SetPolicyRequest request;
  *request.mutable_policy() = policy;
  return Call(care_.get(), &v1::Care::Stub::SetPolicy, request, "SetPolicy").status();
}

absl::StatusOr<v1::GetPolicyResponse> Connection::GetPolicy(const std::string& therapist) {
  v1::GetPolicyRequest request;
  request.set_therapist(therapist);
  return Call(care_.get(), &v1::Care::Stub::GetPolicy, request, "GetPolicy");
}

absl::StatusOr<v1::ListQueueResponse> Connection::ListQueue(bool include_all) {
  v1::ListQueueRequest request;
  request.set_include_all(include_all);
  return Call(queue_.get(), &v1::Queue::Stub::List, request, "Queue.List");
}

absl::StatusOr<v1::QueueEntry> Connection::Snooze(const std::string& client, int64_t until_ms) {
  v1::SnoozeRequest request;
  request.set_client(client);
  request.set_until_ms(until_ms);
  return Call(queue_.get(), &v1::Queue::Stub::Snooze, request, "Queue.Snooze");
}

absl::StatusOr<v1::QueueEntry> Connection::Close(const std::string& client) {
  v1::CloseRequest request;
  request.set_client(client);
  return Call(queue_.get(), &v1::Queue::Stub::Close, request, "Queue.Close");
}

absl::StatusOr<v1::QueueEntry> Connection::Claim(const std::string& client) {
  v1::ClaimRequest request;
  request.set_client(client);
  return Call(queue_.get(), &v1::Queue::Stub::Claim, request, "Queue.Claim");
}

absl::StatusOr<v1::NotificationSettings> Connection::SetEmailNotifications(
    const v1::SetEmailRequest& request) {
  return Call(notifications_.get(), &v1::Notifications::Stub::SetEmail, request,
              "Notifications.SetEmail");
}

absl::Status Connection::DisableNotifications() {
  return Call(notifications_.get(), &v1::Notifications::Stub::Disable,
              v1::DisableNotificationsRequest(), "Notifications.Disable")
      .status();
}

absl::StatusOr<v1::NotificationSettings> Connection::GetNotifications() {
  return Call(notifications_.get(), &v1::Notifications::Stub::Get, v1::GetNotificationsRequest(),
              "Notifications.Get");
}

// ---- sotto.v1.Devices ----

absl::StatusOr<v1::ListDevicesResponse> Connection::ListDevices() {
  return Call(devices_.get(), &v1::Devices::Stub::List, v1::ListDevicesRequest(), "Devices.List");
}

absl::Status Connection::RemoveDevice(uint32_t device_id) {
  v1::RemoveDeviceRequest request;
  request.set_device_id(device_id);
  return Call(devices_.get(), &v1::Devices::Stub::Remove, request, "Devices.Remove").status();
}

absl::StatusOr<v1::CreateLinkSlotResponse> Connection::CreateLinkSlot() {
  return Call(devices_.get(), &v1::Devices::Stub::CreateLinkSlot, v1::CreateLinkSlotRequest(),
              "Devices.CreateLinkSlot");
}

absl::StatusOr<v1::GetLinkRequestResponse> Connection::GetLinkRequest(const std::string& slot_id) {
  v1::GetLinkRequestRequest request;
  request.set_slot_id(slot_id);
  return Call(devices_.get(), &v1::Devices::Stub::GetLinkRequest, request,
              "Devices.GetLinkRequest");
}

absl::Status Connection::PutLinkResponse(const std::string& slot_id,
                                         const std::string& ciphertext) {
  v1::PutLinkResponseRequest request;
  request.set_slot_id(slot_id);
  request.set_ciphertext(ciphertext);
  return Call(devices_.get(), &v1::Devices::Stub::PutLinkResponse, request,
              "Devices.PutLinkResponse")
      .status();
}

absl::Status Connection::CancelLinkSlot(const std::string& slot_id) {
  v1::CancelLinkSlotRequest request;
  request.set_slot_id(slot_id);
  return Call(devices_.get(), &v1::Devices::Stub::CancelLinkSlot, request,
              "Devices.CancelLinkSlot")
      .status();
}

absl::Status Connection::PostLinkRequest(const v1::PostLinkRequestRequest& request) {
  return Call(devices_.get(), &v1::Devices::Stub::PostLinkRequest, request,
              "Devices.PostLinkRequest", /*authenticated=*/false)
      .status();
}

absl::StatusOr<v1::FetchLinkResponseResponse> Connection::FetchLinkResponse(
    const std::string& slot_id) {
  v1::FetchLinkResponseRequest request;
  request.set_slot_id(slot_id);
  return Call(devices_.get(), &v1::Devices::Stub::FetchLinkResponse, request,
              "Devices.FetchLinkResponse", /*authenticated=*/false);
}

absl::StatusOr<v1::LinkResponse> Connection::Link(const v1::LinkRequest& request) {
  return Call(devices_.get(), &v1::Devices::Stub::Link, request, "Devices.Link",
              /*authenticated=*/false);
}

absl::StatusOr<v1::CreateHistoryTransferResponse> Connection::CreateHistoryTransfer() {
  return Call(devices_.get(), &v1::Devices::Stub::CreateHistoryTransfer,
              v1::CreateHistoryTransferRequest(), "Devices.CreateHistoryTransfer");
}

absl::StatusOr<uint64_t> Connection::PutHistoryChunk(const v1::PutHistoryChunkRequest& request) {
  absl::StatusOr<v1::PutHistoryChunkResponse> put = Call(
      devices_.get(), &v1::Devices::Stub::PutHistoryChunk, request, "Devices.PutHistoryChunk");
  if (!put.ok()) return put.status();
  return put->received_bytes();
}

absl::Status Connection::SealHistoryTransfer(const std::string& transfer_id,
                                             uint64_t total_bytes) {
  v1::SealHistoryTransferRequest request;
  request.set_transfer_id(transfer_id);
  request.set_total_bytes(total_bytes);
  return Call(devices_.get(), &v1::Devices::Stub::SealHistoryTransfer, request,
              "Devices.SealHistoryTransfer")
      .status();
}

absl::StatusOr<v1::FetchHistoryChunkResponse> Connection::FetchHistoryChunk(
    const std::string& transfer_id, uint64_t offset) {
  v1::FetchHistoryChunkRequest request;
  request.set_transfer_id(transfer_id);
  request.set_offset(offset);
  return Call(devices_.get(), &v1::Devices::Stub::FetchHistoryChunk, request,
              "Devices.FetchHistoryChunk");
}

absl::Status Connection::DeleteHistoryTransfer(const std::string& transfer_id) {
  v1::DeleteHistoryTransferRequest request;
  request.set_transfer_id(transfer_id);
  return Call(devices_.get(), &v1::Devices::Stub::DeleteHistoryTransfer, request,
              "Devices.DeleteHistoryTransfer")
      .status();
}

}  // namespace sotto::client::transport
