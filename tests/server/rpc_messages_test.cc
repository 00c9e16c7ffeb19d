// The gRPC surface of the server: Send, Fetch and Ack, and what survives a
// restart.

#include "tests/server/rpc_fixture.h"

namespace sotto::server::rpc {
namespace {

TEST_F(RpcTest, SendFetchAckRoundTripStampsTheAuthenticatedSender) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  v1::SendResponse sent;
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "hello"), &sent).ok());
  EXPECT_FALSE(sent.duplicate());
  EXPECT_GT(sent.server_time_ms(), 0);

  v1::FetchResponse fetched;
  ASSERT_TRUE(messages_->Fetch(Ctx(bob.Header()).get(), {}, &fetched).ok());
  ASSERT_EQ(fetched.envelopes_size(), 1);
  const v1::Envelope& e = fetched.envelopes(0);
  EXPECT_EQ(e.sender(), "ana");
  EXPECT_EQ(e.sender_device(), 1u);
  EXPECT_EQ(e.ciphertext(), "hello");
  EXPECT_EQ(e.message_id(), MessageId(1));
  EXPECT_EQ(e.server_time_ms(), sent.server_time_ms());
  EXPECT_FALSE(fetched.more());

  v1::SendResponse again;
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "hello"), &again).ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.server_time_ms(), sent.server_time_ms());

  v1::AckRequest ack;
  ack.add_seqs(e.seq());
  v1::AckResponse acked;
  ASSERT_TRUE(messages_->Ack(Ctx(bob.Header()).get(), ack, &acked).ok());
  EXPECT_EQ(acked.deleted(), 1u);
  EXPECT_THAT(Queue(bob), ElementsAre());
}

TEST_F(RpcTest, NoUserCanReadOrDeleteAnotherUsersQueue) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  User eve = Register("eve", 333);
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "for bob")).ok());
  // Eve's Fetch shows only her (empty) queue; her Ack of bob's seq deletes
  // nothing.
  EXPECT_THAT(Queue(eve), ElementsAre());
  v1::AckRequest ack;
  ack.add_seqs(1);
  v1::AckResponse acked;
  ASSERT_TRUE(messages_->Ack(Ctx(eve.Header()).get(), ack, &acked).ok());
  EXPECT_EQ(acked.deleted(), 0u);
  // Bob's other (unregistered) device id is not a way in either.
  EXPECT_THAT(messages_->Ack(Ctx(bob.Header(2)).get(), ack, &acked),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED, "credentials rejected"));
  // Uploads change only the caller's own device.
  v1::UploadKeysRequest upload;
  for (const auto& p : eve.keys->MakeOneTimePreKeys(50, 3)) {
    auto* o = upload.mutable_keys()->add_one_time_prekeys();
    o->set_id(p.id);
    o->set_public_key(p.public_key);
  }
  v1::UploadKeysResponse uploaded;
  ASSERT_TRUE(keys_->Upload(Ctx(eve.Header()).get(), upload, &uploaded).ok());
  v1::CountPreKeysResponse count;
  ASSERT_TRUE(keys_->CountPreKeys(Ctx(bob.Header()).get(), {}, &count).ok());
  EXPECT_EQ(count.one_time_prekey_count(), 2u);
  EXPECT_THAT(Queue(bob), ElementsAre("1:for bob"));
}

