// sotto-bench: load generator for sotto-server (issue 5). See bench/README.md.

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "bench/report.h"
#include "bench/scenarios.h"
#include "bench/server_launcher.h"
#include "bench/world.h"

namespace {

using namespace sotto::bench;

// Everything the command line sets, global options and each scenario's.
struct Options {
  Common common;
  std::vector<std::string> server_args;
  bool keep_rate_limits = false;
  std::string json;
  int phase_limit = 600;
  bool no_ceiling = false;
  std::string direction = "to-therapist";
  IngestOptions ingest;
  DeliveryOptions delivery;
  DrainOptions drain;
  DepthOptions depth;
  IdleOptions idle;
  CryptoOptions crypto;
  ClientSyncOptions client_sync;
  ClientSendOptions client_send;
  ClientListenOptions client_listen;
  LettersOptions letters;
  ProfileOpenOptions profile_open;
  CliSyncOptions cli_sync;
  bool no_pin = false;
  bool smoke = false;
};

// The subcommands; the one given on the command line is set after parsing.
struct Commands {
  CLI::App* ingest;
  CLI::App* delivery;
  CLI::App* drain;
  CLI::App* depth;
  CLI::App* idle;
  CLI::App* crypto;
  CLI::App* all;
  // The client library's scenarios (issue 21) and `client`, all of them.
  CLI::App* client_sync;
  CLI::App* client_send;
  CLI::App* client_listen;
  CLI::App* letters;
  CLI::App* profile_open;
  CLI::App* cli_sync;
  CLI::App* client;
};

const std::vector<std::string> kDirections = {"to-therapist", "to-client"};

Direction ParseDirection(const std::string& s) {
  return s == "to-client" ? Direction::kToClient : Direction::kToTherapist;
}

void AddGlobalOptions(CLI::App& app, Options& o) {
  app.add_option("--json", o.json, "also write the results as JSON to FILE");
  app.add_option("--server-binary", o.common.server_binary, "sotto-server to start");
  app.add_option("--sotto-binary", o.cli_sync.sotto_binary, "the sotto CLI cli-sync runs");
  app.add_option("--phase-limit", o.phase_limit, "seconds any timed phase or fill may take")
      ->check(CLI::Range(1, 7200));
  app.add_flag("--no-ceiling", o.no_ceiling, "skip the synced RocksDB write ceiling");
  app.add_option("--server-arg", o.server_args, "extra sotto-server flag (repeatable)");
  app.add_option("--node", o.common.nodes,
                 "HOST:PORT of another sotto-server on the same database; calls alternate "
                 "between the started server and these (repeatable)");
  app.add_flag("--keep-rate-limits", o.keep_rate_limits,
               "do not turn off the server's --rate-* limits (on by default they would "
               "throttle a load generator's few devices)");
}

CLI::App* AddIngest(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("ingest", "C concurrent durable Sends of S-byte envelopes");
  cmd->add_option("--concurrency,-c", o.ingest.concurrency)->check(CLI::Range(1, 4096));
  cmd->add_option("--size,-s", o.ingest.size)->check(CLI::Range(1, 65536));
  cmd->add_option("--messages,-n", o.ingest.messages)->check(CLI::Range(1, 100000000));
  cmd->add_option("--direction", o.direction)->check(CLI::IsMember(kDirections));
  return cmd;
}

CLI::App* AddDelivery(CLI::App& app, Options& o) {
  auto* cmd =
      app.add_subcommand("delivery", "send->receive latency to Subscribe streams at a fixed rate");
  cmd->add_option("--rate,-r", o.delivery.rate)->check(CLI::Range(1.0, 1e6));
  cmd->add_option("--seconds,-t", o.delivery.seconds)->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--recipients", o.delivery.recipients)->check(CLI::Range(1, 10000));
  cmd->add_option("--size,-s", o.delivery.size)->check(CLI::Range(16, 65536));
  cmd->add_option("--max-in-flight", o.delivery.max_in_flight)->check(CLI::Range(1, 1000000));
  cmd->add_option("--direction", o.direction)->check(CLI::IsMember(kDirections));
  cmd->add_option("--subscribe-via", o.delivery.subscribe_via,
                  "HOST:PORT of another node on the same database to hold the streams");
  return cmd;
}

CLI::App* AddDrain(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("drain", "Fetch + Ack a backlog; envelopes/s");
  cmd->add_option("--backlog,-n", o.drain.backlog, "envelopes per device (<= 10000)")
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--recipients", o.drain.recipients)->check(CLI::Range(1, 1024));
  cmd->add_option("--batch", o.drain.batch)->check(CLI::Range(1, 1000));
  cmd->add_option("--size,-s", o.drain.size)->check(CLI::Range(1, 65536));
  cmd->add_option("--fill-concurrency", o.drain.fill_concurrency)->check(CLI::Range(1, 4096));
  return cmd;
}

CLI::App* AddDepth(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("depth", "ingest into an empty store vs with N envelopes queued");
  cmd->add_option("--queued,-q", o.depth.queued)->check(CLI::Range(1, 100000000));
  cmd->add_option("--messages,-n", o.depth.messages)->check(CLI::Range(1, 100000000));
  cmd->add_option("--concurrency,-c", o.depth.concurrency)->check(CLI::Range(1, 4096));
  cmd->add_option("--size,-s", o.depth.size)->check(CLI::Range(1, 65536));
  cmd->add_option("--fill-concurrency", o.depth.fill_concurrency)->check(CLI::Range(1, 4096));
  cmd->add_option("--settle-max", o.depth.settle_max_seconds,
                  "after the fill, wait up to this long for the server to go idle (0: no wait)")
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--direction", o.direction)->check(CLI::IsMember(kDirections));
  return cmd;
}

CLI::App* AddIdle(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("idle", "N open Subscribe streams; server RSS and threads");
  cmd->add_option("--streams,-n", o.idle.streams)->check(CLI::Range(1, 100000));
  cmd->add_option("--streams-per-device", o.idle.streams_per_device)->check(CLI::Range(1, 100000));
  cmd->add_option("--settle", o.idle.settle_seconds)->check(CLI::Range(0.0, 600.0));
  return cmd;
}

CLI::App* AddCrypto(CLI::App& app, Options& o) {
  auto* cmd =
      app.add_subcommand("crypto", "client-lib Engine encrypt+decrypt pairs/s and set-ups/s");
  cmd->add_option("--seconds,-t", o.crypto.seconds)->check(CLI::Range(0.1, 600.0));
  cmd->add_option("--size,-s", o.crypto.size)->check(CLI::Range(1, 65536));
  cmd->add_option("--setups", o.crypto.setups)->check(CLI::Range(1, 999));
  cmd->add_flag("--no-pin", o.no_pin, "do not pin the thread to one CPU");
  return cmd;
}

CLI::App* AddAll(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("all", "every scenario at reduced sizes");
  cmd->add_flag("--smoke", o.smoke, "CI-sized: tiny sizes, about 30 s in all");
  return cmd;
}

CLI::App* AddClientSync(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand(
      "client-sync", "a therapist's Client::Sync of N queued texts, vs raw libsignal decrypts");
  cmd->add_option("--backlogs,-n", o.client_sync.backlogs, "N (each <= 10000), comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--size,-s", o.client_sync.size)->check(CLI::Range(16, 4096));
  cmd->add_option("--raw-messages", o.client_sync.raw_messages)->check(CLI::Range(1, 1000000));
  cmd->add_option("--repeats", o.client_sync.repeats, "rounds of every backlog; medians")
      ->check(CLI::Range(1, 50));
  return cmd;
}

CLI::App* AddClientSend(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("client-send", "Client::SendText in a loop to one recipient");
  cmd->add_option("--messages,-n", o.client_send.messages)->check(CLI::Range(1, 10000));
  cmd->add_option("--size,-s", o.client_send.size)->check(CLI::Range(16, 4096));
  cmd->add_option("--threads,-t", o.client_send.threads,
                  "threads sending at once, e.g. 1,16 (each count measured in turn)")
      ->delimiter(',')
      ->check(CLI::Range(1, 256));
  return cmd;
}

CLI::App* AddClientListen(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("client-listen",
                                 "Client::Listen of a burst of N texts queued before it opens");
  cmd->add_option("--bursts,-n", o.client_listen.bursts, "N (sum <= 9000), comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 9000));
  cmd->add_option("--size,-s", o.client_listen.size)->check(CLI::Range(16, 4096));
  return cmd;
}

CLI::App* AddLetters(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("letters", "Client::SendLetter of 40 KiB letters, then Sync");
  cmd->add_option("--letters,-n", o.letters.letters)->check(CLI::Range(1, 1200));
  cmd->add_option("--size,-s", o.letters.size)->check(CLI::Range(1, 48 * 1024));
  return cmd;
}

CLI::App* AddProfileOpen(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("profile-open",
                                 "the fixed cost of opening a profile and a Sync with nothing new");
  cmd->add_option("--history", o.profile_open.history)->check(CLI::Range(0, 10000));
  cmd->add_option("--repeats", o.profile_open.repeats)->check(CLI::Range(1, 100));
  return cmd;
}

CLI::App* AddCliSync(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("cli-sync", "`sotto --profile T sync` with N queued");
  cmd->add_option("--backlogs,-n", o.cli_sync.backlogs, "N (each <= 10000), comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--size,-s", o.cli_sync.size)->check(CLI::Range(16, 4096));
  return cmd;
}

CLI::App* AddClient(CLI::App& app, Options& o) {
  auto* cmd = app.add_subcommand("client", "every client-library scenario (issue 21), full size");
  cmd->add_flag("--smoke", o.smoke, "CI-sized: tiny sizes, seconds");
  return cmd;
}

// Turns what was parsed into the scenarios' options.
void Finish(Options& o) {
  o.common.phase_limit = std::chrono::seconds(o.phase_limit);
  o.common.ceiling = !o.no_ceiling;
  o.crypto.pin = !o.no_pin;
  if (o.cli_sync.sotto_binary.empty()) o.cli_sync.sotto_binary = SOTTO_CLI_BINARY;
  if (!o.keep_rate_limits) o.common.server_args = RateLimitsOffArgs(o.common.server_binary);
  o.common.server_args.insert(o.common.server_args.end(), o.server_args.begin(),
                              o.server_args.end());
  const Direction dir = ParseDirection(o.direction);
  o.ingest.direction = o.delivery.direction = o.depth.direction = dir;
}

// The sizes of `all`: reduced, or tiny for CI with --smoke.
void SetAllSizes(Options& o) {
  if (o.smoke) {
    o.ingest = {8, 200, 400, Direction::kToTherapist};
    o.delivery.rate = 200, o.delivery.seconds = 2, o.delivery.recipients = 8;
    o.drain.backlog = 200, o.drain.recipients = 4, o.drain.batch = 100,
    o.drain.fill_concurrency = 16;
    // Small enough to stay under the server's default rate limits too
    // (20 registrations per address, 300 sends per device at once).
    o.depth.queued = 800, o.depth.messages = 200, o.depth.concurrency = 4,
    o.depth.fill_concurrency = 8;
    o.idle.streams = 200, o.idle.streams_per_device = 20, o.idle.settle_seconds = 0.5;
    o.crypto.seconds = 0.5, o.crypto.setups = 20;
  } else {
    o.ingest = {64, 200, 20000, Direction::kToTherapist};
    o.delivery.rate = 2000, o.delivery.seconds = 5;
    o.drain.backlog = 10000, o.drain.recipients = 4;
    o.depth.queued = 100000, o.depth.messages = 20000;
    o.idle.streams = 2000;
    o.crypto.seconds = 2, o.crypto.setups = 200;
  }
}

// The sizes of `client`: issue 21's, or seconds with --smoke.
void SetClientSizes(Options& o) {
  if (o.smoke) {
    o.client_sync.backlogs = {20, 60}, o.client_sync.raw_messages = 500;
    o.client_sync.repeats = 2;
    o.client_send.messages = 50, o.client_send.threads = {1, 4};
    o.client_listen.bursts = {20, 60};
    o.letters.letters = 5;
    o.profile_open.history = 0, o.profile_open.repeats = 1;
    o.cli_sync.backlogs = {20};
  }
}

void RunClientChosen(Options& o, const Commands& c, std::vector<ScenarioResult>& results) {
  const bool all = c.client->parsed();
  if (all) SetClientSizes(o);
  if (all || *c.client_sync) results.push_back(RunClientSync(o.common, o.client_sync));
  if (all || *c.client_send) results.push_back(RunClientSend(o.common, o.client_send));
  if (all || *c.client_listen) results.push_back(RunClientListen(o.common, o.client_listen));
  if (all || *c.letters) results.push_back(RunLetters(o.common, o.letters));
  if (all || *c.profile_open) results.push_back(RunProfileOpen(o.common, o.profile_open));
  if (all || *c.cli_sync) results.push_back(RunCliSync(o.common, o.cli_sync));
}

std::vector<ScenarioResult> RunChosen(Options& o, const Commands& c) {
  std::vector<ScenarioResult> results;
  if (*c.ingest) results.push_back(RunIngest(o.common, o.ingest));
  if (*c.delivery) results.push_back(RunDelivery(o.common, o.delivery));
  if (*c.drain) results.push_back(RunDrain(o.common, o.drain));
  if (*c.depth) results.push_back(RunDepth(o.common, o.depth));
  if (*c.idle) results.push_back(RunIdle(o.common, o.idle));
  if (*c.crypto) results.push_back(RunCrypto(o.crypto));
  if (*c.all) {
    SetAllSizes(o);
    results.push_back(RunIngest(o.common, o.ingest));
    results.push_back(RunDelivery(o.common, o.delivery));
    results.push_back(RunDrain(o.common, o.drain));
    results.push_back(RunDepth(o.common, o.depth));
    results.push_back(RunIdle(o.common, o.idle));
    results.push_back(RunCrypto(o.crypto));
  }
  RunClientChosen(o, c, results);
  return results;
}

}  // namespace

int main(int argc, char** argv) {
  // A Subscribe stream closed by the server must not kill us with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex lock
  // (gRPC's included) would update a process-wide deadlock graph under a
  // global lock; the server turns that off too (server/main.cc).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{
      "sotto-bench: starts sotto-server on a fresh temporary data dir (127.0.0.1:0) "
      "and measures it through the real RPCs"};
  app.require_subcommand(1);
  app.fallthrough();  // Global options may follow the subcommand too.
  Options o;
  o.common.server_binary = kDefaultServerBinary;
  AddGlobalOptions(app, o);
  const Commands commands{AddIngest(app, o),       AddDelivery(app, o),   AddDrain(app, o),
                          AddDepth(app, o),        AddIdle(app, o),       AddCrypto(app, o),
                          AddAll(app, o),          AddClientSync(app, o), AddClientSend(app, o),
                          AddClientListen(app, o), AddLetters(app, o),    AddProfileOpen(app, o),
                          AddCliSync(app, o),      AddClient(app, o)};
  CLI11_PARSE(app, argc, argv);
  Finish(o);

  const std::vector<ScenarioResult> results = RunChosen(o, commands);
  PrintTable(results);
  bool ok = true;
  for (const ScenarioResult& r : results) ok = ok && r.ok();
  if (!o.json.empty() && !WriteJson(o.json, results)) return 1;
  return ok ? 0 : 1;
}
