// sotto-server check-config [--config FILE] [any serving flag ...]
//
// Checks what `sotto-server` with the same flags and file would check at
// start, and what would make it fail soon after, without starting it (so
// it is safe beside a running server, before a restart): the config file's
// keys and types, every flag's value, the listen address, the TLS files
// (readable, PEM, the key matching the certificate, the certificate not
// expired), the data directory (writable, or creatable) and the key files
// (readable and well-formed, or creatable). It does not open the database
// (a running server holds its lock) and does not bind the port.
//
// Prints "sotto-server check-config: OK: ..." on stdout and exits 0, or
// one line per error on stderr and exits 2.

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/app/key_files.h"
#include "server/cli/commands.h"

namespace sotto::server::cli {
namespace {

namespace fs = std::filesystem;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// The certificate parses, is not expired, and `key_pem` is its key.
absl::Status CheckTlsPair(const std::string& cert_pem, const std::string& key_pem) {
  std::unique_ptr<BIO, BioFree> cert_bio(BIO_new_mem_buf(cert_pem.data(), cert_pem.size()));
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return absl::InvalidArgumentError("--tls-cert: no certificate in the file");
  std::unique_ptr<BIO, BioFree> key_bio(BIO_new_mem_buf(key_pem.data(), key_pem.size()));
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "--tls-key: no unencrypted private key in the file (the server cannot ask for a "
        "passphrase)");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError("--tls-key is not the private key of --tls-cert");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0) {
    return absl::InvalidArgumentError("--tls-cert: the certificate has expired");
  }
  return absl::OkStatus();
}

// `path` (a directory the server writes in, or a file it creates) can be
// made: its nearest existing ancestor is a writable directory.
absl::Status CheckCreatable(const std::string& what, const std::string& path) {
  fs::path parent = fs::absolute(fs::path(path)).parent_path();
  std::error_code ec;
  while (!fs::exists(parent, ec) && parent.has_parent_path() && parent != parent.parent_path()) {
    parent = parent.parent_path();
  }
  if (!fs::is_directory(parent, ec) || access(parent.c_str(), W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": ", path, " does not exist and ", parent.string(),
                     " is not a directory this user may write in"));
  }
  return absl::OkStatus();
}

absl::Status CheckDataDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return CheckCreatable("--data-dir", dir);
  if (!fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError("--data-dir: " + dir + " is not a directory");
  }
  if (access(dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError("--data-dir: " + dir +
                                         " is not readable and writable by this user");
  }
  return absl::OkStatus();
}

// A key file that exists must load (mode 0600, 64 hex digits); one that
// does not is made at start, so its directory must be writable.
absl::Status CheckKeyFile(const std::string& flag, const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return CheckCreatable(flag, path);
  absl::StatusOr<SecretKey> key = LoadKeyFile(path, /*create=*/false);
  if (!key.ok())
    return absl::Status(key.status().code(), flag + ": " + std::string(key.status().message()));
  return absl::OkStatus();
}

// Every problem with `config` that the server would hit at or soon after
// start, one per element.
std::vector<absl::Status> Check(const ServeConfig& config) {
  const rpc::ServerOptions& o = config.server;
  std::vector<absl::Status> errors = {rpc::SottoServer::ValidateOptions(o),
                                      CheckDataDir(o.data_dir)};
  const KeyFilePaths keys =
      ResolveKeyFilePaths(o.data_dir, {o.audit_key_file, o.code_pepper_file, ""});
  errors.push_back(CheckKeyFile("--audit-key-file", keys.audit_key));
  errors.push_back(CheckKeyFile("--code-pepper-file", keys.code_pepper));
  if (!o.tls_cert_pem.empty()) errors.push_back(CheckTlsPair(o.tls_cert_pem, o.tls_key_pem));
  return errors;
}

int Run(const std::function<absl::StatusOr<ServeConfig>()>& load) {
  std::vector<absl::Status> errors;
  absl::StatusOr<ServeConfig> config = load();
  if (config.ok()) {
    errors = Check(*config);
  } else {
    errors.push_back(config.status());
  }
  int failed = 0;
  for (const absl::Status& s : errors) {
    if (s.ok()) continue;
    ++failed;
    for (absl::string_view line : absl::StrSplit(s.message(), '\n')) {
      std::cerr << "sotto-server check-config: " << line << "\n";
    }
  }
  if (failed > 0) return 2;
  const rpc::ServerOptions& o = config->server;
  std::cout << "sotto-server check-config: OK: would listen on " << o.listen_address
            << (o.tls_cert_pem.empty() ? " without TLS" : " with TLS") << ", data in " << o.data_dir
            << "\n";
  return 0;
}

}  // namespace

Subcommand AddCheckConfigCommand(CLI::App& app, std::function<absl::StatusOr<ServeConfig>()> load) {
  CLI::App* command = app.add_subcommand(
      "check-config",
      "check --config FILE and the serving flags as the server would at start, without "
      "starting it; exit 0 if fine, 2 with the errors");
  // The serving flags belong to the root command; after "check-config"
  // they go there (sotto-server check-config --config FILE).
  command->fallthrough();
  return {command, [load = std::move(load)] { return Run(load); }};
}

}  // namespace sotto::server::cli
