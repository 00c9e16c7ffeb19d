#ifndef SOTTO_TESTS_TESTING_REGISTER_REQUEST_H_
#define SOTTO_TESTS_TESTING_REGISTER_REQUEST_H_

// A complete Register request on the raw wire, for tests that drive the
// server without the client library (load, crashes, metrics, a full disk):
// fresh Signal identity and signed prekey (signal_test_keys.h), and the
// code in the field its role takes (a therapist's enrolment code, a
// client's invite code).

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "sotto/v1/accounts.pb.h"
#include "sotto/v1/care.grpc.pb.h"
#include "testing/signal_test_keys.h"

namespace sotto::testing {

inline sotto::v1::RegisterRequest MakeRegisterRequest(const std::string& handle,
                                                      sotto::v1::Role role, const std::string& code,
                                                      const std::string& device_secret,
                                                      uint32_t registration_id) {
  SignalTestKeys keys;
  auto spk = keys.MakeSignedPreKey(1);
  sotto::v1::RegisterRequest req;
  req.set_handle(handle);
  req.set_role(role);
  if (role == sotto::v1::ROLE_THERAPIST) {
    req.set_enrolment_code(code);
  } else {
    req.set_invite_code(code);
  }
  req.set_device_secret(device_secret);
  req.set_registration_id(registration_id);
  req.mutable_keys()->set_identity_key(keys.identity_key());
  req.mutable_keys()->mutable_signed_prekey()->set_id(spk.id);
  req.mutable_keys()->mutable_signed_prekey()->set_public_key(spk.public_key);
  req.mutable_keys()->mutable_signed_prekey()->set_signature(spk.signature);
  return req;
}

// A fresh invite code from the therapist whose authorization header is
// `therapist_header` (Care.CreateInvite over `channel`); empty, with a test
// failure recorded, if the server refused.
inline std::string CreateInviteCode(const std::shared_ptr<grpc::Channel>& channel,
                                    const std::string& therapist_header) {
  auto care = sotto::v1::Care::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", therapist_header);
  sotto::v1::CreateInviteResponse invite;
  grpc::Status s = care->CreateInvite(&ctx, sotto::v1::CreateInviteRequest(), &invite);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return invite.code();
}

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_REGISTER_REQUEST_H_
