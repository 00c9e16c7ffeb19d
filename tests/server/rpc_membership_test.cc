// Who is on Sotto is nobody's business (issue 19): the answers a caller gets
// about handles it has no link with, registration without a valid code,
// self-sends, and rate limits that stop a guesser without locking out the
// neighbours who share its address. All against the real server on a
// loopback port (so every caller shares the address 127.0.0.1, as a clinic
// behind one NAT does).

#include "absl/strings/str_replace.h"
#include "tests/server/rpc_fixture.h"

namespace sotto::server::rpc {
namespace {

// Code, message and details, byte for byte.
std::string Bytes(const grpc::Status& s) {
  return absl::StrCat(s.error_code(), "|", s.error_message(), "|",
                      absl::BytesToHexString(s.error_details()));
}

class RpcMembershipTest : public RpcFakeClockTest {
 protected:
  grpc::Status RegisterWith(const v1::RegisterRequest& req) {
    v1::RegisterResponse resp;
    return accounts_->Register(Ctx("").get(), req, &resp);
  }

  // A registration request for `handle` (role from the fixture's naming)
  // carrying `code` as its enrolment or invite code.
  v1::RegisterRequest RequestWithCode(const std::string& handle, const std::string& code) {
    User u = NewUser(handle, 300);
    v1::RegisterRequest req = RegisterRequestFor(u, 1);
    if (IsTherapist(handle)) {
      req.set_enrolment_code(code);
    } else {
      req.set_invite_code(code);
    }
    return req;
  }

  // What `caller` is told when it sends to, fetches the bundle of, or reads
  // the policy of `target`, with the target's handle replaced by "X" (the
  // caller typed it, so naming it tells nothing).
  std::string Answers(const User& caller, const std::string& target) {
    User to = NewUser(target, 100);
    grpc::Status sent = Send(caller, TextTo(to, 9, "hello"));
    v1::GetBundleRequest bundle_req;
    bundle_req.set_user(target);
    v1::GetBundleResponse bundle;
    grpc::Status fetched = keys_->GetBundle(Ctx(caller.Header()).get(), bundle_req, &bundle);
    v1::GetPolicyRequest policy_req;
    policy_req.set_therapist(target);
    v1::GetPolicyResponse policy;
    grpc::Status policed = care_->GetPolicy(Ctx(caller.Header()).get(), policy_req, &policy);
    return absl::StrReplaceAll(absl::StrCat("Send ", Bytes(sent), "\nGetBundle ", Bytes(fetched),
                                            "\nGetPolicy ", Bytes(policed)),
                               {{target, "X"}});
  }
};

TEST_F(RpcMembershipTest, RegisterWithAWrongCodeAnswersAlikeForTakenAndFreeHandles) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  // A client's invite code, wrong, for a taken and for a free handle.
  grpc::Status taken = RegisterWith(RequestWithCode("bob", "2222-2222-2222"));
  grpc::Status free = RegisterWith(RequestWithCode("zoe", "2222-2222-2222"));
  EXPECT_THAT(taken, GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "invite code is not valid"));
  EXPECT_EQ(Bytes(taken), Bytes(free));
  // A therapist's enrolment code: wrong, or right but issued for another
  // handle, for a taken and for a free handle.
  auto other = server_->IssueEnrolmentCode("dr-other");
  ASSERT_TRUE(other.ok()) << other.status();
  const std::string taken_wrong = Bytes(RegisterWith(RequestWithCode("ana", "3333-3333-3333")));
  EXPECT_EQ(taken_wrong, Bytes(RegisterWith(RequestWithCode("dr-free", "3333-3333-3333"))));
  EXPECT_EQ(taken_wrong, Bytes(RegisterWith(RequestWithCode("ana", other->code))));
  EXPECT_EQ(taken_wrong, Bytes(RegisterWith(RequestWithCode("dr-free", other->code))));
  EXPECT_THAT(RegisterWith(RequestWithCode("ana", "3333-3333-3333")),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "enrolment code is not valid"));
  // Only a caller with a valid code learns that a handle is taken.
  EXPECT_THAT(RegisterWith(RequestWithCode("bob", InviteFrom(ana.Header()))),
              GrpcIs(grpc::StatusCode::ALREADY_EXISTS, "handle bob is already taken"));
}

