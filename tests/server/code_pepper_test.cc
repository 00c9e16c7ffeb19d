// Enrolment and invite codes at rest: the real server over RocksDB stores a
// code only under the pepper in its key file (codes.h), so a copy of the
// database alone holds nothing a 60-bit search could be run against. Codes
// survive a restart, die with the pepper, and codes stored before the
// pepper keep working.

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/app/key_files.h"
#include "server/domain/codes.h"
#include "server/domain/records.h"
#include "server/storage/rocksdb_store.h"
#include "tests/server/rpc_fixture.h"

namespace sotto::server::rpc {
namespace {

class CodePepperTest : public RpcTest {
 protected:
  std::string DataDir() const { return dir_.path() + "/db"; }
  std::string PepperFile() const { return DataDir() + ".code-pepper"; }

  // The rows of `table` as stored, read with the server stopped.
  std::vector<KeyValue> StoredCodes(Table table) {
    server_.reset();
    auto store = OpenRocksDbStore(DataDir());
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return {};
    auto rows = (*store)->Scan(table, "", "", 100);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<KeyValue>{};
  }

  // Registers `user` with `code` as the enrolment (therapists) or invite
  // (clients) code, ignoring the one the fixture would make.
  grpc::Status RegisterWith(User& user, const std::string& code) {
    v1::RegisterRequest req = RegisterRequestFor(user, 1);
    if (IsTherapist(user.handle)) {
      req.set_enrolment_code(code);
    } else {
      req.set_invite_code(code);
    }
    grpc::ClientContext ctx;
    v1::RegisterResponse resp;
    return accounts_->Register(&ctx, req, &resp);
  }
};

TEST_F(CodePepperTest, TheStoredKeyIsAKeyedHashNotTheSha256OfTheCode) {
  auto issued = server_->IssueEnrolmentCode("dr-lee");
  ASSERT_TRUE(issued.ok()) << issued.status();
  const std::string normalized = *NormalizeCode(issued->code);
  std::vector<KeyValue> rows = StoredCodes(Table::kEnrolments);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(rows[0].key, HashCode(normalized));
  EXPECT_EQ(rows[0].key.find(HashCode(normalized)), std::string::npos);
  // It is the HMAC under the pepper file's key, which is owner-only and
  // outside the data directory.
  auto pepper = LoadKeyFile(PepperFile(), /*create=*/false);
  ASSERT_TRUE(pepper.ok()) << pepper.status();
  EXPECT_EQ(rows[0].key, PepperedCodeKey(*pepper, normalized));
  struct stat st {};
  ASSERT_EQ(stat(PepperFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CodePepperTest, CodesIssuedBeforeARestartStillWork) {
  User ana = Register("ana");
  const std::string invite = InviteFrom(ana.Header());
  auto enrol = server_->IssueEnrolmentCode("dr-kim");
  ASSERT_TRUE(enrol.ok());
  server_.reset();
  StartServer();
  User bo = NewUser("bob", 7);
  EXPECT_THAT(RegisterWith(bo, invite), GrpcIs(grpc::OK, ""));
  User kim = NewUser("dr-kim", 8);
  EXPECT_THAT(RegisterWith(kim, enrol->code), GrpcIs(grpc::OK, ""));
}

TEST_F(CodePepperTest, TheDatabaseUnderAnotherPepperRefusesItsCodes) {
  User ana = Register("ana");
  const std::string invite = InviteFrom(ana.Header());
  auto enrol = server_->IssueEnrolmentCode("dr-kim");
  ASSERT_TRUE(enrol.ok());
  // As if the database were copied to a server with a pepper of its own.
  server_.reset();
  ASSERT_EQ(unlink(PepperFile().c_str()), 0);
  StartServer();
  User bo = NewUser("bob", 7);
  EXPECT_THAT(RegisterWith(bo, invite), GrpcIs(grpc::PERMISSION_DENIED, "invite code"));
  User kim = NewUser("dr-kim", 8);
  EXPECT_THAT(RegisterWith(kim, enrol->code),
              GrpcIs(grpc::PERMISSION_DENIED, "enrolment code is not valid"));
}

TEST_F(CodePepperTest, CodesStoredBeforeThePepperAreRekeyedAndKeepWorking) {
  server_.reset();
  const std::string code = "K7QF-2M9X-TR4C";
  const std::string legacy_key = HashCode(*NormalizeCode(code));
  {
    auto store = OpenRocksDbStore(DataDir());
    ASSERT_TRUE(store.ok());
    WriteBatch batch;
    batch.Put(Table::kEnrolments, legacy_key,
              records::Encode(records::Code{"dr-old", INT64_MAX / 2}));
    ASSERT_TRUE((*store)->Write(batch, Durability::kSynced).ok());
  }
  StartServer();
  std::vector<KeyValue> rows = StoredCodes(Table::kEnrolments);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(rows[0].key, legacy_key);
  StartServer();
  User old = NewUser("dr-old", 9);
  EXPECT_THAT(RegisterWith(old, code), GrpcIs(grpc::OK, ""));
}

}  // namespace
}  // namespace sotto::server::rpc
