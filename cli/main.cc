// sotto — the command-line client. A thin shell over sotto::Client: parse,
// ask for the passphrase, call the library, print. Errors are one line on
// stderr and a non-zero exit.

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sotto/client.h"

namespace {

constexpr int kExitError = 1;

int Fail(const absl::Status& status) {
  std::cerr << "sotto: " << status.message() << "\n";
  return kExitError;
}

std::string DefaultProfileDir() {
  if (const char* env = std::getenv("SOTTO_PROFILE"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home) {
    return absl::StrCat(home, "/.sotto");
  }
  return ".sotto";
}

// Reads a line from the terminal without echo. The passphrase never passes
// through argv, where other users could see it in `ps`.
absl::StatusOr<std::string> Prompt(const std::string& question) {
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) {
    return absl::FailedPreconditionError(
        "no terminal to ask for the passphrase; set SOTTO_PASSPHRASE");
  }
  std::fputs(question.c_str(), tty);
  std::fflush(tty);
  termios old_settings;
  const bool is_tty = tcgetattr(fileno(tty), &old_settings) == 0;
  if (is_tty) {
    termios quiet = old_settings;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
  }
  std::string line;
  for (int c = std::fgetc(tty); c != EOF && c != '\n'; c = std::fgetc(tty)) {
    line.push_back(static_cast<char>(c));
  }
  if (is_tty) tcsetattr(fileno(tty), TCSAFLUSH, &old_settings);
  std::fputs("\n", tty);
  std::fclose(tty);
  return line;
}

absl::StatusOr<std::string> Passphrase(bool confirm) {
  if (const char* env = std::getenv("SOTTO_PASSPHRASE"); env != nullptr) {
    if (*env == '\0') return absl::InvalidArgumentError("SOTTO_PASSPHRASE is empty");
    return std::string(env);
  }
  absl::StatusOr<std::string> first = Prompt("Passphrase: ");
  if (!first.ok()) return first.status();
  if (first->empty()) return absl::InvalidArgumentError("the passphrase must not be empty");
  if (confirm) {
    absl::StatusOr<std::string> second = Prompt("Passphrase again: ");
    if (!second.ok()) return second.status();
    if (*first != *second) return absl::InvalidArgumentError("the passphrases differ");
  }
  return first;
}

absl::StatusOr<std::unique_ptr<sotto::Client>> OpenProfile(const std::string& dir) {
  absl::StatusOr<std::string> passphrase = Passphrase(/*confirm=*/false);
  if (!passphrase.ok()) return passphrase.status();
  sotto::OpenOptions options;
  options.profile_dir = dir;
  options.passphrase = std::move(*passphrase);
  return sotto::Client::Open(options);
}

std::string FormatTime(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixMillis(unix_ms),
                          absl::LocalTimeZone());
}

void PrintMessage(const sotto::Message& m, const std::string& me) {
  std::cout << "── " << FormatTime(m.server_time_ms) << "  "
            << (m.outgoing ? me + " (you)" : m.peer) << "\n"
            << m.text << "\n\n";
}

