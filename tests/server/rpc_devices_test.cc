// sotto.v1.Devices over a real server: listing, removal, and the linking
// relay, with malformed, oversized, unauthenticated and unauthorised
// requests.

#include "server/app/key_files.h"
#include "sotto/v1/devices.grpc.pb.h"
#include "tests/server/rpc_fixture.h"

namespace sotto::server::rpc {
namespace {

class RpcDevicesTest : public RpcFakeClockTest {
 protected:
  void SetUp() override {
    RpcFakeClockTest::SetUp();
    devices_ = v1::Devices::NewStub(channel_);
  }

  v1::CreateLinkSlotResponse OpenSlot(const User& owner) {
    v1::CreateLinkSlotResponse slot;
    grpc::Status s =
        devices_->CreateLinkSlot(Ctx(owner.Header()).get(), v1::CreateLinkSlotRequest(), &slot);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return slot;
  }

  grpc::Status Post(const std::string& slot_id, const std::string& key = std::string(32, 'k'),
                    const std::string& mac = std::string(32, 'm')) {
    v1::PostLinkRequestRequest req;
    req.set_slot_id(slot_id);
    req.set_ephemeral_public_key(key);
    req.set_mac(mac);
    v1::PostLinkRequestResponse resp;
    return devices_->PostLinkRequest(Ctx("").get(), req, &resp);
  }

  grpc::Status Put(const User& owner, const std::string& slot_id, const std::string& ciphertext) {
    v1::PutLinkResponseRequest req;
    req.set_slot_id(slot_id);
    req.set_ciphertext(ciphertext);
    v1::PutLinkResponseResponse resp;
    return devices_->PutLinkResponse(Ctx(owner.Header()).get(), req, &resp);
  }

  grpc::Status Fetch(const std::string& slot_id, v1::FetchLinkResponseResponse* resp) {
    v1::FetchLinkResponseRequest req;
    req.set_slot_id(slot_id);
    return devices_->FetchLinkResponse(Ctx("").get(), req, resp);
  }

  // A Link request for a new device of `owner` with `secret_byte` as its
  // secret, using owner's identity key (a linked device shares it).
  v1::LinkRequest LinkRequestFor(const User& owner, const std::string& token,
                                 const std::string& name = "office desktop") {
    v1::LinkRequest req;
    req.set_link_token(token);
    req.set_device_secret(std::string(32, 'n'));
    req.set_registration_id(222);
    req.set_name(name);
    v1::DeviceKeys* keys = req.mutable_keys();
    keys->set_identity_key(owner.keys->identity_key());
    auto spk = owner.keys->MakeSignedPreKey(7);
    keys->mutable_signed_prekey()->set_id(spk.id);
    keys->mutable_signed_prekey()->set_public_key(spk.public_key);
    keys->mutable_signed_prekey()->set_signature(spk.signature);
    return req;
  }

  grpc::Status Link(const v1::LinkRequest& req, v1::LinkResponse* resp = nullptr) {
    v1::LinkResponse ignored;
    return devices_->Link(Ctx("").get(), req, resp ? resp : &ignored);
  }

  // Runs the whole relay for `owner`; returns the new device's header.
  std::string LinkSecondDevice(const User& owner, const std::string& name = "office desktop") {
    v1::CreateLinkSlotResponse slot = OpenSlot(owner);
    EXPECT_TRUE(Post(slot.slot_id()).ok());
    EXPECT_TRUE(Put(owner, slot.slot_id(), "sealed").ok());
    v1::FetchLinkResponseResponse fetched;
    EXPECT_TRUE(Fetch(slot.slot_id(), &fetched).ok());
    v1::LinkResponse linked;
    grpc::Status s = Link(LinkRequestFor(owner, slot.link_token(), name), &linked);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return absl::StrCat("Sotto ", owner.handle, ".", linked.device_id(), ":",
                        absl::BytesToHexString(std::string(32, 'n')));
  }

  std::vector<std::string> DeviceNames(const User& owner) {
    v1::ListDevicesResponse listed;
    grpc::Status s = devices_->List(Ctx(owner.Header()).get(), v1::ListDevicesRequest(), &listed);
    EXPECT_TRUE(s.ok()) << Describe(s);
    std::vector<std::string> out;
    for (const v1::DeviceInfo& d : listed.devices()) {
      out.push_back(absl::StrCat(d.device_id(), ":", d.name()));
    }
    return out;
  }

