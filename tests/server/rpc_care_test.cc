// The gRPC surface of the server: the operator socket, care links, the
// therapist's queue, send-later and the code-guessing limits.

#include "tests/server/rpc_fixture.h"

namespace sotto::server::rpc {
namespace {

TEST_F(RpcTest, OperatorIsUnimplementedOnTcpAndServedOnTheSocket) {
  v1::EnrolTherapistRequest req;
  req.set_handle("dr-new");
  v1::EnrolTherapistResponse resp;
  auto tcp = v1::Operator::NewStub(channel_);
  EXPECT_THAT(tcp->EnrolTherapist(Ctx("").get(), req, &resp),
              GrpcIs(grpc::StatusCode::UNIMPLEMENTED, ""));
  ASSERT_FALSE(server_->operator_address().empty());
  auto unix_stub = v1::Operator::NewStub(
      grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
  grpc::Status s = unix_stub->EnrolTherapist(Ctx("").get(), req, &resp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(resp.code().size(), 14u);
  // The counters too: only on the socket, even with a device's credentials.
  User ana = Register("ana");
  v1::StatsResponse stats;
  EXPECT_THAT(tcp->Stats(Ctx(ana.Header()).get(), v1::StatsRequest(), &stats),
              GrpcIs(grpc::StatusCode::UNIMPLEMENTED, ""));
  ASSERT_TRUE(unix_stub->Stats(Ctx("").get(), v1::StatsRequest(), &stats).ok());
  EXPECT_EQ(stats.sends_failed_by_code_size(), 17);
}

TEST_F(RpcTest, NewRpcsNeedAuthAndTheRightRole) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  v1::CreateInviteResponse invite;
  EXPECT_THAT(care_->CreateInvite(Ctx("").get(), v1::CreateInviteRequest(), &invite),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED, ""));
  EXPECT_THAT(care_->CreateInvite(Ctx(bob.Header()).get(), v1::CreateInviteRequest(), &invite),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "therapist"));
  v1::ListQueueResponse list;
  EXPECT_THAT(queue_->List(Ctx(bob.Header()).get(), v1::ListQueueRequest(), &list),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "therapist"));
  v1::SetPolicyRequest policy;
  v1::SetPolicyResponse set;
  EXPECT_THAT(care_->SetPolicy(Ctx(ana.Header()).get(), policy, &set),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "policy"));
  v1::CancelScheduledRequest cancel;
  v1::CancelScheduledResponse cancelled;
  EXPECT_THAT(messages_->CancelScheduled(Ctx(bob.Header()).get(), cancel, &cancelled),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "message_id"));
  v1::GetBundleRequest bundle;
  bundle.set_user("nobody");
  v1::GetBundleResponse got;
  EXPECT_THAT(keys_->GetBundle(Ctx(bob.Header()).get(), bundle, &got),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "no care link"));
}

TEST_F(RpcFakeClockTest, SendLaterIsNotReleasedAfterTheLinkEnded) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  User cid = Register("cid", 333);
  const int64_t at = clock_.NowMillis() + 3600 * 1000;
  v1::SendRequest later = TextTo(ana, 1, "written before the end");
  later.set_deliver_at_ms(at);
  v1::SendResponse sent;
  ASSERT_TRUE(Send(bob, later, &sent).ok());
  EXPECT_EQ(sent.deliver_at_ms(), at);
  v1::SendRequest later2 = TextTo(ana, 2, "also before the end");
  later2.set_deliver_at_ms(at);
  ASSERT_TRUE(Send(cid, later2, &sent).ok());
  // bob ends the link himself; ana ends hers with cid.
  v1::EndLinkRequest end;
  v1::EndLinkResponse ended;
  end.set_peer("ana");
  ASSERT_TRUE(care_->EndLink(Ctx(bob.Header()).get(), end, &ended).ok());
  end.set_peer("cid");
  ASSERT_TRUE(care_->EndLink(Ctx(ana.Header()).get(), end, &ended).ok());
  // bob comes back with a new invite before the release.
  v1::AcceptInviteRequest accept;
  accept.set_code(InviteFrom(ana.Header()));
  v1::AcceptInviteResponse accepted;
  ASSERT_TRUE(care_->AcceptInvite(Ctx(bob.Header()).get(), accept, &accepted).ok());

  clock_.Set(at + 1);
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  EXPECT_THAT(Queue(ana), ElementsAre());
  v1::ListQueueRequest all;
  all.set_include_all(true);
  v1::ListQueueResponse list;
  ASSERT_TRUE(queue_->List(Ctx(ana.Header()).get(), all, &list).ok());
  EXPECT_EQ(list.entries_size(), 0);
  // Gone, not merely late.
  v1::CancelScheduledRequest cancel;
  cancel.set_message_id(MessageId(1));
  v1::CancelScheduledResponse cancelled;
  EXPECT_THAT(messages_->CancelScheduled(Ctx(bob.Header()).get(), cancel, &cancelled),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no scheduled message"));
}

