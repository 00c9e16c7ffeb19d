#ifndef SOTTO_CLIENT_LIB_TRANSPORT_CONNECTION_H_
#define SOTTO_CLIENT_LIB_TRANSPORT_CONNECTION_H_

// The client's side of the wire: one gRPC channel to a sotto-server, the
// authentication metadata, deadlines and retries. grpc::Status becomes
// absl::Status here and nowhere else in the client library.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client-lib/transport/crl.h"
#include "sotto/v1/accounts.grpc.pb.h"
#include "sotto/v1/care.grpc.pb.h"
#include "sotto/v1/devices.grpc.pb.h"
#include "sotto/v1/keys.grpc.pb.h"
#include "sotto/v1/messages.grpc.pb.h"
#include "sotto/v1/notifications.grpc.pb.h"

namespace sotto::client::transport {

// How the channel is secured. TLS is on when a CA certificate is given or
// the system roots are asked for; then any host may be used, and the server's
// certificate must chain to that CA (or a system root), be valid now, name
// the host of the address, and — for an issuer with a CRL here — not be
// revoked. gRPC's TLS credentials (grpc::experimental::TlsCredentials) check
// the chain, validity and CRLs in the handshake; its HostNameCertificateVerifier,
// set explicitly, checks the host.
struct TlsConfig {
  // PEM of the CA certificate(s) to trust; empty with system_roots = false
  // means plain TCP (loopback only).
  std::string ca_pem;
  bool system_roots = false;
  // PEM of X.509 CRLs (crl.h), checked for every certificate of the server's
  // chain whose issuer has one here; certificates of other issuers pass
  // unchecked (gRPC's rule). Needs TLS. An out-of-date CRL (past its
  // nextUpdate) makes every call fail FAILED_PRECONDITION before connecting.
  std::string crl_pem;
  bool enabled() const { return !ca_pem.empty() || system_roots; }
};

// HTTP/2 keepalive while a call is open (a Subscribe stream, a call waiting
// on a server that stopped answering): after `time` without traffic the
// connection is pinged, and if the ping goes unanswered for `timeout` the
// connection is closed and its calls fail UNAVAILABLE. So a Listen on a
// network that vanished without closing the connection ends in about 80 s
// instead of waiting as long as TCP does. The server refuses pings more
// often than every 30 s (docs/PROTOCOL.md): `time` below that is for tests
// against a server that never sees the pings. Zero `time`: no pings.
struct Keepalive {
  absl::Duration time = absl::Seconds(60);
  absl::Duration timeout = absl::Seconds(20);
};

struct Credentials {
  std::string handle;
  uint32_t device_id = 0;
  std::string secret;  // 32 raw bytes
};

// The outcome of Messages.Send: either the server's response, or the device
// lists it asked us to fix (FAILED_PRECONDITION with DeviceMismatch details).
struct SendOutcome {
  std::optional<v1::SendResponse> response;
  std::optional<v1::DeviceMismatch> mismatch;
};

// A server-streaming Subscribe call. Read() blocks until the next event, the
// deadline, or the end of the stream.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // nullopt when the stream ended (then Finish() gives the reason).
  virtual std::optional<v1::SubscribeEvent> Read() = 0;
  // Cancels the call; a blocked Read() returns nullopt.
  virtual void Cancel() = 0;
  virtual absl::Status Finish() = 0;
};

// "Sotto <handle>.<device>:<hex secret>", the value of the `authorization`
// metadata key on every authenticated call.
std::string AuthorizationValue(const Credentials& credentials);

// The type URL of the payload a failed call's absl::Status carries: the
// technical detail ("<rpc>: <gRPC code>: <gRPC's message>") that the message
// leaves out. For a bug report (`sotto --verbose` prints it), not for users.
inline constexpr absl::string_view kDetailPayloadUrl = "sotto.dev/detail";

// Maps a gRPC status to the same absl code. The message is for a person and
// names no call or gRPC term: the server's own words for a refusal (e.g.
// "no user sam"), and for a server that could not be reached (UNAVAILABLE,
// DEADLINE_EXCEEDED) what happened at `address` — nothing listening, the
// connection closed (with the hint to pass --ca when `tls` is off), no
// answer in time — always with the word "unreachable". The RPC name and
// gRPC's text go into the kDetailPayloadUrl payload.
absl::Status FromGrpc(const grpc::Status& status, absl::string_view rpc,
                      absl::string_view address = "", bool tls = false);

