// The gRPC surface of closing an account (issue 22): deletion leaves nothing
// that names the person, deactivation and deletion end the handle's open
// streams, held messages are released only between active accounts and
// within the recipient's queue quota, and the link cap and invite rate limit.

#include "tests/server/rpc_fixture.h"

namespace sotto::server::rpc {
namespace {

using ::testing::IsEmpty;

class RpcClosureTest : public RpcFakeClockTest {
 protected:
  // Operator.DeactivateAccount / ReactivateAccount over the socket.
  grpc::Status SetDeactivated(const std::string& handle, bool off) {
    auto op = v1::Operator::NewStub(
        grpc::CreateChannel(server_->operator_address(), grpc::InsecureChannelCredentials()));
    v1::AccountActionRequest req;
    req.set_handle(handle);
    v1::AccountActionResponse resp;
    return off ? op->DeactivateAccount(Ctx("").get(), req, &resp)
               : op->ReactivateAccount(Ctx("").get(), req, &resp);
  }

  grpc::Status Delete(const User& user) {
    v1::DeleteAccountRequest req;
    req.set_confirm_handle(user.handle);
    v1::DeleteAccountResponse resp;
    return accounts_->DeleteAccount(Ctx(user.Header()).get(), req, &resp);
  }

  // "peer:STATE:ended_by" of the caller's links.
  std::vector<std::string> Links(const User& user) {
    v1::ListLinksResponse resp;
    grpc::Status s = care_->ListLinks(Ctx(user.Header()).get(), v1::ListLinksRequest(), &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    std::vector<std::string> out;
    for (const auto& l : resp.links()) {
      out.push_back(absl::StrCat(l.peer(), ":", v1::LinkState_Name(l.state()), ":", l.ended_by()));
    }
    return out;
  }

  // Registers `handle` as a client invited by `therapist`.
  User RegisterClientOf(const User& therapist, const std::string& handle, uint32_t reg_id) {
    const std::string keep = therapist_header_;
    therapist_header_ = therapist.Header();
    User u = Register(handle, reg_id);
    therapist_header_ = keep;
    return u;
  }

  grpc::Status Accept(const User& client, const std::string& code) {
    v1::AcceptInviteRequest req;
    req.set_code(code);
    v1::AcceptInviteResponse resp;
    return care_->AcceptInvite(Ctx(client.Header()).get(), req, &resp);
  }

  grpc::Status CreateInvite(const std::string& header, uint32_t valid_hours = 0) {
    v1::CreateInviteRequest req;
    req.set_valid_hours(valid_hours);
    v1::CreateInviteResponse resp;
    return care_->CreateInvite(Ctx(header).get(), req, &resp);
  }

  grpc::Status SendLater(const User& from, const User& to, int id, int64_t at) {
    v1::SendRequest req = TextTo(to, id, absl::StrCat("later ", id));
    req.set_deliver_at_ms(at);
    return Send(from, req);
  }

  grpc::Status Cancel(const User& sender, int id) {
    v1::CancelScheduledRequest req;
    req.set_message_id(MessageId(id));
    v1::CancelScheduledResponse resp;
    return messages_->CancelScheduled(Ctx(sender.Header()).get(), req, &resp);
  }

  // Fetches and acks the caller's whole queue; returns "seq:ciphertext".
  std::vector<std::string> Drain(const User& user) {
    v1::FetchRequest req;
    req.set_limit(kMaxFetchBatch);
    v1::FetchResponse resp;
    EXPECT_TRUE(messages_->Fetch(Ctx(user.Header()).get(), req, &resp).ok());
    v1::AckRequest ack;
    std::vector<std::string> out;
    for (const auto& e : resp.envelopes()) {
      ack.add_seqs(e.seq());
      out.push_back(absl::StrCat(e.seq(), ":", e.ciphertext()));
    }
    v1::AckResponse acked;
    EXPECT_TRUE(messages_->Ack(Ctx(user.Header()).get(), ack, &acked).ok());
    return out;
  }

  // Reads `stream` to its end (at most its deadline); returns its status and
  // counts the envelopes it still delivered.
  static grpc::Status ReadToEnd(Stream& stream, int* envelopes) {
    v1::SubscribeEvent event;
    while (stream.reader->Read(&event)) {
      if (event.has_envelope()) ++*envelopes;
    }
    return stream.reader->Finish();
  }
};

TEST_F(RpcClosureTest, DeletionLeavesNoLinkForTheNextOwnerOfTheHandleNorTheTherapist) {
  User ana = Register("ana");
  User bob = Register("bob", 101);  // ana's client
  User dr_lee = Register("dr-lee");
  ASSERT_THAT(Links(ana), ElementsAre("bob:LINK_ACTIVE:"));
  // ana holds a reply for bob, and an invite of hers is outstanding.
  const int64_t at = clock_.NowMillis() + 3600 * 1000;
  ASSERT_TRUE(SendLater(ana, bob, 1, at).ok());
  ASSERT_TRUE(Delete(bob).ok());

  // ana keeps no link, and no queue entry, naming bob.
  EXPECT_THAT(Links(ana), IsEmpty());
  v1::ListQueueRequest all;
  all.set_include_all(true);
  v1::ListQueueResponse queue;
  ASSERT_TRUE(queue_->List(Ctx(ana.Header()).get(), all, &queue).ok());
  EXPECT_EQ(queue.entries_size(), 0);

  // Someone else registers "bob" with dr-lee's invite: they see only that
  // link, and ana's held reply never reaches them.
  User bob2 = RegisterClientOf(dr_lee, "bob", 102);
  EXPECT_THAT(Links(bob2), ElementsAre("dr-lee:LINK_ACTIVE:"));
  EXPECT_THAT(Links(ana), IsEmpty());
  EXPECT_THAT(Cancel(ana, 1), GrpcIs(grpc::StatusCode::NOT_FOUND, "no scheduled message"));
  clock_.Set(at + 1);
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  EXPECT_THAT(Queue(bob2), IsEmpty());
}

TEST_F(RpcClosureTest, ADeletedTherapistsInvitesGoWithTheAccount) {
  User dr_gone = Register("dr-gone");
  User cid = Register("cid", 103);  // a client of dr-care
  const std::string code = InviteFrom(dr_gone.Header());
  ASSERT_TRUE(Delete(dr_gone).ok());
  EXPECT_THAT(Accept(cid, code), GrpcIs(grpc::StatusCode::PERMISSION_DENIED, kBadInviteCode));
  // Nor does it link anyone to the next "dr-gone".
  User dr_gone2 = Register("dr-gone");
  EXPECT_THAT(Accept(cid, code), GrpcIs(grpc::StatusCode::PERMISSION_DENIED, kBadInviteCode));
  EXPECT_THAT(Links(dr_gone2), IsEmpty());
}

TEST_F(RpcClosureTest, DeactivationEndsEveryOpenStreamOfTheHandle) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  User cid = Register("cid", 103);
  Stream bob_stream = SubscribeToEmptyQueue(*messages_, bob);
  Stream cid_stream = SubscribeToEmptyQueue(*messages_, cid);
  ASSERT_TRUE(AwaitOpenStreams(2));