TEST_F(RpcMembershipTest, ProbesOfTakenHandlesCountAgainstTheWrongCodeBudget) {
  Register("ana");
  Register("bob", 101);
  for (int i = 0; i < kMaxCodeFailures; ++i) {
    ASSERT_THAT(RegisterWith(RequestWithCode("bob", "2222-2222-2222")),
                GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "invite code is not valid"))
        << i;
  }
  // The address's budget is spent by probes of a taken handle alone; the
  // next probe, of a taken or a free handle, is told to stop, alike.
  grpc::Status taken = RegisterWith(RequestWithCode("ana", "2222-2222-2222"));
  EXPECT_THAT(taken, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many wrong codes"));
  EXPECT_EQ(Bytes(taken), Bytes(RegisterWith(RequestWithCode("dr-free", "2222-2222-2222"))));
}

TEST_F(RpcMembershipTest, AHandleWithoutALinkGetsOneAnswerWhateverItIs) {
  User ana = Register("ana");       // therapist
  User bob = Register("bob", 101);  // ana's client
  User lee = Register("dr-lee");    // another therapist
  User cal = NewUser("cal", 102);   // lee's client, not ana's
  {
    v1::RegisterRequest req = RegisterRequestFor(cal, 1);
    req.set_invite_code(InviteFrom(lee.Header()));
    ASSERT_TRUE(RegisterWith(req).ok());
  }
  // A therapist asking about a client of someone else, a therapist, and a
  // free handle; a client asking about another client, a therapist it is
  // not linked with, and a free handle.
  const std::string from_therapist = Answers(ana, "nobody");
  EXPECT_THAT(from_therapist, HasSubstr("Send 7|no care link between ana and X"));
  EXPECT_EQ(Answers(ana, "cal"), from_therapist);
  EXPECT_EQ(Answers(ana, "dr-lee"), from_therapist);
  const std::string from_client = Answers(bob, "nobody");
  EXPECT_THAT(from_client, HasSubstr("GetBundle 7|no care link between bob and X"));
  EXPECT_EQ(Answers(bob, "cal"), from_client);
  EXPECT_EQ(Answers(bob, "dr-lee"), from_client);
  // A link makes the difference, not the account: ana still reaches bob.
  EXPECT_TRUE(Send(ana, TextTo(bob, 1, "hi")).ok());
}

TEST_F(RpcMembershipTest, SelfSendsAreRefusedClearlyAndOwnBundlesHoldNoOwnDevice) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  for (const User* who : {&ana, &bob}) {
    EXPECT_THAT(Send(*who, TextTo(*who, 1, "note to self")),
                GrpcIs(grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat("recipient ", who->handle, " is the caller")));
    // One's own bundles are one's OTHER devices (for sent transcripts):
    // none here, and no one-time prekey taken.
    v1::GetBundleRequest req;
    req.set_user(who->handle);
    v1::GetBundleResponse resp;
    ASSERT_TRUE(keys_->GetBundle(Ctx(who->Header()).get(), req, &resp).ok());
    EXPECT_EQ(resp.devices_size(), 0);
    // Nothing was queued and no one-time prekey was handed out.
    EXPECT_THAT(Queue(*who), ::testing::IsEmpty());
    v1::CountPreKeysResponse count;
    ASSERT_TRUE(
        keys_->CountPreKeys(Ctx(who->Header()).get(), v1::CountPreKeysRequest(), &count).ok());
    EXPECT_EQ(count.one_time_prekey_count(), 2u);
  }
}