  grpc::Status RemoveDevice(const std::string& header, uint32_t device_id) {
    v1::RemoveDeviceRequest remove;
    remove.set_device_id(device_id);
    v1::RemoveDeviceResponse removed;
    return devices_->Remove(Ctx(header).get(), remove, &removed);
  }

  // The audit trail as printed lines; fails the test if the chain is broken.
  std::vector<std::string> AuditLines() {
    auto op = v1::Operator::NewStub(
        grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    v1::ReadAuditResponse resp;
    grpc::Status s = op->ReadAudit(&ctx, v1::ReadAuditRequest(), &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    absl::StatusOr<SecretKey> key =
        LoadKeyFile(ResolveKeyFilePaths(dir_.path() + "/db", {}).audit_key, /*create=*/false);
    EXPECT_TRUE(key.ok()) << key.status();
    if (!key.ok()) return {};
    AuditChainVerifier verifier(&*key);
    std::vector<std::string> lines;
    for (const auto& row : resp.entries()) {
      EXPECT_TRUE(verifier.Add(row.key(), row.value()).ok());
      auto e = DecodeAuditEntry(row.key(), row.value());
      EXPECT_TRUE(e.ok()) << e.status();
      if (e.ok()) lines.push_back(FormatAuditEntry(*e));
    }
    return lines;
  }

  static bool AnyContains(const std::vector<std::string>& lines, const std::string& a,
                          const std::string& b) {
    for (const std::string& l : lines) {
      if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return true;
    }
    return false;
  }

  std::unique_ptr<v1::Devices::Stub> devices_;
};

TEST_F(RpcDevicesTest, TheRelayCarriesKeyAndCiphertextAndLinkAddsANamedDevice) {
  User ana = Register("ana");
  v1::CreateLinkSlotResponse slot = OpenSlot(ana);
  EXPECT_EQ(slot.slot_id().size(), 16u);
  EXPECT_EQ(slot.link_token().size(), 32u);
  EXPECT_EQ(slot.expires_at_ms(), clock_.NowMillis() + 10 * 60 * 1000);

  v1::GetLinkRequestRequest get;
  get.set_slot_id(slot.slot_id());
  v1::GetLinkRequestResponse request;
  ASSERT_TRUE(devices_->GetLinkRequest(Ctx(ana.Header()).get(), get, &request).ok());
  EXPECT_FALSE(request.posted());
  v1::FetchLinkResponseResponse fetched;
  ASSERT_TRUE(Fetch(slot.slot_id(), &fetched).ok());
  EXPECT_FALSE(fetched.ready());

  ASSERT_TRUE(Post(slot.slot_id(), std::string(32, 'K'), std::string(32, 'M')).ok());
  ASSERT_TRUE(devices_->GetLinkRequest(Ctx(ana.Header()).get(), get, &request).ok());
  EXPECT_TRUE(request.posted());
  EXPECT_EQ(request.ephemeral_public_key(), std::string(32, 'K'));
  EXPECT_EQ(request.mac(), std::string(32, 'M'));

  ASSERT_TRUE(Put(ana, slot.slot_id(), "sealed provisioning").ok());
  ASSERT_TRUE(Fetch(slot.slot_id(), &fetched).ok());
  EXPECT_TRUE(fetched.ready());
  EXPECT_EQ(fetched.ciphertext(), "sealed provisioning");
  // Deleted as it was fetched.
  EXPECT_THAT(Fetch(slot.slot_id(), &fetched), GrpcIs(grpc::StatusCode::NOT_FOUND, "no such"));

  v1::LinkResponse linked;
  ASSERT_TRUE(Link(LinkRequestFor(ana, slot.link_token()), &linked).ok());
  EXPECT_EQ(linked.handle(), "ana");
  EXPECT_EQ(linked.device_id(), 2u);
  EXPECT_THAT(DeviceNames(ana), ElementsAre("1:", "2:office desktop"));
  // The new device's own credentials work at once.
  v1::WhoAmIResponse who;
  const std::string header2 =
      absl::StrCat("Sotto ana.2:", absl::BytesToHexString(std::string(32, 'n')));
  ASSERT_TRUE(accounts_->WhoAmI(Ctx(header2).get(), v1::WhoAmIRequest(), &who).ok());
  EXPECT_EQ(who.device_id(), 2u);
}

TEST_F(RpcDevicesTest, ListShowsLinkedTimeAndLastSeenHourOfOwnDevicesOnly) {
  User ana = Register("ana");
  User bob = Register("bob");
  LinkSecondDevice(ana);
  v1::ListDevicesResponse listed;
  ASSERT_TRUE(devices_->List(Ctx(ana.Header()).get(), v1::ListDevicesRequest(), &listed).ok());
  ASSERT_EQ(listed.devices_size(), 2);
  EXPECT_EQ(listed.devices(1).linked_at_ms(), clock_.NowMillis());
  // Device 1 just called: seen this hour (wall clock, to the hour).
  EXPECT_GT(listed.devices(0).last_seen_hour_ms(), 0);
  EXPECT_EQ(listed.devices(0).last_seen_hour_ms() % (3600 * 1000), 0);
  // Bob sees only his own device.
  EXPECT_THAT(DeviceNames(bob), ElementsAre("1:"));
}

TEST_F(RpcDevicesTest, ACodeWorksOnceAndExpiresAfterTenMinutes) {
  User ana = Register("ana");
  v1::CreateLinkSlotResponse slot = OpenSlot(ana);
  ASSERT_TRUE(Post(slot.slot_id()).ok());
  EXPECT_THAT(Post(slot.slot_id()),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "already answered"));
  ASSERT_TRUE(Put(ana, slot.slot_id(), "c").ok());
  EXPECT_THAT(Put(ana, slot.slot_id(), "c"),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "already answered"));
  ASSERT_TRUE(Link(LinkRequestFor(ana, slot.link_token())).ok());
  EXPECT_THAT(Link(LinkRequestFor(ana, slot.link_token())),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "link token unknown, used or expired"));

