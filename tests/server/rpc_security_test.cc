// The gRPC surface of the server: rate limits, the audit trail as the
// operator reads it, retention, deactivation and account deletion.

#include "server/app/key_files.h"
#include "tests/server/rpc_fixture.h"

namespace sotto::server::rpc {
namespace {

// Rate limits, and the audit trail as the operator reads it.
class RpcSecurityTest : public RpcFakeClockTest {
 protected:
  // Every stored audit entry, read over the operator socket.
  std::vector<KeyValue> AuditRaw() {
    auto op = v1::Operator::NewStub(
        grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    v1::ReadAuditRequest req;
    v1::ReadAuditResponse resp;
    grpc::Status s = op->ReadAudit(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    std::vector<KeyValue> out;
    for (const auto& e : resp.entries()) out.push_back(KeyValue{e.key(), e.value()});
    return out;
  }

  // The audit trail as printed lines; fails the test if the chain is broken.
  std::vector<std::string> AuditLines() {
    // The server made its audit key beside the data directory (DATA_DIR.audit-key).
    absl::StatusOr<SecretKey> key =
        LoadKeyFile(ResolveKeyFilePaths(dir_.path() + "/db", {}).audit_key, /*create=*/false);
    EXPECT_TRUE(key.ok()) << key.status();
    if (!key.ok()) return {};
    AuditChainVerifier verifier(&*key);
    std::vector<std::string> lines;
    for (const KeyValue& row : AuditRaw()) {
      EXPECT_TRUE(verifier.Add(row.key, row.value).ok());
      auto e = DecodeAuditEntry(row.key, row.value);
      EXPECT_TRUE(e.ok()) << e.status();
      if (e.ok()) lines.push_back(FormatAuditEntry(*e));
    }
    return lines;
  }

  static bool AnyContains(const std::vector<std::string>& lines, const std::string& a,
                          const std::string& b = "") {
    for (const std::string& l : lines) {
      if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return true;
    }
    return false;
  }

  // The RetryInfo detail of `s`, or -1.
  static int64_t RetryAfter(const grpc::Status& s) {
    google::rpc::Status rich;
    if (!rich.ParseFromString(s.error_details())) return -1;
    for (const auto& any : rich.details()) {
      v1::RetryInfo info;
      if (any.UnpackTo(&info)) return info.retry_after_ms();
    }
    return -1;
  }
};

TEST_F(RpcSecurityTest, RegistrationIsLimitedPerAddressAndSaysWhenToRetry) {
  RateLimitOptions limits;
  limits.registration = {3, 60};  // 3 at once, then one a minute
  RestartWith(limits);
  Register("ana");      // 1 (the enrolment code is issued in-process)
  Register("client1");  // 2
  Register("client2");  // 3
  User late = NewUser("client3", 103);
  v1::RegisterResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = accounts_->Register(&ctx, RegisterRequestFor(late, 1), &resp);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "retry after 60 s")) << Describe(s);
  EXPECT_EQ(RetryAfter(s), 60'000);
  EXPECT_TRUE(AnyContains(AuditLines(), "rate.limited", "limit=registration"));
  // A flood of refusals is one audit entry (each is a synced write), until
  // the address succeeds again.
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext again;
    EXPECT_EQ(accounts_->Register(&again, RegisterRequestFor(late, 1), &resp).error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  auto limited_entries = [this] {
    std::vector<std::string> lines = AuditLines();
    return std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
      return l.find("limit=registration") != std::string::npos;
    });
  };
  EXPECT_EQ(limited_entries(), 1);
  clock_.Advance(60'000);
  Register("client3");
  User later = NewUser("client4", 104);
  grpc::ClientContext refused;
  EXPECT_EQ(accounts_->Register(&refused, RegisterRequestFor(later, 1), &resp).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(limited_entries(), 2);
}

TEST_F(RpcSecurityTest, FailedAuthenticationIsLimitedPerAddressAndAudited) {
  RateLimitOptions limits;
  limits.failed_auth = {3, 60};
  RestartWith(limits);
  User ana = Register("ana");
  User wrong = NewUser("ana", 100);
  wrong.secret = std::string(kDeviceSecretBytes, '\x01');
  v1::WhoAmIResponse r;
  for (int i = 0; i < 3; ++i) {
    grpc::Status s = accounts_->WhoAmI(Ctx(wrong.Header()).get(), v1::WhoAmIRequest(), &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(s);
  }
  // The address's budget is spent: a wrong secret is told when to retry.
  // (Issue 19: the right secret is no longer refused with it; see
  // RpcMembershipTest for the neighbours.)
  grpc::Status s = accounts_->WhoAmI(Ctx(wrong.Header()).get(), v1::WhoAmIRequest(), &r);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "failed authentications"));
  EXPECT_GT(RetryAfter(s), 0);
  s = accounts_->WhoAmI(Ctx(ana.Header()).get(), v1::WhoAmIRequest(), &r);
  EXPECT_TRUE(s.ok()) << Describe(s);
  clock_.Advance(60'000);
  s = accounts_->WhoAmI(Ctx(wrong.Header()).get(), v1::WhoAmIRequest(), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << Describe(s);

  std::vector<std::string> lines = AuditLines();
  EXPECT_TRUE(AnyContains(lines, "auth.failed actor=ana.1 subject=ana source=ipv4:127.0.0.1"));
  EXPECT_TRUE(AnyContains(lines, "rate.limited", "limit=failed_auth"));
  // No secret, right or wrong, is in the trail.
  for (const KeyValue& row : AuditRaw()) {
    EXPECT_EQ(row.value.find(wrong.secret), std::string::npos);
    EXPECT_EQ(row.value.find(ana.secret), std::string::npos);
    EXPECT_EQ(row.value.find(absl::BytesToHexString(wrong.secret)), std::string::npos);
  }
}

TEST_F(RpcSecurityTest, BundleFetchesAreLimitedPerRequester) {
  RateLimitOptions limits;
  limits.bundle_per_requester = {2, 60};
  RestartWith(limits);
  User ana = Register("ana");
  User bob = Register("bob", 101, 10);
  v1::GetBundleRequest req;
  req.set_user("bob");
  v1::GetBundleResponse resp;
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(keys_->GetBundle(Ctx(ana.Header()).get(), req, &resp).ok());
  }
  grpc::Status s = keys_->GetBundle(Ctx(ana.Header()).get(), req, &resp);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "retry after"));
  // Another requester has its own budget.
  User dr = Register("dr-two");
  Link(dr, bob);
  EXPECT_TRUE(keys_->GetBundle(Ctx(dr.Header()).get(), req, &resp).ok());
}

TEST_F(RpcSecurityTest, NobodyCanDrainAnothersOneTimePreKeys) {
  RateLimitOptions limits;
  limits.bundle_per_target = {2, 60};
  RestartWith(limits);
  User ana = Register("ana");
  User dr = Register("dr-two");
  User bob = Register("bob", 101, 10);
  Link(dr, bob);
  v1::GetBundleRequest req;
  req.set_user("bob");
  auto fetch = [&](const User& who) {
    v1::GetBundleResponse resp;
    grpc::Status s = keys_->GetBundle(Ctx(who.Header()).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    EXPECT_EQ(resp.devices_size(), 1);
    return resp.devices_size() == 1 && resp.devices(0).has_one_time_prekey();
  };
  EXPECT_TRUE(fetch(ana));
  EXPECT_TRUE(fetch(ana));
  // bob's hand-out budget is spent: everyone still gets a usable bundle (the
  // signed prekey), but no more one-time prekeys leave.
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(fetch(ana));
    EXPECT_FALSE(fetch(dr));
  }
  v1::CountPreKeysResponse count;
  ASSERT_TRUE(keys_->CountPreKeys(Ctx(bob.Header()).get(), v1::CountPreKeysRequest(), &count).ok());
  EXPECT_EQ(count.one_time_prekey_count(), 8u);
  clock_.Advance(30'000);  // half a token
  EXPECT_FALSE(fetch(dr));
  clock_.Advance(30'000);
  EXPECT_TRUE(fetch(dr));
}

TEST_F(RpcSecurityTest, SendsAreLimitedPerDevice) {
  RateLimitOptions limits;
  limits.sends_per_device = {2, 3600};  // one a second after the burst
  RestartWith(limits);
  User ana = Register("ana");
  User bob = Register("bob", 101);
  EXPECT_TRUE(Send(ana, TextTo(bob, 1, "a")).ok());
  EXPECT_TRUE(Send(ana, TextTo(bob, 2, "b")).ok());
  grpc::Status s = Send(ana, TextTo(bob, 3, "c"));
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many sends from this device"));
  EXPECT_EQ(RetryAfter(s), 1000);
  // bob's device has its own budget.
  EXPECT_TRUE(Send(bob, TextTo(ana, 1, "x")).ok());
  // A flood of refusals is audited at the 1st, 10th and 100th, with the
  // count: the attack's scale is kept, not one entry per refused call.
  for (int i = 0; i < 119; ++i) {
    EXPECT_EQ(Send(ana, TextTo(bob, 3, "c")).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  auto refusal_entries = [&] {
    std::vector<std::string> found;
    for (const std::string& line : AuditLines()) {
      if (line.find("limit=sends_per_device") != std::string::npos) {
        found.push_back(line.substr(line.find("refused=")));
      }
    }
    return found;
  };
  EXPECT_THAT(refusal_entries(), ElementsAre("refused=1", "refused=10", "refused=100"));
  clock_.Advance(1000);
  EXPECT_TRUE(Send(ana, TextTo(bob, 3, "c")).ok());
  EXPECT_THAT(Queue(bob), ElementsAre("1:a", "2:b", "3:c"));
  // A success ends the episode: the next refusal is the first of a new one.
  EXPECT_FALSE(Send(ana, TextTo(bob, 4, "d")).ok());
  EXPECT_THAT(refusal_entries(),
              ElementsAre("refused=1", "refused=10", "refused=100", "refused=1"));
}

TEST_F(RpcSecurityTest, AuditRecordsWhoDidWhatButNoCodesOrSecrets) {
  User ana = Register("ana", 100, 3);
  std::string invite = InviteFrom(ana.Header());
  User bob = NewUser("bob", 101);
  v1::RegisterRequest req = RegisterRequestFor(bob, 2);
  req.set_invite_code(invite);
  v1::RegisterResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(accounts_->Register(&ctx, req, &resp).ok());
  v1::UploadKeysRequest upload;
  for (const auto& k : bob.keys->MakeOneTimePreKeys(50, 4)) {
    auto* otk = upload.mutable_keys()->add_one_time_prekeys();
    otk->set_id(k.id);
    otk->set_public_key(k.public_key);
  }
  v1::UploadKeysResponse uploaded;
  ASSERT_TRUE(keys_->Upload(Ctx(bob.Header()).get(), upload, &uploaded).ok());
  v1::EndLinkRequest end;
  end.set_peer("bob");
  v1::EndLinkResponse ended;
  ASSERT_TRUE(care_->EndLink(Ctx(ana.Header()).get(), end, &ended).ok());

  std::vector<std::string> lines = AuditLines();
  EXPECT_TRUE(AnyContains(lines, "enrolment.issued actor=operator subject=ana"));
  EXPECT_TRUE(AnyContains(lines, "enrolment.used actor=ana.1 subject=ana"));
  EXPECT_TRUE(AnyContains(lines, "account.registered actor=ana.1 subject=ana", "role=therapist"));
  EXPECT_TRUE(AnyContains(lines, "invite.created actor=ana.1"));
  EXPECT_TRUE(AnyContains(lines, "invite.redeemed actor=bob.1 subject=bob", "therapist=ana"));
  EXPECT_TRUE(AnyContains(lines, "link.made actor=bob.1", "therapist=ana client=bob"));
  EXPECT_TRUE(AnyContains(lines, "keys.uploaded actor=bob.1", "one_time_prekeys_added=4"));
  EXPECT_TRUE(AnyContains(lines, "link.ended actor=ana.1 subject=bob"));
  EXPECT_TRUE(AnyContains(lines, "source=ipv4:127.0.0.1"));
  std::string bare_invite = invite;
  bare_invite.erase(std::remove(bare_invite.begin(), bare_invite.end(), '-'), bare_invite.end());
  for (const KeyValue& row : AuditRaw()) {
    EXPECT_EQ(row.value.find(bare_invite), std::string::npos);
    EXPECT_EQ(row.value.find(invite), std::string::npos);
    EXPECT_EQ(row.value.find(bob.secret), std::string::npos);
  }
}

// The caller's address reaches every entry a call causes (the handler
// passes it to the domain in a CallContext, whichever thread runs it);
// the operator's actions have none.
TEST_F(RpcSecurityTest, EveryEntryACallCausesNamesItsSource) {
  User ana = Register("ana", 100, 3);
  User bob = NewUser("bob", 101);
  v1::RegisterRequest req = RegisterRequestFor(bob, 2);
  v1::RegisterResponse resp;
  ASSERT_TRUE(accounts_->Register(Ctx("").get(), req, &resp).ok());
  v1::UploadKeysRequest upload;
  for (const auto& k : bob.keys->MakeOneTimePreKeys(50, 1)) {
    auto* otk = upload.mutable_keys()->add_one_time_prekeys();
    otk->set_id(k.id);
    otk->set_public_key(k.public_key);
  }
  v1::UploadKeysResponse uploaded;
  ASSERT_TRUE(keys_->Upload(Ctx(bob.Header()).get(), upload, &uploaded).ok());
  v1::EndLinkRequest end;
  end.set_peer("bob");
  v1::EndLinkResponse ended;
  ASSERT_TRUE(care_->EndLink(Ctx(ana.Header()).get(), end, &ended).ok());
  v1::WhoAmIResponse who;
  EXPECT_FALSE(accounts_->WhoAmI(Ctx("Sotto bob.1:00").get(), v1::WhoAmIRequest(), &who).ok());
  v1::DeleteAccountRequest del;
  del.set_confirm_handle("bob");
  v1::DeleteAccountResponse deleted;
  ASSERT_TRUE(accounts_->DeleteAccount(Ctx(bob.Header()).get(), del, &deleted).ok());

  std::vector<std::string> lines = AuditLines();
  ASSERT_GE(lines.size(), 8u);
  for (const std::string& line : lines) {
    if (line.find("actor=operator") != std::string::npos) {
      EXPECT_EQ(line.find("source="), std::string::npos) << line;
    } else {
      EXPECT_THAT(line, ::testing::HasSubstr("source=ipv4:127.0.0.1")) << line;
    }
  }
  EXPECT_TRUE(AnyContains(lines, "account.deleted actor=bob.1", "source=ipv4:127.0.0.1"));
  EXPECT_TRUE(AnyContains(lines, "auth.failed", "source=ipv4:127.0.0.1"));
}

TEST_F(RpcSecurityTest, UndeliveredEnvelopesExpireAfterRetentionAcrossRestart) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  v1::SendResponse first;
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "a"), &first).ok());
  ASSERT_TRUE(Send(ana, TextTo(bob, 2, "b")).ok());
  clock_.Advance(29LL * 24 * 3600 * 1000);
  ASSERT_TRUE(Send(ana, TextTo(bob, 3, "c")).ok());
  // The sweep at start-up finds nothing old enough yet.
  server_.reset();
  StartServer();
  EXPECT_THAT(Queue(bob), ElementsAre("1:a", "2:b", "3:c"));
  clock_.Advance(24LL * 3600 * 1000);  // a and b are 30 days old
  server_.reset();
  StartServer();  // sweeps at start, in the background
  std::vector<std::string> left;
  for (int i = 0; i < 200; ++i) {
    left = Queue(bob);
    if (left.size() == 1) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(left, ElementsAre("3:c"));
  // The sender is told nothing about it: a retry of the first message is
  // still the same duplicate answer as before.
  v1::SendResponse retry;
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "a"), &retry).ok());
  EXPECT_EQ(retry.duplicate(),
            clock_.NowMillis() - first.server_time_ms() < kIdempotencyRetentionMs);
}