TEST_F(RpcMembershipTest, AGuesserOfSecretsDoesNotLockOutANeighbourOnTheSameAddress) {
  RateLimitOptions limits;
  limits.failed_auth = {3, 60};
  RestartWith(limits);
  User ana = Register("ana");
  User bob = Register("bob", 101);
  User guess = NewUser("bob", 101);
  guess.secret = std::string(kDeviceSecretBytes, '\x01');
  v1::WhoAmIResponse who;
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(accounts_->WhoAmI(Ctx(guess.Header()).get(), v1::WhoAmIRequest(), &who),
                GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "credentials rejected"))
        << i;
  }
  // The guesser is told to stop...
  EXPECT_THAT(accounts_->WhoAmI(Ctx(guess.Header()).get(), v1::WhoAmIRequest(), &who),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "failed authentications"));
  for (int i = 0; i < 5; ++i) {
    // ...and may go on at one guess a minute (the bucket's refill), the
    // rest refused; at one call every 30 s it keeps the address's budget
    // empty...
    clock_.Advance(30'000);
    EXPECT_NE(accounts_->WhoAmI(Ctx(guess.Header()).get(), v1::WhoAmIRequest(), &who).error_code(),
              grpc::StatusCode::OK)
        << i;
    // ...while bob and ana, on the same address, keep working.
    ASSERT_TRUE(accounts_->WhoAmI(Ctx(bob.Header()).get(), v1::WhoAmIRequest(), &who).ok()) << i;
    EXPECT_TRUE(Send(ana, TextTo(bob, 10 + i, "still here")).ok()) << i;
  }
  EXPECT_EQ(Queue(bob).size(), 5u);
}

TEST_F(RpcMembershipTest, AGuesserOfCodesDoesNotBlockANeighboursRightCode) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  // The guesser claims bob's handle, registered or not.
  for (int i = 0; i < kMaxCodeFailures; ++i) {
    ASSERT_THAT(RegisterWith(RequestWithCode("bob", "2222-2222-2222")),
                GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "invite code is not valid"))
        << i;
  }
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(30'000);
    // The guesser, one wrong code every 30 s, is told to stop...
    EXPECT_THAT(RegisterWith(RequestWithCode("bob", "2222-2222-2222")),
                GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many wrong codes"))
        << i;
  }
  // ...and a neighbour behind the same address registers with the invite
  // their therapist gave them.
  v1::RegisterResponse resp;
  EXPECT_TRUE(
      accounts_->Register(Ctx("").get(), RequestWithCode("kim", InviteFrom(ana.Header())), &resp)
          .ok());
  EXPECT_EQ(resp.linked_therapist(), "ana");
  // A client accepting an invite answers for its own account, not for the
  // address the guesser spent nor for the probes of its handle's name.
  User lee = Register("dr-lee");
  v1::AcceptInviteRequest accept;
  accept.set_code("4444-4444-4444");
  v1::AcceptInviteResponse accepted;
  EXPECT_THAT(care_->AcceptInvite(Ctx(bob.Header()).get(), accept, &accepted),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "invite code is not valid"));
  accept.set_code(InviteFrom(lee.Header()));
  EXPECT_TRUE(care_->AcceptInvite(Ctx(bob.Header()).get(), accept, &accepted).ok());
}

TEST_F(RpcMembershipTest, AFloodOfWrongCodesIsRefusedUncheckedPastTheServerWideAllowance) {
  User ana = Register("ana");
  // Cheap failures (no keys): each counts, and past the address's budget
  // each spends the server-wide allowance of checked attempts.
  v1::RegisterRequest junk;
  junk.set_handle("eve");
  junk.set_role(v1::ROLE_CLIENT);
  junk.set_invite_code("2222-2222-2222");
  for (int i = 0; i < kMaxCodeFailures + kMaxOverBudgetCodeFailures; ++i) {
    ASSERT_NE(RegisterWith(junk).error_code(), grpc::StatusCode::OK) << i;
  }
  // The allowance is spent: even a right code from this address is refused
  // unchecked (and stays unused) until the window passes.
  const std::string invite = InviteFrom(ana.Header());
  EXPECT_THAT(RegisterWith(RequestWithCode("kim", invite)),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many wrong codes"));
  clock_.Advance(kCodeFailureWindowMs);
  EXPECT_TRUE(RegisterWith(RequestWithCode("kim", invite)).ok());
}

}  // namespace
}  // namespace sotto::server::rpc
