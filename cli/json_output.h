#ifndef SOTTO_CLI_JSON_OUTPUT_H_
#define SOTTO_CLI_JSON_OUTPUT_H_

// The documents `sotto <command> --json` prints: one JSON object per run,
// snake_case keys, each time as `<name>_ms` (Unix ms) and `<name>` (ISO 8601
// UTC), ids as lowercase hex. docs/CLI.md documents every shape; they are a
// stable interface for scripts: add members, never rename or remove one.

#include <string>
#include <utility>
#include <vector>

#include "sotto/client.h"

namespace sotto::cli {

// `inbox --json`: {"conversations": [...]}, newest first.
std::string InboxJson(const std::vector<Conversation>& conversations);

// `read USER --json`: {"peer": USER, "messages": [...]}, oldest first.
std::string ConversationJson(const std::string& peer, const std::vector<Message>& messages);

// One element of ConversationJson's "messages", as a document of its own
// (what `sotto desk` sends for a message: docs/DESK.md).
std::string MessageJson(const Message& message);

// `queue --json`: {"include_all", "now_ms", "now", "entries": [...]}.
std::string QueueJson(const QueueView& view, bool include_all);

// `links --json`: {"links": [...]}.
std::string LinksJson(const std::vector<CareLink>& links);

// `policy --json`: {"policies": [...], "emergency_note"}; one entry per
// therapist shown.
std::string PoliciesJson(const std::vector<std::pair<std::string, PolicyView>>& views);

// `safety-number USER --json`.
std::string SafetyNumberJson(const std::string& peer, const SafetyNumberInfo& number);

}  // namespace sotto::cli

#endif  // SOTTO_CLI_JSON_OUTPUT_H_
