// Runs the C program c_exchange.c (a whole therapist/client exchange through
// sotto/sotto.h, compiled as strict C99) against the real sotto-server.
// The C program frees every object it gets; in the sanitizer build
// (-fsanitize=address, which applies to C too) LeakSanitizer fails it
// otherwise.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace {

using ::sotto::testing::ServerProcess;

TEST(CExchangeTest, TherapistAndClientExchangeTextsAndLettersFromC) {
  ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start());
  ASSERT_OK_AND_ASSIGN(std::string code,
                       sotto::testing::IssueEnrolmentCode(server->data_dir(), "dr-c"));
  sotto::testing::TempDir work;
  const std::string binary = SOTTO_C_EXCHANGE_BINARY;
  sotto::testing::ServerCommandResult run = sotto::testing::RunServerCommand(
      "'" + server->address() + "' '" + code + "' '" + work.path() + "'", binary);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("c_exchange: every step passed")) << run.output;
}

}  // namespace