  ASSERT_TRUE(SetDeactivated("bob", true).ok());
  // Reactivated at once and written to: the ended stream still gets nothing.
  ASSERT_TRUE(SetDeactivated("bob", false).ok());
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "after")).ok());
  int got = 0;
  EXPECT_THAT(ReadToEnd(bob_stream, &got),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "account bob is deactivated"));
  EXPECT_EQ(got, 0);
  // Other handles' streams go on.
  ASSERT_TRUE(Send(ana, TextTo(cid, 2, "for cid")).ok());
  EXPECT_EQ(ReadEnvelopes(*cid_stream.reader, 1).size(), 1u);
  CloseStream(std::move(cid_stream));

  // While deactivated, a new stream ends at once, and without the secret
  // nobody learns why.
  ASSERT_TRUE(SetDeactivated("bob", true).ok());
  EXPECT_THAT(AuthenticatedRpcs(ana)["Messages.Subscribe"](bob.Header()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "deactivated"));
  User guess = NewUser("bob", 101);
  guess.secret = std::string(kDeviceSecretBytes, '\x02');
  grpc::Status guessed = AuthenticatedRpcs(ana)["Messages.Subscribe"](guess.Header());
  EXPECT_EQ(guessed.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(guessed.error_message().find("deactivated"), std::string::npos);
}

TEST_F(RpcClosureTest, DeletionEndsTheOpenStreamsOfTheHandle) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  Stream stream = SubscribeToEmptyQueue(*messages_, bob);
  ASSERT_TRUE(AwaitOpenStreams(1));
  ASSERT_TRUE(Delete(bob).ok());
  int got = 0;
  EXPECT_THAT(ReadToEnd(stream, &got),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "account bob was deleted"));
  EXPECT_EQ(got, 0);
  EXPECT_TRUE(AwaitOpenStreams(0));
}

