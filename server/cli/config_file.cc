#include "server/cli/config_file.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "toml++/toml.h"

namespace sotto::server::cli {
namespace {

// One key of the file once tables are folded into it ("rate.sends" is
// "rate-sends").
struct Entry {
  std::string key;
  const toml::node* value;
};

void Flatten(const toml::table& table, const std::string& prefix, std::vector<Entry>& out) {
  for (const auto& [key, node] : table) {
    std::string name = prefix + std::string(key.str());
    if (const toml::table* nested = node.as_table()) {
      Flatten(*nested, name + "-", out);
    } else {
      out.push_back({std::move(name), &node});
    }
  }
}

// What TOML type `option` takes, by CLI11's type name ("UINT:INT in
// [1 - 1024]" is an unsigned integer with a range check).
enum class Want { kBoolean, kInteger, kNumber, kString };

Want WantedBy(const CLI::Option& option) {
  const std::string type = option.get_type_name();
  // A flag (add_flag: no value on the command line) has no type name.
  if (option.get_type_size_max() == 0 || type.empty()) return Want::kBoolean;
  const std::string base = type.substr(0, type.find(':'));
  if (base == "INT" || base == "UINT") return Want::kInteger;
  if (base == "FLOAT") return Want::kNumber;
  if (base == "BOOLEAN") return Want::kBoolean;
  return Want::kString;
}

const char* Describe(const toml::node& value) {
  switch (value.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

const char* Describe(Want want) {
  switch (want) {
    case Want::kBoolean:
      return "a boolean (true or false)";
    case Want::kInteger:
      return "an integer";
    case Want::kNumber:
      return "a number";
    case Want::kString:
      return "a string (in quotes)";
  }
  return "?";
}

// The value as the command line would have spelled it, or an error saying
// which type the key takes.
absl::StatusOr<std::string> AsArgument(const toml::node& value, Want want) {
  if (want == Want::kBoolean && value.is_boolean()) {
    return std::string(*value.value<bool>() ? "true" : "false");
  }
  if ((want == Want::kInteger || want == Want::kNumber) && value.is_integer()) {
    return absl::StrCat(*value.value<int64_t>());
  }
  if (want == Want::kNumber && value.is_floating_point()) {
    return absl::StrCat(*value.value<double>());
  }
  if (want == Want::kString && value.is_string()) return *value.value<std::string>();
  return absl::InvalidArgumentError(
      absl::StrCat("must be ", Describe(want), ", got ", Describe(value)));
}

// Sets `option` from `value`; the error without the location.
absl::Status Apply(CLI::Option& option, const toml::node& value) {
  const Want want = WantedBy(option);
  std::vector<std::string> args;
  if (const toml::array* list = value.as_array()) {
    if (option.get_expected_max() <= 1 && option.get_items_expected_max() <= 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("takes one value, not an array: must be ", Describe(want)));
    }
    for (const toml::node& item : *list) {
      absl::StatusOr<std::string> arg = AsArgument(item, want);
      if (!arg.ok()) return arg.status();
      args.push_back(*std::move(arg));
    }
  } else {
    absl::StatusOr<std::string> arg = AsArgument(value, want);
    if (!arg.ok()) return arg.status();
    args.push_back(*std::move(arg));
  }
  option.add_result(args);
  try {
    option.run_callback();  // The option's own checks and conversion.
  } catch (const CLI::Error& e) {
    option.clear();
    return absl::InvalidArgumentError(e.what());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyConfigFile(CLI::App& app, const std::string& path,
                             const std::vector<std::string>& reserved) {
  if (!std::ifstream(path)) return absl::NotFoundError("--config: cannot read " + path);
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.source().begin.line, ":",
                                                   e.source().begin.column, ": ",
                                                   std::string(e.description())));
  }
  std::vector<Entry> entries;
  Flatten(root, "", entries);
  // Tables iterate by key; errors read best in the file's order.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.value->source().begin.line < b.value->source().begin.line;
  });
  std::vector<std::string> errors;
  // Options the command line set, before the file sets others.
  std::set<const CLI::Option*> from_flags;
  for (const CLI::Option* option : app.get_options()) {
    if (option->count() > 0) from_flags.insert(option);
  }
  std::map<std::string, int64_t> seen;  // key -> line, for "set twice"
  for (const Entry& entry : entries) {
    const int64_t line = entry.value->source().begin.line;
    const std::string where = absl::StrCat(path, ":", line, ": key \"", entry.key, "\": ");
    CLI::Option* option = nullptr;
    if (std::find(reserved.begin(), reserved.end(), entry.key) == reserved.end()) {
      option = app.get_option_no_throw("--" + entry.key);
    }
    if (option == nullptr || option->get_positional()) {
      errors.push_back(where + "unknown key (the keys are sotto-server's flags without \"--\")");
      continue;
    }
    if (auto [it, added] = seen.emplace(entry.key, line); !added) {
      errors.push_back(absl::StrCat(where, "set twice (also on line ", it->second,
                                    "; [table] key is table-key)"));
      continue;
    }
    if (from_flags.count(option) > 0) continue;  // The command line wins.
    if (absl::Status s = Apply(*option, *entry.value); !s.ok()) {
      errors.push_back(where + std::string(s.message()));
    }
  }
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
}

}  // namespace sotto::server::cli
