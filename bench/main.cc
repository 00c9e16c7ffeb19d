// sotto-bench: load generator for sotto-server (issue 5). See bench/README.md.

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/synchronization/mutex.h"

#include "bench/report.h"
#include "bench/scenarios.h"
#include "bench/world.h"
#include "bench/server_launcher.h"

namespace {

using namespace sotto::bench;

Direction ParseDirection(const std::string& s) {
  return s == "to-client" ? Direction::kToClient : Direction::kToTherapist;
}

}  // namespace

int main(int argc, char** argv) {
  // A Subscribe stream closed by the server must not kill us with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex lock
  // (gRPC's included) would update a process-wide deadlock graph under a
  // global lock; the server turns that off too (server/main.cc).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"sotto-bench: starts sotto-server on a fresh temporary data dir (127.0.0.1:0) "
               "and measures it through the real RPCs"};
  app.require_subcommand(1);
  app.fallthrough();  // Global options may follow the subcommand too.
  Common common;
  common.server_binary = kDefaultServerBinary;
  std::vector<std::string> server_args;
  bool keep_rate_limits = false;
  std::string json;
  int phase_limit = 600;
  bool no_ceiling = false;
  app.add_option("--json", json, "also write the results as JSON to FILE");
  app.add_option("--server-binary", common.server_binary, "sotto-server to start");
  app.add_option("--phase-limit", phase_limit, "seconds any timed phase or fill may take")
      ->check(CLI::Range(1, 7200));
  app.add_flag("--no-ceiling", no_ceiling, "skip the synced RocksDB write ceiling");
  app.add_option("--server-arg", server_args, "extra sotto-server flag (repeatable)");
  app.add_flag("--keep-rate-limits", keep_rate_limits,
               "do not turn off the server's --rate-* limits (on by default they would "
               "throttle a load generator's few devices)");

  const std::vector<std::string> directions = {"to-therapist", "to-client"};
  std::string direction = "to-therapist";

  IngestOptions ingest;
  auto* ingest_cmd = app.add_subcommand("ingest", "C concurrent durable Sends of S-byte envelopes");
  ingest_cmd->add_option("--concurrency,-c", ingest.concurrency)->check(CLI::Range(1, 4096));
  ingest_cmd->add_option("--size,-s", ingest.size)->check(CLI::Range(1, 65536));
  ingest_cmd->add_option("--messages,-n", ingest.messages)->check(CLI::Range(1, 100000000));
  ingest_cmd->add_option("--direction", direction)->check(CLI::IsMember(directions));

  DeliveryOptions delivery;
  auto* delivery_cmd =
      app.add_subcommand("delivery", "send->receive latency to Subscribe streams at a fixed rate");
  delivery_cmd->add_option("--rate,-r", delivery.rate)->check(CLI::Range(1.0, 1e6));
  delivery_cmd->add_option("--seconds,-t", delivery.seconds)->check(CLI::Range(0.1, 3600.0));
  delivery_cmd->add_option("--recipients", delivery.recipients)->check(CLI::Range(1, 10000));
  delivery_cmd->add_option("--size,-s", delivery.size)->check(CLI::Range(16, 65536));
  delivery_cmd->add_option("--max-in-flight", delivery.max_in_flight)->check(CLI::Range(1, 1000000));
  delivery_cmd->add_option("--direction", direction)->check(CLI::IsMember(directions));

  DrainOptions drain;
  auto* drain_cmd = app.add_subcommand("drain", "Fetch + Ack a backlog; envelopes/s");
  drain_cmd->add_option("--backlog,-n", drain.backlog, "envelopes per device (<= 10000)")
      ->check(CLI::Range(1, 10000));
  drain_cmd->add_option("--recipients", drain.recipients)->check(CLI::Range(1, 1024));
  drain_cmd->add_option("--batch", drain.batch)->check(CLI::Range(1, 1000));
  drain_cmd->add_option("--size,-s", drain.size)->check(CLI::Range(1, 65536));
  drain_cmd->add_option("--fill-concurrency", drain.fill_concurrency)->check(CLI::Range(1, 4096));

  DepthOptions depth;
  auto* depth_cmd =
      app.add_subcommand("depth", "ingest into an empty store vs with N envelopes queued");
  depth_cmd->add_option("--queued,-q", depth.queued)->check(CLI::Range(1, 100000000));
  depth_cmd->add_option("--messages,-n", depth.messages)->check(CLI::Range(1, 100000000));
  depth_cmd->add_option("--concurrency,-c", depth.concurrency)->check(CLI::Range(1, 4096));
  depth_cmd->add_option("--size,-s", depth.size)->check(CLI::Range(1, 65536));
  depth_cmd->add_option("--fill-concurrency", depth.fill_concurrency)->check(CLI::Range(1, 4096));
  depth_cmd->add_option("--settle-max", depth.settle_max_seconds,
                        "after the fill, wait up to this long for the server to go idle (0: no wait)")
      ->check(CLI::Range(0.0, 3600.0));
  depth_cmd->add_option("--direction", direction)->check(CLI::IsMember(directions));

  IdleOptions idle;
  auto* idle_cmd = app.add_subcommand("idle", "N open Subscribe streams; server RSS and threads");
  idle_cmd->add_option("--streams,-n", idle.streams)->check(CLI::Range(1, 100000));
  idle_cmd->add_option("--streams-per-device", idle.streams_per_device)->check(CLI::Range(1, 100000));
  idle_cmd->add_option("--settle", idle.settle_seconds)->check(CLI::Range(0.0, 600.0));

  CryptoOptions crypto;
  auto* crypto_cmd =
      app.add_subcommand("crypto", "client-lib Engine encrypt+decrypt pairs/s and set-ups/s");
  crypto_cmd->add_option("--seconds,-t", crypto.seconds)->check(CLI::Range(0.1, 600.0));
  crypto_cmd->add_option("--size,-s", crypto.size)->check(CLI::Range(1, 65536));
  crypto_cmd->add_option("--setups", crypto.setups)->check(CLI::Range(1, 999));
  bool no_pin = false;
  crypto_cmd->add_flag("--no-pin", no_pin, "do not pin the thread to one CPU");

  bool smoke = false;
  auto* all_cmd = app.add_subcommand("all", "every scenario at reduced sizes");
  all_cmd->add_flag("--smoke", smoke, "CI-sized: tiny sizes, about 30 s in all");

  CLI11_PARSE(app, argc, argv);
  common.phase_limit = std::chrono::seconds(phase_limit);
  common.ceiling = !no_ceiling;
  crypto.pin = !no_pin;
  if (!keep_rate_limits) common.server_args = RateLimitsOffArgs(common.server_binary);
  common.server_args.insert(common.server_args.end(), server_args.begin(), server_args.end());
  const Direction dir = ParseDirection(direction);
  ingest.direction = delivery.direction = depth.direction = dir;

  std::vector<ScenarioResult> results;
  if (*ingest_cmd) results.push_back(RunIngest(common, ingest));
  if (*delivery_cmd) results.push_back(RunDelivery(common, delivery));
  if (*drain_cmd) results.push_back(RunDrain(common, drain));
  if (*depth_cmd) results.push_back(RunDepth(common, depth));
  if (*idle_cmd) results.push_back(RunIdle(common, idle));
  if (*crypto_cmd) results.push_back(RunCrypto(crypto));
  if (*all_cmd) {
    if (smoke) {
      ingest = {8, 200, 400, Direction::kToTherapist};
      delivery.rate = 200, delivery.seconds = 2, delivery.recipients = 8;
      drain.backlog = 200, drain.recipients = 4, drain.batch = 100, drain.fill_concurrency = 16;
      // Small enough to stay under the server's default rate limits too
      // (20 registrations per address, 300 sends per device at once).
      depth.queued = 800, depth.messages = 200, depth.concurrency = 4, depth.fill_concurrency = 8;
      idle.streams = 200, idle.streams_per_device = 20, idle.settle_seconds = 0.5;
      crypto.seconds = 0.5, crypto.setups = 20;
    } else {
      ingest = {64, 200, 20000, Direction::kToTherapist};
      delivery.rate = 2000, delivery.seconds = 5;
      drain.backlog = 10000, drain.recipients = 4;
      depth.queued = 100000, depth.messages = 20000;
      idle.streams = 2000;
      crypto.seconds = 2, crypto.setups = 200;
    }
    results.push_back(RunIngest(common, ingest));
    results.push_back(RunDelivery(common, delivery));
    results.push_back(RunDrain(common, drain));
    results.push_back(RunDepth(common, depth));
    results.push_back(RunIdle(common, idle));
    results.push_back(RunCrypto(crypto));
  }

  PrintTable(results);
  bool ok = true;
  for (const ScenarioResult& r : results) ok = ok && r.ok();
  if (!json.empty() && !WriteJson(json, results)) return 1;
  return ok ? 0 : 1;
}
