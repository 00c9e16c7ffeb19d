// `sotto-server users`: the accounts with role, state and devices, through
// the running server's operator socket and, with no server, the database;
// the same lines either way, and nothing but those fields.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/message_load.h"
#include "testing/server_process.h"

namespace {

using sotto::testing::MessageLoad;
using sotto::testing::RunServerCommand;
using sotto::testing::ServerProcess;
using ::testing::HasSubstr;

constexpr char kPlain[] =
    "client0  client  active  devices 1\n"
    "client1  client  deactivated  devices 1\n"
    "therapist  therapist  active  devices 1\n";
constexpr char kJson[] =
    "{\"handle\":\"client0\",\"role\":\"client\",\"deactivated\":false,\"devices\":[1]}\n"
    "{\"handle\":\"client1\",\"role\":\"client\",\"deactivated\":true,\"devices\":[1]}\n"
    "{\"handle\":\"therapist\",\"role\":\"therapist\",\"deactivated\":false,\"devices\":[1]}\n";

TEST(UsersCommandTest, ListsAccountsRolesStatesAndDevicesWithAndWithoutAServer) {
  auto server = ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  MessageLoad load;
  ASSERT_TRUE(load.Setup((*server)->address(), (*server)->data_dir(), 2).ok());
  const std::string dir = " --data-dir " + (*server)->data_dir();
  ASSERT_EQ(RunServerCommand("deactivate --name client1" + dir).exit_code, 0);

  auto plain = RunServerCommand("users" + dir);
  EXPECT_EQ(plain.exit_code, 0);
  EXPECT_EQ(plain.output, kPlain);
  auto json = RunServerCommand("users --json" + dir);
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_EQ(json.output, kJson);

  ASSERT_TRUE((*server)->Stop().ok());
  EXPECT_EQ(RunServerCommand("users" + dir).output, kPlain);
  EXPECT_EQ(RunServerCommand("users --json" + dir).output, kJson);
}

TEST(UsersCommandTest, ANonexistentDataDirectoryIsNamed) {
  auto run = RunServerCommand("users --data-dir /nonexistent/sotto");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr("no data directory /nonexistent/sotto"));
}

}  // namespace
