#include "link_job.h"

#include <utility>

#include "nlohmann/json.hpp"
#include "qr.h"
#include "secret.h"
#include "sotto/devices.h"

namespace sotto::desk {

LinkJob::~LinkJob() {
  std::thread thread;
  {
    absl::MutexLock lock(&mu_);
    cancel_ = true;
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
  absl::MutexLock lock(&mu_);
  cli::Wipe(code_);
}

absl::Status LinkJob::Start() {
  absl::StatusOr<Client*> client = session_.OpenClient();
  if (!client.ok()) return client.status();
  std::thread finished;
  {
    absl::MutexLock lock(&mu_);
    if (running_) {
      return absl::AlreadyExistsError(
          "a new device is being linked already: finish or cancel that one first");
    }
    finished = std::move(thread_);  // a linking that ended: its thread is done
  }
  if (finished.joinable()) finished.join();
  absl::MutexLock lock(&mu_);
  if (running_) return absl::AlreadyExistsError("a new device is being linked already");
  running_ = true;
  cancel_ = false;
  stage_ = "starting";
  error_.clear();
  thread_ = std::thread([this, c = *client] { Run(c); });
  return absl::OkStatus();
}

void LinkJob::Cancel() {
  absl::MutexLock lock(&mu_);
  cancel_ = true;
}

std::string LinkJob::StatusJson() {
  absl::MutexLock lock(&mu_);
  return StatusJsonLocked();
}

std::string LinkJob::StatusJsonLocked() {
  const bool waiting = stage_ == "waiting";
  nlohmann::json j = {
      {"stage", stage_},
      {"code", waiting ? nlohmann::json(code_) : nlohmann::json()},
      {"qr_svg", waiting ? nlohmann::json(qr_svg_) : nlohmann::json()},
      {"expires_at_ms", waiting ? nlohmann::json(expires_at_ms_) : nlohmann::json()},
      {"error", error_.empty() ? nlohmann::json() : nlohmann::json(error_)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void LinkJob::Moved(const char* stage, const std::string& error) {
  std::string event;
  {
    absl::MutexLock lock(&mu_);
    stage_ = stage;
    error_ = error;
    if (stage_ != "waiting") {
      cli::Wipe(code_);
      code_.clear();
      qr_svg_.clear();
    }
    event = StatusJsonLocked();
  }
  hub_.Publish("link", event);
}

void LinkJob::Run(Client* client) {
  LinkDeviceOptions options;
  options.on_code = [this](const std::string& code, absl::Time expires_at) {
    absl::StatusOr<std::string> qr = cli::QrSvg(code);
    {
      absl::MutexLock lock(&mu_);
      code_ = code;
      qr_svg_ = qr.ok() ? *qr : "";
      expires_at_ms_ = absl::ToUnixMillis(expires_at);
    }
    Moved("waiting");
  };
  options.on_progress = [this](LinkStage stage) {
    if (stage == LinkStage::kSendingKeys) Moved("sending_keys");
  };
  options.cancelled = [this] {
    absl::MutexLock lock(&mu_);
    return cancel_;
  };
  absl::Status linked = client->LinkDevice(options);
  if (linked.ok()) {
    Moved("sent");
  } else if (absl::IsCancelled(linked)) {
    Moved("cancelled");
  } else {
    Moved("failed", std::string(linked.message()));
  }
  absl::MutexLock lock(&mu_);
  running_ = false;
}

}  // namespace sotto::desk