  v1::CreateLinkSlotResponse late = OpenSlot(ana);
  clock_.Advance(10 * 60 * 1000);
  EXPECT_THAT(Post(late.slot_id()), GrpcIs(grpc::StatusCode::NOT_FOUND, "expired"));
  EXPECT_THAT(Link(LinkRequestFor(ana, late.link_token())),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "link token unknown"));
  EXPECT_THAT(DeviceNames(ana), ElementsAre("1:", "2:office desktop"));
}

TEST_F(RpcDevicesTest, MalformedAndOversizedRequestsNameTheField) {
  User ana = Register("ana");
  v1::CreateLinkSlotResponse slot = OpenSlot(ana);
  EXPECT_THAT(Post("short"), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "slot_id must be 16"));
  EXPECT_THAT(Post(slot.slot_id(), "k"),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "ephemeral_public_key must be 32"));
  EXPECT_THAT(Post(slot.slot_id(), std::string(32, 'k'), std::string(33, 'm')),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "mac must be 32"));
  ASSERT_TRUE(Post(slot.slot_id()).ok());
  EXPECT_THAT(Put(ana, slot.slot_id(), ""),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "ciphertext"));
  EXPECT_THAT(Put(ana, slot.slot_id(), std::string(kMaxProvisioningBytes + 1, 'x')),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "ciphertext must be 1..1048576"));
  v1::FetchLinkResponseResponse fetched;
  EXPECT_THAT(Fetch("", &fetched), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "slot_id"));

  v1::LinkRequest bad_name = LinkRequestFor(ana, slot.link_token(), std::string(65, 'n'));
  EXPECT_THAT(Link(bad_name),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "name must be at most 64"));
  v1::LinkRequest control = LinkRequestFor(ana, slot.link_token(), "desk\x1b[2J");
  EXPECT_THAT(Link(control), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "control characters"));
  v1::LinkRequest short_secret = LinkRequestFor(ana, slot.link_token());
  short_secret.set_device_secret("x");
  EXPECT_THAT(Link(short_secret), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "device_secret"));
  v1::LinkRequest short_token = LinkRequestFor(ana, "x");
  EXPECT_THAT(Link(short_token), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "link_token"));
  v1::LinkRequest other_key = LinkRequestFor(ana, slot.link_token());
  sotto::testing::SignalTestKeys stranger;
  other_key.mutable_keys()->set_identity_key(stranger.identity_key());
  EXPECT_THAT(Link(other_key),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "not the account's identity key"));
  EXPECT_THAT(DeviceNames(ana), ElementsAre("1:"));
}