TEST_F(RpcTest, MalformedSendsNameTheProblemAndLoseNothing) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "kept")).ok());

  v1::SendRequest empty = TextTo(bob, 2, "");
  EXPECT_THAT(Send(ana, empty), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "ciphertext is empty"));
  v1::SendRequest oversized = TextTo(bob, 3, std::string(kMaxCiphertextBytes + 1, 'x'));
  EXPECT_THAT(Send(ana, oversized), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "65536"));
  v1::SendRequest bad_id = TextTo(bob, 4, "x");
  bad_id.set_message_id("short");
  EXPECT_THAT(Send(ana, bad_id), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "message_id"));
  v1::SendRequest bad_type = TextTo(bob, 5, "x");
  bad_type.mutable_envelopes(0)->set_type(v1::ENVELOPE_TYPE_UNSPECIFIED);
  EXPECT_THAT(Send(ana, bad_type), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "type"));
  v1::SendRequest no_envelopes = TextTo(bob, 6, "x");
  no_envelopes.clear_envelopes();
  EXPECT_THAT(Send(ana, no_envelopes), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "envelopes"));
  v1::SendRequest nobody = TextTo(bob, 7, "x");
  nobody.set_recipient("nobody");
  // A free handle is answered as any handle without a link (issue 19).
  EXPECT_THAT(Send(ana, nobody),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED, "no care link between ana and nobody"));

  v1::FetchRequest big_fetch;
  big_fetch.set_limit(kMaxFetchBatch + 1);
  v1::FetchResponse fetched;
  EXPECT_THAT(messages_->Fetch(Ctx(bob.Header()).get(), big_fetch, &fetched),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "limit"));
  v1::AckRequest big_ack;
  for (uint64_t i = 1; i <= kMaxAckBatch + 1; ++i) big_ack.add_seqs(i);
  v1::AckResponse acked;
  EXPECT_THAT(messages_->Ack(Ctx(bob.Header()).get(), big_ack, &acked),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "seqs"));

  EXPECT_THAT(Queue(bob), ElementsAre("1:kept"));
}

TEST_F(RpcTest, DeviceMismatchDetailsAreInTheStatus) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  v1::SendRequest req = TextTo(bob, 1, "x");
  req.mutable_envelopes(0)->set_registration_id(999);  // stale device 1
  v1::OutgoingEnvelope* extra = req.add_envelopes();
  *extra = req.envelopes(0);
  extra->set_device_id(5);  // bob has no device 5
  grpc::Status s = Send(ana, req);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Describe(s);
  EXPECT_THAT(s.error_message(), HasSubstr("bob"));

  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(s.error_details()));
  EXPECT_EQ(rich.code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(rich.message(), s.error_message());
  ASSERT_EQ(rich.details_size(), 1);
  EXPECT_EQ(rich.details(0).type_url(), "type.googleapis.com/sotto.v1.DeviceMismatch");
  v1::DeviceMismatch mismatch;
  ASSERT_TRUE(rich.details(0).UnpackTo(&mismatch));
  EXPECT_EQ(mismatch.user(), "bob");
  EXPECT_THAT(mismatch.missing_devices(), ElementsAre());
  EXPECT_THAT(mismatch.extra_devices(), ElementsAre(5u));
  EXPECT_THAT(mismatch.stale_devices(), ElementsAre(1u));

  v1::SendRequest wrong_device = TextTo(bob, 2, "x");
  wrong_device.mutable_envelopes(0)->set_device_id(2);
  s = Send(ana, wrong_device);
  ASSERT_TRUE(rich.ParseFromString(s.error_details()));
  ASSERT_TRUE(rich.details(0).UnpackTo(&mismatch));
  EXPECT_THAT(mismatch.missing_devices(), ElementsAre(1u));
  EXPECT_THAT(mismatch.extra_devices(), ElementsAre(2u));
  EXPECT_THAT(Queue(bob), ElementsAre());
}

TEST_F(RpcTest, DataSurvivesAServerRestart) {
  User ana = Register("ana");
  User bob = Register("bob", 222);
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "persisted")).ok());
  server_.reset();
  StartServer();
  EXPECT_THAT(Queue(bob), ElementsAre("1:persisted"));
  v1::SendResponse again;
  ASSERT_TRUE(Send(ana, TextTo(bob, 1, "persisted"), &again).ok());
  EXPECT_TRUE(again.duplicate());
}

}  // namespace
}  // namespace sotto::server::rpc
