// sotto-server --config FILE and check-config, run as an operator would:
// the real binary, real files.

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/temp_dir.h"
#include "testing/test_certs.h"

namespace {

using ::sotto::testing::RunServerCommand;
using ::sotto::testing::ServerCommandResult;
using ::testing::HasSubstr;
using ::testing::Not;

class ConfigFileTest : public ::testing::Test {
 protected:
  // Writes `text` to a file in the test's directory; returns its path.
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.sub(name);
    std::ofstream(path) << text;
    return path;
  }
  std::string DataDir() const { return dir_.sub("data"); }

  sotto::testing::TempDir dir_;
};

TEST_F(ConfigFileTest, TheSampleConfigPassesCheckConfig) {
  auto certs = sotto::testing::TestCerts::Make();
  ASSERT_TRUE(certs.ok()) << certs.status();
  // The sample's paths are a real host's; flags point them here.
  ServerCommandResult run =
      RunServerCommand(std::string("check-config --config ") + SOTTO_SOURCE_DIR +
                       "/deploy/sotto-server.toml" + " --data-dir " + DataDir() + " --tls-cert " +
                       (*certs)->server.cert_path + " --tls-key " + (*certs)->server.key_path);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "sotto-server check-config: OK: would listen on 0.0.0.0:7443 with TLS, "
            "data in " +
                DataDir() + "\n");
}

TEST_F(ConfigFileTest, FileSetsFlagsTablesPrefixKeysAndFlagsWin) {
  const std::string config = Write("a.toml",
                                   "listen = \"127.0.0.1:7000\"\n"
                                   "data-dir = \"" +
                                       DataDir() +
                                       "\"\n"
                                       "[rate]\n"
                                       "sends = \"5/60\"\n");
  ServerCommandResult from_file = RunServerCommand("check-config --config " + config);
  EXPECT_EQ(from_file.exit_code, 0) << from_file.output;
  EXPECT_THAT(from_file.output,
              HasSubstr("listen on 127.0.0.1:7000 without TLS, data in " + DataDir()));
  ServerCommandResult flag_wins =
      RunServerCommand("check-config --config " + config + " --listen 127.0.0.1:7001");
  EXPECT_EQ(flag_wins.exit_code, 0) << flag_wins.output;
  EXPECT_THAT(flag_wins.output, HasSubstr("listen on 127.0.0.1:7001 "));
  // [rate] sends is --rate-sends: its own check applies.
  const std::string bad_rate =
      Write("b.toml", "data-dir = \"" + DataDir() + "\"\n[rate]\nsends = \"lots\"\n");
  ServerCommandResult refused = RunServerCommand("check-config --config " + bad_rate);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.output, HasSubstr("--rate-sends must be BURST/PER_HOUR"));
}

// The server starts with a file (what the file's settings do to it:
// ServerLogTest.ConfigFileSetsTheLogFormatAndLevel), and refuses to start
// on a bad one, naming what is wrong.
TEST_F(ConfigFileTest, TheServerServesWithTheFilesSettings) {
  const std::string config = Write("serve.toml",
                                   "log-level = \"warn\"\n"
                                   "retention-days = 3\n");
  auto server =
      sotto::testing::ServerProcess::Start(sotto::testing::kServerBinary, {"--config", config});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE((*server)->Stop().ok());
  const std::string bad = Write("bad.toml", "retention-days = \"three\"\n");
  ServerCommandResult run =
      RunServerCommand("--listen 127.0.0.1:0 --data-dir " + DataDir() + " --config " + bad);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "sotto-server: " + bad +
                            ":1: key \"retention-days\": must be an integer, got a string\n");
}