TEST_F(RpcDevicesTest, AuthenticatedCallsRefuseCallersWithoutCredentials) {
  User ana = Register("ana");
  v1::CreateLinkSlotResponse slot = OpenSlot(ana);
  v1::ListDevicesResponse listed;
  EXPECT_EQ(devices_->List(Ctx("").get(), v1::ListDevicesRequest(), &listed).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::RemoveDeviceRequest remove;
  remove.set_device_id(1);
  v1::RemoveDeviceResponse removed;
  EXPECT_EQ(devices_->Remove(Ctx("").get(), remove, &removed).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::CreateLinkSlotResponse created;
  EXPECT_EQ(
      devices_->CreateLinkSlot(Ctx("").get(), v1::CreateLinkSlotRequest(), &created).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  v1::GetLinkRequestRequest get;
  get.set_slot_id(slot.slot_id());
  v1::GetLinkRequestResponse got;
  EXPECT_EQ(devices_->GetLinkRequest(Ctx("").get(), get, &got).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A wrong secret for ana's device is no better than none.
  v1::PutLinkResponseRequest put;
  put.set_slot_id(slot.slot_id());
  put.set_ciphertext("c");
  v1::PutLinkResponseResponse ignored;
  const std::string wrong =
      absl::StrCat("Sotto ana.1:", absl::BytesToHexString(std::string(32, 'w')));
  EXPECT_EQ(devices_->PutLinkResponse(Ctx(wrong).get(), put, &ignored).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RpcDevicesTest, AnotherAccountCannotTouchTheSlotOrTheDevices) {
  User ana = Register("ana");
  User bob = Register("bob");
  LinkSecondDevice(ana);
  v1::CreateLinkSlotResponse slot = OpenSlot(ana);
  ASSERT_TRUE(Post(slot.slot_id()).ok());
  v1::GetLinkRequestRequest get;
  get.set_slot_id(slot.slot_id());
  v1::GetLinkRequestResponse got;
  EXPECT_THAT(devices_->GetLinkRequest(Ctx(bob.Header()).get(), get, &got),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such link slot"));
  EXPECT_THAT(Put(bob, slot.slot_id(), "forged"),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such link slot"));
  v1::CancelLinkSlotRequest cancel;
  cancel.set_slot_id(slot.slot_id());
  v1::CancelLinkSlotResponse cancelled;
  ASSERT_TRUE(devices_->CancelLinkSlot(Ctx(bob.Header()).get(), cancel, &cancelled).ok());
  // Bob's cancel did nothing to ana's slot.
  EXPECT_TRUE(Put(ana, slot.slot_id(), "real").ok());
  // Bob's Remove acts on his own account only: ana's device 2 is not his.
  v1::RemoveDeviceRequest remove;
  remove.set_device_id(2);
  v1::RemoveDeviceResponse removed;
  EXPECT_THAT(devices_->Remove(Ctx(bob.Header()).get(), remove, &removed),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "account bob has no device 2"));
  EXPECT_THAT(DeviceNames(ana), ElementsAre("1:", "2:office desktop"));
}

TEST_F(RpcDevicesTest, ARemovedDeviceIsRefusedAtOnceAndSendersAreToldItIsGone) {
  User ana = Register("ana");
  User bob = Register("bob");
  const std::string second = LinkSecondDevice(ana);
  v1::RemoveDeviceRequest remove;
  remove.set_device_id(2);
  v1::RemoveDeviceResponse removed;
  ASSERT_TRUE(devices_->Remove(Ctx(ana.Header()).get(), remove, &removed).ok());
  v1::WhoAmIResponse who;
  EXPECT_EQ(accounts_->WhoAmI(Ctx(second).get(), v1::WhoAmIRequest(), &who).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(DeviceNames(ana), ElementsAre("1:"));
  // A sender who still encrypts for device 2 learns it is gone.
  v1::SendRequest send = TextTo(ana, 1, "x");
  v1::OutgoingEnvelope* e = send.add_envelopes();
  e->set_device_id(2);
  e->set_registration_id(222);
  e->set_type(v1::ENVELOPE_TYPE_CIPHERTEXT);
  e->set_ciphertext("y");
  EXPECT_THAT(Send(bob, send), GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "extra [2]"));
  // The last device cannot be removed; an unknown one is NOT_FOUND.
  remove.set_device_id(1);
  EXPECT_THAT(devices_->Remove(Ctx(ana.Header()).get(), remove, &removed),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "only device"));
  remove.set_device_id(0);
  EXPECT_THAT(devices_->Remove(Ctx(ana.Header()).get(), remove, &removed),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "device_id"));
}

TEST_F(RpcDevicesTest, ADeviceMayRemoveItself) {
  User ana = Register("ana");
  const std::string second = LinkSecondDevice(ana);
  v1::RemoveDeviceRequest remove;
  remove.set_device_id(2);
  v1::RemoveDeviceResponse removed;
  ASSERT_TRUE(devices_->Remove(Ctx(second).get(), remove, &removed).ok());
  v1::ListDevicesResponse listed;
  EXPECT_EQ(devices_->List(Ctx(second).get(), v1::ListDevicesRequest(), &listed).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RpcDevicesTest, UnauthenticatedLinkingCallsAreRateLimitedPerAddress) {
  RateLimitOptions limits = rate_limits_;
  limits.link_relay = {3, 1};
  RestartWith(limits);
  devices_ = v1::Devices::NewStub(channel_);
  const std::string nowhere(16, 'z');
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(Post(nowhere), GrpcIs(grpc::StatusCode::NOT_FOUND, "no such"));
  }
  EXPECT_THAT(Post(nowhere), GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "device-linking"));
  v1::FetchLinkResponseResponse fetched;
  EXPECT_THAT(Fetch(nowhere, &fetched),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "device-linking"));
}

TEST_F(RpcDevicesTest, AnAccountHasAtMostThreeOpenCodes) {
  User ana = Register("ana");
  for (int i = 0; i < 3; ++i) OpenSlot(ana);
  v1::CreateLinkSlotResponse slot;
  EXPECT_THAT(devices_->CreateLinkSlot(Ctx(ana.Header()).get(), v1::CreateLinkSlotRequest(), &slot),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "link codes open"));
}

TEST_F(RpcDevicesTest, CodesMadeAndCancelledOverAndOverAreRateLimitedPerAccount) {
  RateLimitOptions limits = rate_limits_;
  limits.link_codes_per_account = {3, 1};
  RestartWith(limits);
  devices_ = v1::Devices::NewStub(channel_);
  User ana = Register("ana");
  User bob = Register("bob");
  for (int i = 0; i < 3; ++i) {
    v1::CancelLinkSlotRequest cancel;
    cancel.set_slot_id(OpenSlot(ana).slot_id());
    v1::CancelLinkSlotResponse cancelled;
    ASSERT_TRUE(devices_->CancelLinkSlot(Ctx(ana.Header()).get(), cancel, &cancelled).ok());
  }
  v1::CreateLinkSlotResponse slot;
  EXPECT_THAT(devices_->CreateLinkSlot(Ctx(ana.Header()).get(), v1::CreateLinkSlotRequest(), &slot),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many link codes"));
  // Another account's budget is its own.
  EXPECT_FALSE(OpenSlot(bob).slot_id().empty());
}

TEST_F(RpcDevicesTest, ARemovedDevicesStreamEndsAtOnceAndItsIdIsNeverReused) {
  User ana = Register("ana");
  User bob = Register("bob");
  const std::string second = LinkSecondDevice(ana);
  // The stolen laptop (device 2) reads live.
  auto ctx = Ctx(second);
  auto reader = messages_->Subscribe(ctx.get(), v1::SubscribeRequest());
  v1::SubscribeEvent event;
  ASSERT_TRUE(reader->Read(&event) && event.drained());
  ASSERT_TRUE(RemoveDevice(ana.Header(), 2).ok());
  // Its stream ends at once, saying why (before the fix it stayed open).
  while (reader->Read(&event)) {
    EXPECT_FALSE(event.has_envelope()) << "a removed device's stream streamed an envelope";
  }
  EXPECT_THAT(reader->Finish(), GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "ana.2 was removed"));

  // The next device linked gets a new id, never the removed one's, so
  // nothing keyed by ana.2 reaches it.
  LinkSecondDevice(ana, "new phone");
  EXPECT_THAT(DeviceNames(ana), ElementsAre("1:", "3:new phone"));
  v1::SendRequest send = TextTo(ana, 1, "for device 1");
  v1::OutgoingEnvelope* e = send.add_envelopes();
  e->set_device_id(3);
  e->set_registration_id(222);
  e->set_type(v1::ENVELOPE_TYPE_CIPHERTEXT);
  e->set_ciphertext("for device 3");
  ASSERT_TRUE(Send(bob, send).ok());
  // An id the account ever used stays used after a restart too.
  ASSERT_TRUE(RemoveDevice(ana.Header(), 3).ok());
  RestartWith(rate_limits_);
  devices_ = v1::Devices::NewStub(channel_);
  LinkSecondDevice(ana, "tablet");
  EXPECT_THAT(DeviceNames(ana), ElementsAre("1:", "4:tablet"));

  std::vector<std::string> audit = AuditLines();
  EXPECT_TRUE(AnyContains(audit, "device.linked", "device=2"));
  EXPECT_TRUE(AnyContains(audit, "device.removed", "device=2"));
  EXPECT_TRUE(AnyContains(audit, "device.linked", "device=3"));
  EXPECT_TRUE(AnyContains(audit, "device.removed", "device=3"));
}

TEST_F(RpcDevicesTest, ALinkCodeDiesWithTheDeviceThatOpenedIt) {
  User ana = Register("ana");
  const std::string second = LinkSecondDevice(ana);
  // Device 2 opens a code and keeps its link token; then it is removed.
  v1::CreateLinkSlotResponse slot;
  ASSERT_TRUE(
      devices_->CreateLinkSlot(Ctx(second).get(), v1::CreateLinkSlotRequest(), &slot).ok());
  ASSERT_TRUE(RemoveDevice(ana.Header(), 2).ok());
  EXPECT_THAT(Post(slot.slot_id()), GrpcIs(grpc::StatusCode::NOT_FOUND, "no such link slot"));
  EXPECT_THAT(Link(LinkRequestFor(ana, slot.link_token(), "thief's desktop")),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, ""));
  EXPECT_THAT(DeviceNames(ana), ElementsAre("1:"));
  // Device 1's own codes are untouched.
  v1::CreateLinkSlotResponse mine = OpenSlot(ana);
  ASSERT_TRUE(Link(LinkRequestFor(ana, mine.link_token())).ok());
}