// Issue 19 changed what a spent budget does: it used to refuse the right
// code too, which let one guesser behind a shared address lock everyone
// there out. Now the guesser's wrong codes are answered RESOURCE_EXHAUSTED
// and a right code still works (rpc_membership_test covers the neighbours).
TEST_F(RpcFakeClockTest, WrongInviteCodesAreLimitedPerAccountButTheRightOneStillLinks) {
  User ana = Register("ana");
  User lee = Register("dr-lee");
  User bob = Register("bob", 222);  // ana's client
  v1::AcceptInviteRequest wrong;
  wrong.set_code("2222-2222-2222");
  v1::AcceptInviteResponse r;
  for (int i = 0; i < kMaxCodeFailures; ++i) {
    ASSERT_THAT(care_->AcceptInvite(Ctx(bob.Header()).get(), wrong, &r),
                GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "invite code is not valid"))
        << i;
  }
  EXPECT_THAT(
      care_->AcceptInvite(Ctx(bob.Header()).get(), wrong, &r),
      GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many wrong codes; retry after 600 s"));
  v1::AcceptInviteRequest right;
  right.set_code(InviteFrom(lee.Header()));
  ASSERT_TRUE(care_->AcceptInvite(Ctx(bob.Header()).get(), right, &r).ok());
  EXPECT_EQ(r.therapist(), "dr-lee");
  // bob's failures counted against his account, not the address.
  User eve = NewUser("eve", 555);
  v1::RegisterRequest reg = RegisterRequestFor(eve, 0);
  v1::RegisterResponse registered;
  ASSERT_TRUE(accounts_->Register(Ctx("").get(), reg, &registered).ok());
  // An ALREADY_EXISTS (already linked) is not a wrong code.
  right.set_code(InviteFrom(ana.Header()));
  EXPECT_THAT(care_->AcceptInvite(Ctx(bob.Header()).get(), right, &r),
              GrpcIs(grpc::StatusCode::ALREADY_EXISTS, "already linked"));
}

TEST_F(RpcFakeClockTest, WrongEnrolmentCodesAreLimitedButTheRightOneStillRegisters) {
  auto code = server_->IssueEnrolmentCode("dr-lee");
  ASSERT_TRUE(code.ok()) << code.status();
  User lee = NewUser("dr-lee", 444);
  v1::RegisterRequest req = RegisterRequestFor(lee, 0);
  v1::RegisterResponse resp;
  req.set_enrolment_code("2222-2222-2222");
  for (int i = 0; i < kMaxCodeFailures; ++i) {
    ASSERT_THAT(accounts_->Register(Ctx("").get(), req, &resp),
                GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "enrolment code is not valid"))
        << i;
  }
  EXPECT_THAT(accounts_->Register(Ctx("").get(), req, &resp),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "retry after"));
  req.set_enrolment_code(code->code);
  EXPECT_TRUE(accounts_->Register(Ctx("").get(), req, &resp).ok());
}

