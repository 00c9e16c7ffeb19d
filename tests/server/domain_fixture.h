#ifndef SOTTO_TESTS_SERVER_DOMAIN_FIXTURE_H_
#define SOTTO_TESTS_SERVER_DOMAIN_FIXTURE_H_

// The server's domain services over real RocksDB in a fresh temporary
// directory, with a fake clock and helpers to register users with real
// Signal keys.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "server/domain/accounts.h"
#include "server/domain/audit_log.h"
#include "server/domain/clock.h"
#include "server/domain/key_directory.h"
#include "server/domain/mailbox.h"
#include "server/storage/rocksdb_store.h"
#include "testing/server_keys.h"
#include "testing/signal_test_keys.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace sotto::server {

// A store whose WhenDurable waits for the test: what a caller hands over is
// held until Release (group commit's syncer, driven by hand). Everything else
// passes through.
class HeldDurabilityStore final : public ForwardingStore {
 public:
  explicit HeldDurabilityStore(Store* inner) : ForwardingStore(inner) {}

  void WhenDurable(std::function<void(absl::Status)> done) override {
    absl::MutexLock lock(&mu_);
    held_.push_back(std::move(done));
  }
  // How many hand-overs wait.
  size_t waiting() {
    absl::MutexLock lock(&mu_);
    return held_.size();
  }
  // Answers every waiting hand-over with `synced`, oldest first.
  void Release(const absl::Status& synced) {
    std::vector<std::function<void(absl::Status)>> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
    }
    for (auto& done : held) done(synced);
  }
  // Syncs the log, then answers every waiting hand-over with the result.
  void SyncAndRelease() { Release(SyncLog()); }

 private:
  absl::Mutex mu_;
  std::vector<std::function<void(absl::Status)>> held_ ABSL_GUARDED_BY(mu_);
};

inline std::string Secret(char fill) { return std::string(kDeviceSecretBytes, fill); }

// Real keys as the domain takes them.
inline DeviceKeys MakeDeviceKeys(sotto::testing::SignalTestKeys& keys, size_t one_time_prekeys,
                                 uint32_t first_id = 1) {
  DeviceKeys out;
  out.identity_key = keys.identity_key();
  sotto::testing::TestSignedPreKey spk = keys.MakeSignedPreKey(7);
  out.signed_prekey = SignedPreKey{spk.id, spk.public_key, spk.signature};
  for (const auto& k : keys.MakeOneTimePreKeys(first_id, one_time_prekeys)) {
    out.one_time_prekeys.push_back(OneTimePreKey{k.id, k.public_key});
  }
  return out;
}

class DomainTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  // (Re)opens the store and services on the same directory.
  void Open(MailboxOptions options = {}) {
    mailbox_.reset();
    keys_.reset();
    accounts_.reset();
    store_.reset();
    raw_store_.reset();
    auto store = OpenRocksDbStore(dir_.path() + "/db");
    ASSERT_TRUE(store.ok()) << store.status();
    raw_store_ = *std::move(store);
    // As in the server: domain writes go through the audit chain.
    auto audit = AuditLog::Open(raw_store_.get(), &clock_, sotto::testing::TestAuditKey());
    ASSERT_TRUE(audit.ok()) << audit.status();
    store_ = *std::move(audit);
    accounts_ = std::make_unique<Accounts>(store_.get());
    keys_ = std::make_unique<KeyDirectory>(store_.get(), accounts_.get());
    mailbox_ = std::make_unique<Mailbox>(store_.get(), accounts_.get(), &clock_, options);
  }

  // Registers `handle` (device 1, registration id `registration_id`) with
  // `prekeys` one-time prekeys; returns its authenticated device 1.
  AuthenticatedDevice Register(const std::string& handle, uint32_t registration_id = 100,
                               size_t prekeys = 0) {
    Registration reg;
    reg.handle = handle;
    reg.role = Role::kClient;
    reg.device_secret = Secret('s');
    reg.registration_id = registration_id;
    reg.keys = MakeDeviceKeys(signal_keys_[handle], prekeys);
    auto device = accounts_->Register(reg);
    EXPECT_TRUE(device.ok()) << device.status();
    return AuthenticatedDevice{handle, 1, Role::kClient};
  }

  // Adds a device to `owner`'s account; returns it.
  AuthenticatedDevice AddDevice(const AuthenticatedDevice& owner, uint32_t registration_id) {
    sotto::testing::SignalTestKeys keys;
    auto id = accounts_->AddDevice(owner, Secret('d'), registration_id, MakeDeviceKeys(keys, 0));
    EXPECT_TRUE(id.ok()) << id.status();
    return AuthenticatedDevice{owner.handle, id.value_or(0), owner.role};
  }

  sotto::testing::TempDir dir_;
  FakeClock clock_;
  std::map<std::string, sotto::testing::SignalTestKeys> signal_keys_;
  // The RocksDB store, and store_ wrapping it (an AuditLog).
  std::unique_ptr<Store> raw_store_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<KeyDirectory> keys_;
  std::unique_ptr<Mailbox> mailbox_;
};

}  // namespace sotto::server

#endif  // SOTTO_TESTS_SERVER_DOMAIN_FIXTURE_H_