TEST_F(RpcDevicesTest, ARemovedDevicesSendLaterMessagesNeverGoOut) {
  User ana = Register("ana");
  User bob = Register("bob");
  const std::string second = LinkSecondDevice(ana);
  v1::SendRequest later = TextTo(bob, 9, "sent from the stolen laptop");
  later.set_deliver_at_ms(clock_.NowMillis() + 3600 * 1000);
  v1::SendResponse held;
  grpc::Status s = messages_->Send(Ctx(second).get(), later, &held);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_TRUE(RemoveDevice(ana.Header(), 2).ok());
  clock_.Advance(2 * 3600 * 1000);
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  EXPECT_THAT(Queue(bob), ::testing::IsEmpty());
  // Ana's device 1 still sends later as before.
  v1::SendRequest mine = TextTo(bob, 10, "from ana's phone");
  mine.set_deliver_at_ms(clock_.NowMillis() + 1000);
  ASSERT_TRUE(Send(ana, mine).ok());
  clock_.Advance(2000);
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  EXPECT_THAT(Queue(bob), ElementsAre(::testing::EndsWith(":from ana's phone")));
}

TEST_F(RpcDevicesTest, ABadLinkRequestDoesNotUseUpTheCode) {
  User ana = Register("ana");
  v1::CreateLinkSlotResponse slot = OpenSlot(ana);
  v1::LinkRequest bad_signature = LinkRequestFor(ana, slot.link_token());
  std::string sig = bad_signature.keys().signed_prekey().signature();
  sig[0] ^= 1;
  bad_signature.mutable_keys()->mutable_signed_prekey()->set_signature(sig);
  EXPECT_THAT(Link(bad_signature), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "signature"));
  v1::LinkRequest bad_registration = LinkRequestFor(ana, slot.link_token());
  bad_registration.set_registration_id(0);
  EXPECT_THAT(Link(bad_registration),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "registration_id"));
  v1::LinkRequest other_key = LinkRequestFor(ana, slot.link_token());
  sotto::testing::SignalTestKeys stranger;
  other_key.mutable_keys()->set_identity_key(stranger.identity_key());
  EXPECT_THAT(Link(other_key),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "not the account's identity key"));
  // The same code still links the corrected request.
  v1::LinkResponse linked;
  grpc::Status s = Link(LinkRequestFor(ana, slot.link_token()), &linked);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(linked.device_id(), 2u);
}