// Every RPC added with care links, the queue, send-later and the operator
// socket checks the caller's credentials and role, and names what is wrong
// with its input; one test per RPC. Malformed input is sent by a caller of
// the right role.
class RpcChecksTest : public RpcTest {
 protected:
  using Call = std::function<grpc::Status(const std::string& header)>;

  void SetUp() override {
    RpcTest::SetUp();
    // Dozens of deliberate bad credentials from one address: lift the
    // failed-authentication limit (RpcSecurityTest covers it).
    RestartLifting(&RateLimitOptions::failed_auth);
    ana_ = Register("ana");
    bob_ = Register("bob", 222);
  }

  // No, wrong and malformed credentials are UNAUTHENTICATED, each naming
  // why. With a `wrong_role_header`, that caller is PERMISSION_DENIED with
  // `wrong_role_text`; without one, any role may call.
  void ExpectChecksAuth(const std::string& name, const Call& call,
                        const std::string& wrong_role_header = "",
                        const std::string& wrong_role_text = "") {
    User bob_wrong = NewUser("bob", 222);
    bob_wrong.secret[0] ^= 1;
    EXPECT_THAT(call(""), GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "missing authorization"))
        << name;
    EXPECT_THAT(call(bob_wrong.Header()),
                GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "credentials rejected"))
        << name;
    EXPECT_THAT(call("Sotto bob.1:zz"), GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "secret"))
        << name;
    if (!wrong_role_header.empty()) {
      EXPECT_THAT(call(wrong_role_header),
                  GrpcIs(grpc::StatusCode::PERMISSION_DENIED, wrong_role_text))
          << name;
    }
  }

  // A malformed request: INVALID_ARGUMENT naming `text`.
  static void ExpectInvalid(const std::string& name, const grpc::Status& status,
                            const std::string& text) {
    EXPECT_THAT(status, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, text)) << name;
  }

  static constexpr const char* kBadHandles[] = {"", "Bad Handle", "x", "9lives"};

  User ana_;  // a therapist
  User bob_;  // ana's client
};

TEST_F(RpcChecksTest, CreateInviteNeedsATherapistAndValidHoursInRange) {
  ExpectChecksAuth(
      "Care.CreateInvite",
      [&](const std::string& h) {
        v1::CreateInviteResponse r;
        return care_->CreateInvite(Ctx(h).get(), v1::CreateInviteRequest(), &r);
      },
      bob_.Header(), "only a therapist");
  v1::CreateInviteRequest req;
  req.set_valid_hours(kMaxCodeValidHours + 1);
  v1::CreateInviteResponse r;
  ExpectInvalid("CreateInvite valid_hours", care_->CreateInvite(Ctx(ana_.Header()).get(), req, &r),
                "valid_hours");
}

TEST_F(RpcChecksTest, AcceptInviteNeedsAClientAndACode) {
  ExpectChecksAuth(
      "Care.AcceptInvite",
      [&](const std::string& h) {
        v1::AcceptInviteRequest req;
        req.set_code("2222-2222-2223");
        v1::AcceptInviteResponse r;
        return care_->AcceptInvite(Ctx(h).get(), req, &r);
      },
      ana_.Header(), "only a client");
  v1::AcceptInviteRequest req;
  v1::AcceptInviteResponse r;
  ExpectInvalid("AcceptInvite empty code", care_->AcceptInvite(Ctx(bob_.Header()).get(), req, &r),
                "code is required");
}

TEST_F(RpcChecksTest, ListInvitesNeedsATherapistAndABoundedMax) {
  ExpectChecksAuth(
      "Care.ListInvites",
      [&](const std::string& h) {
        v1::ListInvitesResponse r;
        return care_->ListInvites(Ctx(h).get(), v1::ListInvitesRequest(), &r);
      },
      bob_.Header(), "only a therapist");
  v1::ListInvitesRequest req;
  req.set_max_results(kMaxListedInvites + 1);
  v1::ListInvitesResponse r;
  ExpectInvalid("ListInvites max_results", care_->ListInvites(Ctx(ana_.Header()).get(), req, &r),
                "max_results");
}