std::string ReadAll(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "sotto — end-to-end encrypted messages between you and your therapist.\n"
      "The passphrase comes from SOTTO_PASSPHRASE or a prompt."};
  app.require_subcommand(1);
  std::string profile_dir = DefaultProfileDir();
  app.add_option("--profile", profile_dir,
                 "Profile directory (default: $SOTTO_PROFILE or ~/.sotto)");

  // init
  CLI::App* init = app.add_subcommand("init", "Create a profile and register with a server");
  std::string server, role_name, name;
  init->add_option("--server", server, "Server address, HOST:PORT")->required();
  init->add_option("--role", role_name, "client or therapist")
      ->required()
      ->check(CLI::IsMember({"client", "therapist"}));
  init->add_option("--name", name, "Your handle: 3-32 of a-z 0-9 _ -, starting with a letter")
      ->required();

  // send
  CLI::App* send = app.add_subcommand("send", "Send a text (from the argument or stdin)");
  std::string to, text;
  send->add_option("user", to, "Recipient handle")->required();
  send->add_option("text", text, "The message; omit or '-' to read stdin");

  // sync
  CLI::App* sync = app.add_subcommand("sync", "Receive new messages");
  double wait_seconds = 0;
  sync->add_option("--wait", wait_seconds,
                   "Keep listening and print messages as they arrive, until this many "
                   "seconds pass without one")
      ->check(CLI::NonNegativeNumber);

  CLI::App* inbox = app.add_subcommand("inbox", "List conversations, newest first");

  CLI::App* read = app.add_subcommand("read", "Show a conversation and mark it read");
  std::string peer;
  read->add_option("user", peer, "The other person's handle")->required();

  CLI11_PARSE(app, argc, argv);

  if (init->parsed()) {
    absl::StatusOr<std::string> passphrase = Passphrase(/*confirm=*/true);
    if (!passphrase.ok()) return Fail(passphrase.status());
    sotto::RegisterOptions options;
    options.profile_dir = profile_dir;
    options.server_address = server;
    options.handle = name;
    options.role = role_name == "therapist" ? sotto::Role::kTherapist : sotto::Role::kClient;
    options.passphrase = std::move(*passphrase);
    auto client = sotto::Client::Register(options);
    if (!client.ok()) return Fail(client.status());
    std::cout << "Registered " << (*client)->handle() << " as a " << role_name << " on "
              << server << ".\nProfile: " << profile_dir << "\n";
    return 0;
  }

  auto client = OpenProfile(profile_dir);
  if (!client.ok()) return Fail(client.status());
  const std::string me = (*client)->handle();

  if (send->parsed()) {
    if (text.empty() || text == "-") text = ReadAll(std::cin);
    // A trailing newline from `echo` or an editor is not part of the message.
    while (!text.empty() && text.back() == '\n') text.pop_back();
    auto sent = (*client)->SendText(to, text);
    if (!sent.ok()) return Fail(sent.status());
    std::cout << "Sent to " << to << " at " << FormatTime(sent->message.server_time_ms) << ".\n";
    return 0;
  }

  if (sync->parsed()) {
    absl::StatusOr<sotto::SyncStats> stats;
    if (wait_seconds > 0) {
      stats = (*client)->Listen(absl::Seconds(wait_seconds), [&](const sotto::Message& m) {
        PrintMessage(m, me);
        std::cout.flush();
        return true;
      });
    } else {
      stats = (*client)->Sync();
    }
    if (!stats.ok()) return Fail(stats.status());
    std::cout << stats->received << (stats->received == 1 ? " new message" : " new messages");
    if (stats->duplicates > 0) std::cout << ", " << stats->duplicates << " repeats dropped";
    if (stats->undecryptable > 0) {
      std::cout << ", " << stats->undecryptable << " could not be decrypted";
    }
    if (stats->held > 0) {
      std::cout << ", " << stats->held << " held (sender's identity key changed)";
    }
    std::cout << ".\n";
    return 0;
  }

  if (inbox->parsed()) {
    auto conversations = (*client)->ListConversations();
    if (!conversations.ok()) return Fail(conversations.status());
    if (conversations->empty()) {
      std::cout << "No conversations yet. `sotto sync` fetches new messages.\n";
      return 0;
    }
    std::cout << absl::StrFormat("%-20s %-16s %6s  %s\n", "WITH", "LAST", "UNREAD", "NEWEST");
    for (const sotto::Conversation& c : *conversations) {
      std::cout << absl::StrFormat("%-20s %-16s %6s  %s%s\n", c.peer,
                                   FormatTime(c.last_activity_ms),
                                   c.unread_count ? absl::StrCat(c.unread_count) : "",
                                   c.last_outgoing ? "you: " : "", c.preview);
    }
    return 0;
  }

  if (read->parsed()) {
    auto messages = (*client)->ReadConversation(peer);
    if (!messages.ok()) return Fail(messages.status());
    for (const sotto::Message& m : *messages) PrintMessage(m, me);
    return 0;
  }
  return 0;
}