TEST_F(RpcSecurityTest, DeactivatedAccountCannotSignInOrReceiveUntilReactivated) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  auto op = v1::Operator::NewStub(
      grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
  auto act = [&](bool off, const std::string& handle) {
    grpc::ClientContext ctx;
    v1::AccountActionRequest req;
    req.set_handle(handle);
    v1::AccountActionResponse resp;
    return off ? op->DeactivateAccount(&ctx, req, &resp) : op->ReactivateAccount(&ctx, req, &resp);
  };
  ASSERT_TRUE(act(true, "bob").ok());
  EXPECT_EQ(act(true, "bob").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(act(true, "nobody").error_code(), grpc::StatusCode::NOT_FOUND);
  v1::WhoAmIResponse who;
  grpc::Status s = accounts_->WhoAmI(Ctx(bob.Header()).get(), v1::WhoAmIRequest(), &who);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "account bob is deactivated"));
  // Without bob's secret nobody learns that bob is deactivated.
  User guess = NewUser("bob", 101);
  guess.secret = std::string(kDeviceSecretBytes, '\x02');
  s = accounts_->WhoAmI(Ctx(guess.Header()).get(), v1::WhoAmIRequest(), &who);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message().find("deactivated"), std::string::npos) << s.error_message();
  EXPECT_THAT(Send(ana, TextTo(bob, 1, "hi")),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "bob is deactivated"));
  ASSERT_TRUE(act(false, "bob").ok());
  EXPECT_TRUE(accounts_->WhoAmI(Ctx(bob.Header()).get(), v1::WhoAmIRequest(), &who).ok());
  EXPECT_TRUE(Send(ana, TextTo(bob, 2, "hi")).ok());
  std::vector<std::string> lines = AuditLines();
  EXPECT_TRUE(AnyContains(lines, "account.deactivated actor=operator subject=bob"));
  EXPECT_TRUE(AnyContains(lines, "account.reactivated actor=operator subject=bob"));
}