// Issue 18: a therapist sees their own invites and which were used — never
// another therapist's.
TEST_F(RpcChecksTest, ListInvitesShowsOnlyTheCallersOwnAndWhichWereUsed) {
  auto list = [&](const User& who) {
    v1::ListInvitesResponse r;
    grpc::Status s = care_->ListInvites(Ctx(who.Header()).get(), v1::ListInvitesRequest(), &r);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return r;
  };
  // bob registered with ana's invite (the fixture).
  v1::ListInvitesResponse anas = list(ana_);
  ASSERT_EQ(anas.invites_size(), 1);
  EXPECT_TRUE(anas.invites(0).used());
  EXPECT_EQ(anas.invites(0).used_by(), "bob");
  EXPECT_GT(anas.invites(0).used_ms(), 0);

  v1::CreateInviteResponse made;
  ASSERT_TRUE(care_->CreateInvite(Ctx(ana_.Header()).get(), v1::CreateInviteRequest(), &made).ok());
  ASSERT_EQ(made.invite_id().size(), 16u);
  anas = list(ana_);
  ASSERT_EQ(anas.invites_size(), 2);
  EXPECT_EQ(anas.invites(0).id(), made.invite_id());  // newest first
  EXPECT_FALSE(anas.invites(0).used());
  EXPECT_EQ(anas.invites(0).used_by(), "");
  EXPECT_EQ(anas.invites(0).expires_at_ms(), made.expires_at_ms());
  EXPECT_GT(anas.invites(0).created_ms(), 0);

  User other = Register("dr-other", 444);
  EXPECT_EQ(list(other).invites_size(), 0);  // none of ana's
  v1::CreateInviteResponse theirs;
  ASSERT_TRUE(
      care_->CreateInvite(Ctx(other.Header()).get(), v1::CreateInviteRequest(), &theirs).ok());
  v1::AcceptInviteRequest accept;
  accept.set_code(theirs.code());
  v1::AcceptInviteResponse accepted;
  ASSERT_TRUE(care_->AcceptInvite(Ctx(bob_.Header()).get(), accept, &accepted).ok());
  v1::ListInvitesResponse others = list(other);
  ASSERT_EQ(others.invites_size(), 1);
  EXPECT_EQ(others.invites(0).id(), theirs.invite_id());
  EXPECT_TRUE(others.invites(0).used());
  EXPECT_EQ(others.invites(0).used_by(), "bob");
  // ana's list did not change.
  anas = list(ana_);
  ASSERT_EQ(anas.invites_size(), 2);
  for (const v1::InviteInfo& i : anas.invites()) EXPECT_NE(i.id(), theirs.invite_id());
  EXPECT_FALSE(anas.invites(0).used());
}

TEST_F(RpcChecksTest, ListLinksNeedsCredentials) {
  ExpectChecksAuth("Care.ListLinks", [&](const std::string& h) {
    v1::ListLinksResponse r;
    return care_->ListLinks(Ctx(h).get(), v1::ListLinksRequest(), &r);
  });
}

TEST_F(RpcChecksTest, EndLinkNeedsCredentialsAndAValidPeerHandle) {
  ExpectChecksAuth("Care.EndLink", [&](const std::string& h) {
    v1::EndLinkRequest req;
    req.set_peer("nobody");
    v1::EndLinkResponse r;
    return care_->EndLink(Ctx(h).get(), req, &r);
  });
  for (const char* handle : kBadHandles) {
    v1::EndLinkRequest end;
    end.set_peer(handle);
    v1::EndLinkResponse ended;
    ExpectInvalid(absl::StrCat("EndLink peer '", handle, "'"),
                  care_->EndLink(Ctx(ana_.Header()).get(), end, &ended), "peer");
  }
}