TEST_F(RpcDevicesTest, ADeactivatedAccountGainsNoDevice) {
  User ana = Register("ana");
  v1::CreateLinkSlotResponse slot = OpenSlot(ana);
  auto op = v1::Operator::NewStub(
      grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  v1::AccountActionRequest req;
  req.set_handle("ana");
  v1::AccountActionResponse resp;
  ASSERT_TRUE(op->DeactivateAccount(&ctx, req, &resp).ok());
  EXPECT_THAT(Link(LinkRequestFor(ana, slot.link_token())),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "deactivated"));
}

}  // namespace
}  // namespace sotto::server::rpc

namespace sotto::server::rpc {
namespace {

// A SYNC send (sent transcripts, read state) stays inside one account: to
// the caller's own handle, for its other devices exactly, never scheduled;
// its bundles come from GetBundle of one's own handle.
class RpcSyncTest : public RpcDevicesTest {
 protected:
  static v1::SendRequest SyncTo(const User& owner, int id, const std::vector<uint32_t>& devices) {
    v1::SendRequest req;
    req.set_recipient(owner.handle);
    req.set_message_id(MessageId(id));
    req.set_kind(v1::SEND_KIND_SYNC);
    for (uint32_t device : devices) {
      v1::OutgoingEnvelope* e = req.add_envelopes();
      e->set_device_id(device);
      e->set_registration_id(device == 1 ? owner.registration_id : 222);
      e->set_type(v1::ENVELOPE_TYPE_CIPHERTEXT);
      e->set_ciphertext("transcript");
    }
    return req;
  }
};

TEST_F(RpcSyncTest, ASyncReachesTheAccountsOtherDevicesOnly) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  const std::string second = LinkSecondDevice(ana);
  // Bundles of one's own handle: the other device only.
  v1::GetBundleRequest bundle_req;
  bundle_req.set_user(ana.handle);
  v1::GetBundleResponse bundle;
  ASSERT_TRUE(keys_->GetBundle(Ctx(ana.Header()).get(), bundle_req, &bundle).ok());
  ASSERT_EQ(bundle.devices_size(), 1);
  EXPECT_EQ(bundle.devices(0).device_id(), 2u);