TEST_F(RpcSecurityTest, DeleteAccountRemovesKeysQueuesAndLinksButTheAuditKeepsIt) {
  User ana = Register("ana");
  User bob = Register("bob", 101, 5);
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "for bob")).ok());
  v1::DeleteAccountRequest req;
  v1::DeleteAccountResponse resp;
  req.set_confirm_handle("ana");  // not the caller
  EXPECT_EQ(accounts_->DeleteAccount(Ctx(bob.Header()).get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_confirm_handle("bob");
  grpc::Status s = accounts_->DeleteAccount(Ctx(bob.Header()).get(), req, &resp);
  ASSERT_TRUE(s.ok()) << Describe(s);

  v1::WhoAmIResponse who;
  EXPECT_EQ(accounts_->WhoAmI(Ctx(bob.Header()).get(), v1::WhoAmIRequest(), &who).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // ana keeps no link naming bob (issue 22: it used to stay, marked ended
  // by bob), and can no longer reach bob's keys.
  v1::ListLinksResponse links;
  ASSERT_TRUE(care_->ListLinks(Ctx(ana.Header()).get(), v1::ListLinksRequest(), &links).ok());
  EXPECT_EQ(links.links_size(), 0);
  v1::GetBundleRequest breq;
  breq.set_user("bob");
  v1::GetBundleResponse bundle;
  EXPECT_FALSE(keys_->GetBundle(Ctx(ana.Header()).get(), breq, &bundle).ok());
  EXPECT_FALSE(Send(ana, TextTo(bob, 2, "x")).ok());
  // The handle is free again, and the new bob starts with nothing.
  User bob2 = Register("bob", 102, 1);
  EXPECT_THAT(Queue(bob2), ::testing::IsEmpty());
  v1::CountPreKeysResponse count;
  ASSERT_TRUE(
      keys_->CountPreKeys(Ctx(bob2.Header()).get(), v1::CountPreKeysRequest(), &count).ok());
  EXPECT_EQ(count.one_time_prekey_count(), 1u);
  EXPECT_TRUE(AnyContains(AuditLines(), "account.deleted actor=bob.1 subject=bob"));
}

TEST_F(RpcSecurityTest, ARefusedChangeLeavesNoAuditEntry) {
  Register("ana");
  Register("bob", 101);
  size_t before = AuditRaw().size();
  // A taken handle: the registration (and the invite's redemption) is not
  // written, so neither is audited.
  User again = NewUser("bob", 102);
  v1::RegisterRequest req = RegisterRequestFor(again, 1);  // creates an invite
  v1::RegisterResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(accounts_->Register(&ctx, req, &resp).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  std::vector<std::string> lines = AuditLines();
  ASSERT_EQ(lines.size(), before + 1);
  EXPECT_THAT(lines.back(), ::testing::HasSubstr("invite.created"));
}

}  // namespace
}  // namespace sotto::server::rpc
