// sotto-server migrate --from DIR --to postgres://... [--audit-key-file F]
//
// Copies every table of the RocksDB database in DIR (the server stopped)
// into an empty PostgreSQL database, reads the target back and prints, per
// table, the rows and a SHA-256 that match on both sides, then the audit
// chain verified on the target with the server's audit key (DIR.audit-key
// unless --audit-key-file says otherwise):
//   accounts            3 rows  sha256 5f1c...  (same on both)
//   ...
//   audit trail intact on the target: 12 entries, head 12:ab34...
//   migrated 40 rows from DIR to postgres://sotto@db/sotto
// Then start the nodes with --store URL and the same key files
// (docs/DEPLOYING.md, "Moving a practice from RocksDB"). A target that
// holds any data is refused and nothing is written. Errors: one line on
// stderr, exit 1.

#include <iomanip>
#include <iostream>
#include <memory>
#include <string>

#include "server/app/key_files.h"
#include "server/app/migrate.h"
#include "server/cli/commands.h"
#include "server/cli/options.h"
#include "server/storage/postgres_store.h"

namespace sotto::server::cli {
namespace {

struct MigrateOptions {
  std::string from;
  std::string to;
  KeyFilePaths keys;
};

int RunMigrate(const MigrateOptions& o) {
  if (!IsPostgresUrl(o.to)) {
    return Fail("migrate", absl::InvalidArgumentError(
                               "--to must be a postgres:// or postgresql:// URL, not " + o.to));
  }
  const KeyFilePaths keys = ResolveKeyFilePaths(o.from, o.keys);
  absl::StatusOr<MigrationReport> report = MigrateToPostgres(o.from, o.to, keys.audit_key);
  if (!report.ok()) return Fail("migrate", report.status());
  for (const MigratedTable& t : report->tables) {
    std::cout << "  " << std::left << std::setw(18) << TableName(t.table) << std::right
              << std::setw(10) << t.rows << " rows  sha256 " << t.sha256_hex.substr(0, 16)
              << "  (same on both)\n";
  }
  std::cout << "audit trail intact on the target: " << report->audit_entries << " entries, head "
            << report->audit_head << "\n";
  std::cout << "migrated " << report->rows << " rows from " << o.from << " to "
            << RedactPostgresUrl(o.to) << std::endl;
  return 0;
}

}  // namespace

Subcommand AddMigrateCommand(CLI::App& app) {
  auto o = std::make_shared<MigrateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "migrate", "copy a stopped server's RocksDB data into an empty PostgreSQL database");
  cmd->add_option("--from", o->from, "the RocksDB data directory (the server stopped)")->required();
  cmd->add_option("--to", o->to, "the target database, postgres://USER@HOST:PORT/DB (empty)")
      ->required();
  AddKeyFileOptions(cmd, &o->keys);
  return {cmd, [o] { return RunMigrate(*o); }};
}

}  // namespace sotto::server::cli