TEST_F(RpcChecksTest, SetPolicyNeedsATherapistAndNamesTheBadField) {
  ExpectChecksAuth(
      "Care.SetPolicy",
      [&](const std::string& h) {
        v1::SetPolicyRequest req;
        req.mutable_policy()->set_time_zone("UTC");
        req.mutable_policy()->add_working_days(1);
        req.mutable_policy()->set_day_end_minute(600);
        req.mutable_policy()->set_reply_window_minutes(60);
        v1::SetPolicyResponse r;
        return care_->SetPolicy(Ctx(h).get(), req, &r);
      },
      bob_.Header(), "only a therapist");
  v1::SetPolicyRequest req;
  v1::SetPolicyResponse r;
  ExpectInvalid("SetPolicy no policy", care_->SetPolicy(Ctx(ana_.Header()).get(), req, &r),
                "policy is required");
  v1::ResponsePolicy* p = req.mutable_policy();
  p->set_time_zone("UTC");
  p->add_working_days(1);
  p->set_day_end_minute(600);
  p->set_reply_window_minutes(60);
  p->set_day_start_minute(5000);
  ExpectInvalid("SetPolicy day_start_minute", care_->SetPolicy(Ctx(ana_.Header()).get(), req, &r),
                "day_start_minute");
  p->set_day_start_minute(0);
  p->set_time_zone("Not/AZone");
  ExpectInvalid("SetPolicy time_zone", care_->SetPolicy(Ctx(ana_.Header()).get(), req, &r),
                "time_zone");
  p->set_time_zone("UTC");
  p->add_working_days(9);
  ExpectInvalid("SetPolicy working_days", care_->SetPolicy(Ctx(ana_.Header()).get(), req, &r),
                "working_days");
}

TEST_F(RpcChecksTest, GetPolicyNeedsCredentialsAndAValidTherapistHandle) {
  ExpectChecksAuth("Care.GetPolicy", [&](const std::string& h) {
    v1::GetPolicyRequest req;
    req.set_therapist("ana");
    v1::GetPolicyResponse r;
    return care_->GetPolicy(Ctx(h).get(), req, &r);
  });
  for (const char* handle : kBadHandles) {
    v1::GetPolicyRequest get;
    get.set_therapist(handle);
    v1::GetPolicyResponse got;
    ExpectInvalid(absl::StrCat("GetPolicy therapist '", handle, "'"),
                  care_->GetPolicy(Ctx(bob_.Header()).get(), get, &got), "therapist");
  }
}

TEST_F(RpcChecksTest, QueueListNeedsATherapist) {
  ExpectChecksAuth(
      "Queue.List",
      [&](const std::string& h) {
        v1::ListQueueResponse r;
        return queue_->List(Ctx(h).get(), v1::ListQueueRequest(), &r);
      },
      bob_.Header(), "therapist");
}

TEST_F(RpcChecksTest, SnoozeNeedsATherapistAValidClientAndAnUntilInRange) {
  ExpectChecksAuth(
      "Queue.Snooze",
      [&](const std::string& h) {
        v1::SnoozeRequest req;
        req.set_client("bob");
        req.set_until_ms(absl::ToUnixMillis(absl::Now()) + 3600 * 1000);
        v1::QueueEntry r;
        return queue_->Snooze(Ctx(h).get(), req, &r);
      },
      bob_.Header(), "therapist");
  const int64_t now = absl::ToUnixMillis(absl::Now());
  for (const char* handle : kBadHandles) {
    v1::SnoozeRequest snooze;
    snooze.set_client(handle);
    snooze.set_until_ms(now + 3600 * 1000);
    v1::QueueEntry entry;
    ExpectInvalid(absl::StrCat("Snooze client '", handle, "'"),
                  queue_->Snooze(Ctx(ana_.Header()).get(), snooze, &entry), "client");
  }
  for (int64_t until : {now - 1000, int64_t{0}, now + kMaxSnoozeAheadMs + 3600 * 1000}) {
    v1::SnoozeRequest snooze;
    snooze.set_client("bob");
    snooze.set_until_ms(until);
    v1::QueueEntry entry;
    ExpectInvalid(absl::StrCat("Snooze until ", until),
                  queue_->Snooze(Ctx(ana_.Header()).get(), snooze, &entry), "until_ms");
  }
}