TEST_F(RpcClosureTest, AHeldMessageIsDroppedIfEitherEndIsDeactivatedAtRelease) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  User cid = Register("cid", 103);
  const int64_t at = clock_.NowMillis() + 3600 * 1000;
  ASSERT_TRUE(SendLater(ana, bob, 1, at).ok());  // to a recipient deactivated
  ASSERT_TRUE(SendLater(cid, ana, 2, at).ok());  // from a sender deactivated
  ASSERT_TRUE(SetDeactivated("bob", true).ok());
  ASSERT_TRUE(SetDeactivated("cid", true).ok());
  clock_.Set(at + 1);
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  ASSERT_TRUE(SetDeactivated("bob", false).ok());
  ASSERT_TRUE(SetDeactivated("cid", false).ok());
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  // Dropped, not kept for reactivation.
  EXPECT_THAT(Queue(bob), IsEmpty());
  EXPECT_THAT(Queue(ana), IsEmpty());
  EXPECT_THAT(Cancel(ana, 1), GrpcIs(grpc::StatusCode::NOT_FOUND, "no scheduled message"));
  EXPECT_THAT(Cancel(cid, 2), GrpcIs(grpc::StatusCode::NOT_FOUND, "no scheduled message"));

  // Between two active accounts it is released as before.
  ASSERT_TRUE(SendLater(ana, bob, 3, at + 3600 * 1000).ok());
  clock_.Set(at + 3600 * 1000 + 1);
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  EXPECT_EQ(Queue(bob).size(), 1u);
}

class RpcSmallQueueTest : public RpcClosureTest {
 protected:
  void SetUp() override {
    configure_server_ = [](ServerOptions& o) { o.mailbox.max_queue_depth = 2; };
    RpcClosureTest::SetUp();
  }
};

TEST_F(RpcSmallQueueTest, AHeldMessageWaitsForRoomInTheRecipientsQueue) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  const int64_t at = clock_.NowMillis() + 3600 * 1000;
  ASSERT_TRUE(SendLater(ana, bob, 1, at).ok());
  ASSERT_TRUE(Send(ana, TextTo(bob, 2, "a")).ok());
  ASSERT_TRUE(Send(ana, TextTo(bob, 3, "b")).ok());
  EXPECT_THAT(Send(ana, TextTo(bob, 4, "c")),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "is full"));

  clock_.Set(at + 1);
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  // Still held: the queue stays within its quota.
  EXPECT_EQ(Queue(bob).size(), 2u);
  EXPECT_EQ(Drain(bob).size(), 2u);
  // Room now, but it is tried again only kHeldRetryMs after the refusal.
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  EXPECT_THAT(Queue(bob), IsEmpty());
  clock_.Set(at + 1 + kHeldRetryMs);
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  std::vector<std::string> got = Queue(bob);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_THAT(got[0], HasSubstr("later 1"));
}

TEST_F(RpcSmallQueueTest, AHeldMessageStillWaitingCanBeCancelled) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  const int64_t at = clock_.NowMillis() + 1000;
  ASSERT_TRUE(SendLater(ana, bob, 1, at).ok());
  ASSERT_TRUE(Send(ana, TextTo(bob, 2, "a")).ok());
  ASSERT_TRUE(Send(ana, TextTo(bob, 3, "b")).ok());
  clock_.Set(at + 1);
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  ASSERT_TRUE(Cancel(ana, 1).ok());
  Drain(bob);
  clock_.Set(at + 1 + kHeldRetryMs);
  ASSERT_TRUE(server_->ReleaseDueNow().ok());
  EXPECT_THAT(Queue(bob), IsEmpty());
}

class RpcLinkCapTest : public RpcClosureTest {
 protected:
  void SetUp() override {
    configure_server_ = [](ServerOptions& o) { o.max_links_per_user = 2; };
    RpcClosureTest::SetUp();
  }
};

TEST_F(RpcLinkCapTest, CreateInviteIsRefusedAtTheCapNamingIt) {
  User ana = Register("ana");
  User bob = Register("bob", 101);
  ASSERT_TRUE(CreateInvite(ana.Header()).ok());  // 1 of 2
  User cid = Register("cid", 103);
  EXPECT_THAT(CreateInvite(ana.Header()),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "link cap 2"));
  // The older checks still come first.
  EXPECT_THAT(CreateInvite(""), GrpcIs(grpc::StatusCode::UNAUTHENTICATED, ""));
  EXPECT_THAT(CreateInvite(bob.Header()), GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "therapist"));
  EXPECT_THAT(CreateInvite(ana.Header(), kMaxCodeValidHours + 1),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "valid_hours"));
  // An ended link does not count.
  v1::EndLinkRequest end;
  end.set_peer("cid");
  v1::EndLinkResponse ended;
  ASSERT_TRUE(care_->EndLink(Ctx(ana.Header()).get(), end, &ended).ok());
  EXPECT_TRUE(CreateInvite(ana.Header()).ok());
}

