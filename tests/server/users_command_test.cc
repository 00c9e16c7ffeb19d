// `sotto-server users`: the accounts with role, state, devices and the hour
// last seen, through the running server's operator socket and, with no
// server, the database (which knows no last-seen hour: the server keeps it
// in memory only); nothing but those fields.

#include <ctime>
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

// The current UTC hour as `users` prints it: `format` "%Y-%m-%d %H:00 UTC"
// or, for JSON, "%Y-%m-%dT%H:00Z".
std::string ThisHour(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char out[64];
  std::strftime(out, sizeof out, format, &utc);
  return out;
}

std::string Plain(const std::string& seen_client0, const std::string& seen_client1,
                  const std::string& seen_therapist) {
  return "client0  client  active  devices 1  last seen " + seen_client0 + "\n" +
         "client1  client  deactivated  devices 1  last seen " + seen_client1 + "\n" +
         "therapist  therapist  active  devices 1  last seen " + seen_therapist + "\n";
}

std::string Json(const std::string& seen_client0, const std::string& seen_client1,
                 const std::string& seen_therapist) {
  return "{\"handle\":\"client0\",\"role\":\"client\",\"deactivated\":false,\"devices\":[1],"
         "\"last_seen_hour\":" +
         seen_client0 + "}\n" +
         "{\"handle\":\"client1\",\"role\":\"client\",\"deactivated\":true,\"devices\":[1],"
         "\"last_seen_hour\":" +
         seen_client1 + "}\n" +
         "{\"handle\":\"therapist\",\"role\":\"therapist\",\"deactivated\":false,"
         "\"devices\":[1],\"last_seen_hour\":" +
         seen_therapist + "}\n";
}

TEST(UsersCommandTest, ListsAccountsRolesStatesDevicesAndLastSeenWithAndWithoutAServer) {
  auto server = ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  MessageLoad load;
  // The therapist's CreateInvite calls are authenticated; the clients only
  // register, until client0 sends.
  ASSERT_TRUE(load.Setup((*server)->address(), (*server)->data_dir(), 2).ok());
  ASSERT_TRUE(load.Send(0, 1).ok());
  const std::string dir = " --data-dir " + (*server)->data_dir();
  ASSERT_EQ(RunServerCommand("deactivate --name client1" + dir).exit_code, 0);

  const std::string hour = ThisHour("%Y-%m-%d %H:00 UTC");
  const std::string iso = "\"" + ThisHour("%Y-%m-%dT%H:00Z") + "\"";
  auto plain = RunServerCommand("users" + dir);
  EXPECT_EQ(plain.exit_code, 0);
  if (ThisHour("%Y-%m-%d %H:00 UTC") == hour) {  // not across an hour's turn
    EXPECT_EQ(plain.output, Plain(hour, "not since the server started", hour));
    auto json = RunServerCommand("users --json" + dir);
    EXPECT_EQ(json.exit_code, 0);
    EXPECT_EQ(json.output, Json(iso, "null", iso));
  }

  // Kept in memory only: the database alone does not know it.
  ASSERT_TRUE((*server)->Stop().ok());
  const std::string unknown = "unknown (no server running)";
  EXPECT_EQ(RunServerCommand("users" + dir).output, Plain(unknown, unknown, unknown));
  EXPECT_EQ(RunServerCommand("users --json" + dir).output, Json("null", "null", "null"));
}

TEST(UsersCommandTest, ANonexistentDataDirectoryIsNamed) {
  auto run = RunServerCommand("users --data-dir /nonexistent/sotto");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, HasSubstr("no data directory /nonexistent/sotto"));
}

}  // namespace
