#include "client-lib/signal/engine.h"

#include <mutex>
#include <utility>

#include "client-lib/signal/crypto_provider.h"
#include "client-lib/signal/engine_impl.h"
#include "client-lib/signal/signal_ptr.h"
#include "client-lib/signal/status.h"
#include "client-lib/signal/store_bridge.h"
#include "sotto/status_macros.h"

// Opening the Engine and the Impl helpers every part uses. The operations
// are in engine_keys.cc, engine_sessions.cc and engine_trust.cc.

namespace sotto::client::signal {
namespace {

using engine_internal::ToString;
using engine_internal::Transaction;

void Lock(void* user_data) { static_cast<std::recursive_mutex*>(user_data)->lock(); }
void Unlock(void* user_data) { static_cast<std::recursive_mutex*>(user_data)->unlock(); }

}  // namespace

absl::Status Engine::Impl::Sig(int code, absl::string_view what) const {
  if (code < 0 && !bridge.callback_error().ok()) {
    return LocalStoreError(what, bridge.callback_error());
  }
  return FromSignal(code, what, bridge.callback_error());
}

absl::Status Engine::Impl::Commit(Transaction& txn, absl::string_view what) {
  return LocalStoreError(what, txn.Commit());
}

absl::StatusOr<SignalPtr<ec_public_key>> Engine::Impl::DecodePoint(absl::string_view bytes,
                                                                   absl::string_view what) {
  ec_public_key* raw = nullptr;
  int rc = curve_decode_point(&raw, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                              context.get());
  SignalPtr<ec_public_key> key = Adopt(raw);
  if (rc < 0) return Sig(rc, what);
  return key;
}

absl::StatusOr<std::string> Engine::Impl::SerializePublic(const ec_public_key* key) {
  signal_buffer* raw = nullptr;
  int rc = ec_public_key_serialize(&raw, key);
  SignalPtr<signal_buffer> buf = Adopt(raw);
  if (rc < 0) return Sig(rc, "serializing a public key");
  return ToString(buf.get());
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(storage::LocalStore* store) {
  if (store == nullptr) return absl::InvalidArgumentError("no local store");
  auto impl = std::make_unique<Impl>(store);
  SOTTO_ASSIGN_OR_RETURN(impl->crypto, CryptoProvider::Create());

  signal_context* ctx = nullptr;
  int rc = signal_context_create(&ctx, &impl->mu);
  impl->context = Adopt(ctx);
  if (rc >= 0) rc = signal_context_set_crypto_provider(ctx, &impl->crypto->provider());
  if (rc >= 0) rc = signal_context_set_locking_functions(ctx, Lock, Unlock);
  if (rc < 0) return FromSignal(rc, "creating the signal context");

  signal_protocol_store_context* store_ctx = nullptr;
  rc = signal_protocol_store_context_create(&store_ctx, ctx);
  impl->store_context = Adopt(store_ctx);
  if (rc < 0) return FromSignal(rc, "creating the signal store context");
  SOTTO_RETURN_IF_ERROR(impl->bridge.Install(store_ctx));
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

}  // namespace sotto::client::signal