TEST_F(ConfigFileTest, ErrorsNameTheFileLineAndKeyAllAtOnce) {
  const std::string config = Write("c.toml", "data-dir = \"" + DataDir() +
                                                 "\"\n"
                                                 "io-threads = \"many\"\n"
                                                 "max-queue-mib = 0\n"
                                                 "lisen = \"127.0.0.1:1\"\n"
                                                 "config = \"other.toml\"\n"
                                                 "rate-invites = \"1/1\"\n"
                                                 "[rate]\n"
                                                 "invites = \"2/2\"\n"
                                                 "sends = 3\n");
  ServerCommandResult run = RunServerCommand("check-config --config " + config);
  EXPECT_EQ(run.exit_code, 2);
  const std::string p = "sotto-server check-config: " + config;
  EXPECT_THAT(run.output,
              HasSubstr(p + ":2: key \"io-threads\": must be an integer, got a string\n"));
  EXPECT_THAT(run.output,
              HasSubstr(p + ":3: key \"max-queue-mib\": --max-queue-mib: Value 0 not in range"));
  EXPECT_THAT(run.output, HasSubstr(p + ":4: key \"lisen\": unknown key"));
  EXPECT_THAT(run.output, HasSubstr(p + ":5: key \"config\": unknown key"));
  EXPECT_THAT(run.output, HasSubstr(p + ":8: key \"rate-invites\": set twice (also on line 6"));
  EXPECT_THAT(run.output, HasSubstr(p + ":9: key \"rate-sends\": must be a string"));
  EXPECT_THAT(run.output, Not(HasSubstr("OK")));

  const std::string broken = Write("d.toml", "listen = \"127.0.0.1:1\n");
  ServerCommandResult syntax = RunServerCommand("check-config --config " + broken);
  EXPECT_EQ(syntax.exit_code, 2);
  EXPECT_THAT(syntax.output, HasSubstr(broken + ":1:"));
  ServerCommandResult missing = RunServerCommand("check-config --config " + dir_.sub("none.toml"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.output, HasSubstr("--config: cannot read " + dir_.sub("none.toml")));
}

// Every flag --help lists, today's and those added later, is a key: set to
// its default (or "" / false where it shows none), check-config accepts it.
TEST_F(ConfigFileTest, EveryServingFlagIsAKey) {
  ServerCommandResult help = RunServerCommand("--help");
  ASSERT_EQ(help.exit_code, 0);
  // "--io-threads UINT:UINT in [1 - 1024]=64": name, type, range, default.
  const std::regex flag_line(R"(\n  --([a-z0-9-]+)( ([A-Z]+)(:[A-Z]+ in \[[^\]]*\])?(=(\S+))?)?)");
  std::string toml;
  int keys = 0;
  for (auto it = std::sregex_iterator(help.output.begin(), help.output.end(), flag_line);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    if (name == "help" || name == "version" || name == "config") continue;
    const std::string type = (*it)[3];
    const std::string value = (*it)[6];
    if (name == "data-dir") {
      toml += "data-dir = \"" + DataDir() + "\"\n";
    } else if (type.empty()) {
      toml += name + " = false\n";
    } else if (type == "TEXT") {
      toml += name + " = \"" + value + "\"\n";
    } else {
      toml += name + " = " + (value.empty() ? "0" : value) + "\n";
    }
    ++keys;
  }
  EXPECT_GE(keys, 23) << help.output;
  ServerCommandResult run = RunServerCommand("check-config --config " + Write("all.toml", toml));
  EXPECT_EQ(run.exit_code, 0) << toml << run.output;
}

TEST_F(ConfigFileTest, CheckConfigFindsWhatWouldFailAfterStart) {
  auto certs = sotto::testing::TestCerts::Make();
  ASSERT_TRUE(certs.ok()) << certs.status();
  const auto& c = **certs;
  const std::string config = Write("tls.toml",
                                   "listen = \"0.0.0.0:7443\"\n"
                                   "data-dir = \"" +
                                       Write("a-file", "") +
                                       "/db\"\n"
                                       "tls-cert = \"" +
                                       c.server.cert_path +
                                       "\"\n"
                                       "tls-key = \"" +
                                       c.other_ca_server.key_path + "\"\n");
  ServerCommandResult run = RunServerCommand("check-config --config " + config);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("--tls-key is not the private key of --tls-cert"));
  EXPECT_THAT(run.output, HasSubstr("--data-dir: " + dir_.sub("a-file") + "/db does not exist"));
  ServerCommandResult expired = RunServerCommand(
      "check-config --data-dir " + DataDir() + " --listen 0.0.0.0:7443 --tls-cert " +
      c.expired.cert_path + " --tls-key " + c.expired.key_path);
  EXPECT_EQ(expired.exit_code, 2);
  EXPECT_THAT(expired.output, HasSubstr("--tls-cert: the certificate has expired"));
  ServerCommandResult unreadable = RunServerCommand(
      "check-config --data-dir " + DataDir() + " --listen 0.0.0.0:7443 --tls-cert " +
      dir_.sub("none.pem") + " --tls-key " + c.server.key_path);
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_THAT(unreadable.output, HasSubstr("--tls-cert: cannot read " + dir_.sub("none.pem")));
}

}  // namespace