  ASSERT_TRUE(Send(ana, SyncTo(ana, 1, {2})).ok());
  v1::FetchRequest fetch;
  v1::FetchResponse fetched;
  ASSERT_TRUE(messages_->Fetch(Ctx(second).get(), fetch, &fetched).ok());
  ASSERT_EQ(fetched.envelopes_size(), 1);
  EXPECT_EQ(fetched.envelopes(0).sender(), "ana");
  EXPECT_EQ(fetched.envelopes(0).sender_device(), 1u);
  // Nothing for the sending device itself.
  EXPECT_THAT(Queue(ana), ::testing::IsEmpty());

  EXPECT_THAT(Send(ana, SyncTo(ana, 2, {1, 2})),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "extra [1]"));
  EXPECT_THAT(Send(ana, SyncTo(ana, 3, {})), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "1..16"));
  v1::SendRequest to_bob = SyncTo(ana, 4, {2});
  to_bob.set_recipient(bob.handle);
  EXPECT_THAT(Send(ana, to_bob), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "own handle ana"));
  v1::SendRequest later = SyncTo(ana, 5, {2});
  later.set_deliver_at_ms(clock_.NowMillis() + 3600000);
  EXPECT_THAT(Send(ana, later), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "cannot be scheduled"));
  v1::SendRequest unknown = SyncTo(ana, 6, {2});
  unknown.set_kind(static_cast<v1::SendKind>(3));
  EXPECT_THAT(Send(ana, unknown), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "send kind 3"));
  // A message (not a sync) to oneself is still refused.
  v1::SendRequest note = SyncTo(ana, 7, {2});
  note.set_kind(v1::SEND_KIND_MESSAGE);
  EXPECT_THAT(Send(ana, note), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "is the caller"));
  // No credentials, no sync.
  v1::SendResponse resp;
  EXPECT_EQ(messages_->Send(Ctx("").get(), SyncTo(ana, 8, {2}), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Only the first one was queued.
  ASSERT_TRUE(messages_->Fetch(Ctx(second).get(), fetch, &fetched).ok());
  EXPECT_EQ(fetched.envelopes_size(), 1);
}

}  // namespace
}  // namespace sotto::server::rpc