TEST_F(RpcChecksTest, CloseNeedsATherapistAndAValidClient) {
  ExpectChecksAuth(
      "Queue.Close",
      [&](const std::string& h) {
        v1::CloseRequest req;
        req.set_client("bob");
        v1::QueueEntry r;
        return queue_->Close(Ctx(h).get(), req, &r);
      },
      bob_.Header(), "therapist");
  for (const char* handle : kBadHandles) {
    v1::CloseRequest close;
    close.set_client(handle);
    v1::QueueEntry entry;
    ExpectInvalid(absl::StrCat("Close client '", handle, "'"),
                  queue_->Close(Ctx(ana_.Header()).get(), close, &entry), "client");
  }
}

TEST_F(RpcChecksTest, ClaimNeedsATherapistAndAValidClient) {
  ExpectChecksAuth(
      "Queue.Claim",
      [&](const std::string& h) {
        v1::ClaimRequest req;
        req.set_client("bob");
        v1::QueueEntry r;
        return queue_->Claim(Ctx(h).get(), req, &r);
      },
      bob_.Header(), "therapist");
  for (const char* handle : kBadHandles) {
    v1::ClaimRequest claim;
    claim.set_client(handle);
    v1::QueueEntry entry;
    ExpectInvalid(absl::StrCat("Claim client '", handle, "'"),
                  queue_->Claim(Ctx(ana_.Header()).get(), claim, &entry), "client");
  }
}

TEST_F(RpcChecksTest, CancelScheduledNeedsCredentialsAndAMessageIdOfTheRightSize) {
  ExpectChecksAuth("Messages.CancelScheduled", [&](const std::string& h) {
    v1::CancelScheduledRequest req;
    req.set_message_id(MessageId(9));
    v1::CancelScheduledResponse r;
    return messages_->CancelScheduled(Ctx(h).get(), req, &r);
  });
  for (size_t len : {size_t{0}, kMessageIdBytes - 1, kMessageIdBytes + 1}) {
    v1::CancelScheduledRequest req;
    req.set_message_id(std::string(len, 'm'));
    v1::CancelScheduledResponse r;
    ExpectInvalid(absl::StrCat("CancelScheduled id of ", len),
                  messages_->CancelScheduled(Ctx(bob_.Header()).get(), req, &r),
                  absl::StrCat("message_id must be ", kMessageIdBytes, " bytes, got ", len));
  }
}

TEST_F(RpcChecksTest, EnrolTherapistNamesABadHandleOrValidHoursAndRefusesATakenHandle) {
  auto op = v1::Operator::NewStub(
      grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
  for (const char* handle : {"", "Bad Handle", "x"}) {
    v1::EnrolTherapistRequest req;
    req.set_handle(handle);
    v1::EnrolTherapistResponse r;
    ExpectInvalid(absl::StrCat("EnrolTherapist handle '", handle, "'"),
                  op->EnrolTherapist(Ctx("").get(), req, &r), "handle");
  }
  v1::EnrolTherapistRequest req;
  req.set_handle("dr-new");
  req.set_valid_hours(kMaxCodeValidHours + 1);
  v1::EnrolTherapistResponse r;
  ExpectInvalid("EnrolTherapist valid_hours", op->EnrolTherapist(Ctx("").get(), req, &r),
                "valid_hours");
  req.set_handle("ana");
  req.set_valid_hours(0);
  grpc::Status taken = op->EnrolTherapist(Ctx("").get(), req, &r);
  EXPECT_THAT(taken, GrpcIs(grpc::StatusCode::ALREADY_EXISTS, "ana is already registered"));
}

}  // namespace
}  // namespace sotto::server::rpc