class Connection {
 public:
  // Does not connect yet; the first call does. Plain TCP, so loopback only
  // (CheckPlainTcpAddress): for any other address no channel is made and
  // every call fails with that INVALID_ARGUMENT, before any credential leaves
  // the process.
  // With TLS (`tls.enabled()`), any host is allowed. A CRL without TLS, or
  // one that does not parse, is refused the same way (INVALID_ARGUMENT).
  // When the server's certificate is refused, the UNAVAILABLE a call returns
  // names the check that failed (tls_diagnosis.h), e.g. "... has been
  // revoked"; no credential was sent.
  explicit Connection(std::string address, TlsConfig tls = {}, Keepalive keepalive = {});
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Wipes the authorization value (it holds the device secret in hex).
  ~Connection();

  const std::string& address() const { return address_; }
  // The device the calls authenticate as. The value it replaces, and the
  // secret in `credentials`, are wiped. Thread-safe.
  void SetCredentials(Credentials credentials);
  // Wipes and drops the credentials (Lock): later authenticated calls carry
  // none, so the server refuses them. Thread-safe.
  void ClearCredentials();
  // Whether calls carry a device secret. Thread-safe.
  bool HasCredentials();

  absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest& request);
  absl::StatusOr<v1::WhoAmIResponse> WhoAmI();
  // Accounts.DeleteAccount: deletes the authenticated account on the server.
  absl::Status DeleteAccount(const std::string& confirm_handle);
  // sotto.v1.Devices (connection_devices.cc). PostLinkRequest,
  // FetchLinkResponse and Link carry no credentials: the new device has
  // none yet. No retries (a link slot is used once).
  absl::StatusOr<v1::ListDevicesResponse> ListDevices();
  absl::Status RemoveDevice(uint32_t device_id);
  absl::StatusOr<v1::CreateLinkSlotResponse> CreateLinkSlot();
  absl::StatusOr<v1::GetLinkRequestResponse> GetLinkRequest(const std::string& slot_id);
  absl::Status PutLinkResponse(const std::string& slot_id, const std::string& ciphertext);
  absl::Status CancelLinkSlot(const std::string& slot_id);
  absl::Status PostLinkRequest(const v1::PostLinkRequestRequest& request);
  absl::StatusOr<v1::FetchLinkResponseResponse> FetchLinkResponse(const std::string& slot_id);
  absl::StatusOr<v1::LinkResponse> Link(const v1::LinkRequest& request);
  // History transfer (devices.proto), all authenticated. PutHistoryChunk
  // may be sent again after a lost answer (the server accepts the same
  // chunk once); a FetchHistoryChunk whose answer is lost after the last
  // chunk finds the archive gone (NOT_FOUND).
  absl::StatusOr<v1::CreateHistoryTransferResponse> CreateHistoryTransfer();
  absl::StatusOr<uint64_t> PutHistoryChunk(const v1::PutHistoryChunkRequest& request);
  absl::Status SealHistoryTransfer(const std::string& transfer_id, uint64_t total_bytes);
  absl::StatusOr<v1::FetchHistoryChunkResponse> FetchHistoryChunk(const std::string& transfer_id,
                                                                  uint64_t offset);
  absl::Status DeleteHistoryTransfer(const std::string& transfer_id);
  absl::StatusOr<v1::UploadKeysResponse> UploadKeys(const v1::UploadKeysRequest& request);
  absl::StatusOr<v1::GetBundleResponse> GetBundle(const std::string& user);
  absl::StatusOr<v1::CountPreKeysResponse> CountPreKeys();
  // Retries UNAVAILABLE a few times with back-off: safe, because the server
  // deduplicates by message id. A DeviceMismatch that cannot be right for
  // this recipient is INTERNAL (ParseDeviceMismatch, device_mismatch.h).
  absl::StatusOr<SendOutcome> Send(const v1::SendRequest& request);
  absl::StatusOr<v1::FetchResponse> Fetch(uint64_t after_seq, uint32_t limit);
  absl::StatusOr<v1::AckResponse> Ack(const std::vector<uint64_t>& seqs);
  std::unique_ptr<Subscription> Subscribe();
  // Cancels every Subscribe call open now (each blocked Read() returns
  // nullopt, Finish() CANCELLED), from any thread: how Client::StopListening
  // ends a Listen that waits for the next message. A call being set up
  // concurrently may be missed; the caller repeats until its Listen ended.
  void CancelSubscriptions();
  absl::Status CancelScheduled(const std::string& message_id);

  // Care links and response policies (care.proto, service Care).
  absl::StatusOr<v1::CreateInviteResponse> CreateInvite(uint32_t valid_hours);
  absl::StatusOr<v1::AcceptInviteResponse> AcceptInvite(const std::string& code);
  absl::StatusOr<v1::ListLinksResponse> ListLinks();
  absl::StatusOr<v1::ListInvitesResponse> ListInvites();
  absl::Status EndLink(const std::string& peer);
  absl::Status SetPolicy(const v1::ResponsePolicy& policy);
  absl::StatusOr<v1::GetPolicyResponse> GetPolicy(const std::string& therapist);

  // The therapist's queue (care.proto, service Queue).
  absl::StatusOr<v1::ListQueueResponse> ListQueue(bool include_all);
  absl::StatusOr<v1::QueueEntry> Snooze(const std::string& client, int64_t until_ms);
  absl::StatusOr<v1::QueueEntry> Close(const std::string& client);
  absl::StatusOr<v1::QueueEntry> Claim(const std::string& client);

  // Email notifications (notifications.proto, service Notifications).
  absl::StatusOr<v1::NotificationSettings> SetEmailNotifications(
      const v1::SetEmailRequest& request);
  absl::Status DisableNotifications();
  absl::StatusOr<v1::NotificationSettings> GetNotifications();

 private:
  void Prepare(grpc::ClientContext* context, bool authenticated, absl::Duration timeout);

  // OK, or why no call may be made now: the refused address or TLS settings,
  // or a CRL past its nextUpdate.
  absl::Status Usable() const;
  // FromGrpc, and for a TLS server that could not be reached, why its
  // certificate was refused, if that is the reason.
  absl::Status Failed(const grpc::Status& status, absl::string_view rpc) const;

  // One authenticated unary call with the usual deadline; no retries (only
  // Send is known to be idempotent).
  // With `authenticated` false, the call carries no credentials.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(Stub* stub,
                                grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request, absl::string_view rpc,
                                bool authenticated = true);

  const std::string address_;
  const TlsConfig tls_;
  // OK, or why address_ or tls_ is refused (then the stubs are null).
  absl::Status refused_;
  // The earliest nextUpdate of tls_.crl_pem's CRLs (InfiniteFuture: none).
  absl::Time crls_current_until_ = absl::InfiniteFuture();
  // Declared before channel_, so that it is removed only after the channel
  // that reads it is gone.
  std::unique_ptr<CrlDirectory> crl_dir_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Accounts::Stub> accounts_;
  std::unique_ptr<v1::Devices::Stub> devices_;
  std::unique_ptr<v1::Keys::Stub> keys_;
  std::unique_ptr<v1::Messages::Stub> messages_;
  std::unique_ptr<v1::Care::Stub> care_;
  std::unique_ptr<v1::Queue::Stub> queue_;
  std::unique_ptr<v1::Notifications::Stub> notifications_;
  absl::Mutex mu_;
  std::string authorization_ ABSL_GUARDED_BY(mu_);
  // The contexts of the open Subscribe calls, for CancelSubscriptions; each
  // is removed by its subscription before the context is destroyed.
  friend class GrpcSubscription;
  absl::Mutex subscriptions_mu_;
  std::vector<grpc::ClientContext*> subscriptions_ ABSL_GUARDED_BY(subscriptions_mu_);
};

}  // namespace sotto::client::transport

#endif  // SOTTO_CLIENT_LIB_TRANSPORT_CONNECTION_H_