TEST_F(RpcLinkCapTest, AcceptingAnInviteIsRefusedAtEitherCapAndKeepsTheCode) {
  User ana = Register("ana");
  User dr_lee = Register("dr-lee");
  User dr_kim = Register("dr-kim");
  User bob = RegisterClientOf(ana, "bob", 101);
  const std::string code = InviteFrom(ana.Header());  // made while ana has room
  User cid = RegisterClientOf(ana, "cid", 103);       // ana: 2 of 2
  User dan = RegisterClientOf(dr_lee, "dan", 104);

  // The therapist is full: FAILED_PRECONDITION, and the code still works
  // once she has room.
  EXPECT_THAT(Accept(dan, code), GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "link cap 2"));
  const std::string code2 = InviteFrom(dr_kim.Header());
  v1::EndLinkRequest end;
  end.set_peer("bob");
  v1::EndLinkResponse ended;
  ASSERT_TRUE(care_->EndLink(Ctx(ana.Header()).get(), end, &ended).ok());
  ASSERT_TRUE(Accept(dan, code).ok());  // dan: dr-lee and ana, 2 of 2
  // The client is full: RESOURCE_EXHAUSTED; the code is kept.
  EXPECT_THAT(Accept(dan, code2), GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "link cap 2"));
  EXPECT_THAT(Accept(dan, ""), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "code is required"));
  v1::AcceptInviteRequest anonymous;
  anonymous.set_code(code2);
  v1::AcceptInviteResponse r;
  EXPECT_THAT(care_->AcceptInvite(Ctx("").get(), anonymous, &r),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED, ""));
  ASSERT_TRUE(Accept(bob, code2).ok());
  EXPECT_THAT(Links(bob), ElementsAre("ana:LINK_ENDED:ana", "dr-kim:LINK_ACTIVE:"));
}

TEST_F(RpcLinkCapTest, RegisteringWithTheInviteOfAFullTherapistIsRefused) {
  User ana = Register("ana");
  const std::string code = InviteFrom(ana.Header());
  Register("bob", 101);
  Register("cid", 103);  // ana: 2 of 2
  // The request as the fixture builds it (with an invite of dr-lee's, who
  // has room), then carrying ana's code instead.
  User dr_lee = Register("dr-lee");
  User eve = NewUser("eve", 105);
  therapist_header_ = dr_lee.Header();
  v1::RegisterRequest req = RegisterRequestFor(eve, 1);
  req.set_invite_code(code);
  v1::RegisterResponse resp;
  EXPECT_THAT(accounts_->Register(Ctx("").get(), req, &resp),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "link cap 2"));
  // Nothing was written: eve is not registered and the code still works.
  EXPECT_THAT(AuthenticatedRpcs(ana)["Accounts.WhoAmI"](eve.Header()),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED, ""));
  v1::EndLinkRequest end;
  end.set_peer("cid");
  v1::EndLinkResponse ended;
  ASSERT_TRUE(care_->EndLink(Ctx(ana.Header()).get(), end, &ended).ok());
  grpc::Status s = accounts_->Register(Ctx("").get(), req, &resp);
  EXPECT_TRUE(s.ok()) << Describe(s);
}

class RpcInviteRateTest : public RpcClosureTest {
 protected:
  void SetUp() override {
    rate_limits_.invites_per_therapist = {3, 3};  // 3 at once, then one per 20 min
    RpcClosureTest::SetUp();
  }
};

TEST_F(RpcInviteRateTest, InviteCreationIsLimitedPerTherapistAndSaysWhenToRetry) {
  User ana = Register("ana");
  User dr_lee = Register("dr-lee");
  User bob = Register("bob", 101);  // took one of ana's three
  // Refused calls take nothing: a client's, a malformed one.
  EXPECT_THAT(CreateInvite(bob.Header()), GrpcIs(grpc::StatusCode::PERMISSION_DENIED, ""));
  EXPECT_THAT(CreateInvite(ana.Header(), kMaxCodeValidHours + 1),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "valid_hours"));
  EXPECT_TRUE(CreateInvite(ana.Header()).ok());
  EXPECT_TRUE(CreateInvite(ana.Header()).ok());
  grpc::Status s = CreateInvite(ana.Header());
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "too many invites created by this therapist; retry after"));
  // Once limited, the other checks still answer as before.
  EXPECT_THAT(CreateInvite(""), GrpcIs(grpc::StatusCode::UNAUTHENTICATED, ""));
  EXPECT_THAT(CreateInvite(ana.Header(), kMaxCodeValidHours + 1),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "valid_hours"));
  // Per therapist: dr-lee is not affected.
  EXPECT_TRUE(CreateInvite(dr_lee.Header()).ok());
  // One token back after 20 minutes.
  clock_.Advance((20 * 60 + 1) * 1000);
  EXPECT_TRUE(CreateInvite(ana.Header()).ok());
  EXPECT_EQ(CreateInvite(ana.Header()).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

}  // namespace
}  // namespace sotto::server::rpc
