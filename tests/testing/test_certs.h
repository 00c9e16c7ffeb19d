#ifndef SOTTO_TESTS_TESTING_TEST_CERTS_H_
#define SOTTO_TESTS_TESTING_TEST_CERTS_H_

// Throw-away TLS certificates for tests, made at run time with the `openssl`
// command in a fresh temporary directory (header-only, POSIX; needs
// `openssl` on PATH). Nothing is checked in, so nothing expires in the repo.
//
//   auto certs = sotto::testing::TestCerts::Make();
//   ASSERT_TRUE(certs.ok()) << certs.status();
//   const sotto::testing::TestCerts& c = **certs;
//   // Serve with c.server (valid for 127.0.0.1, ::1 and localhost, issued by c.ca):
//   //   grpc::SslServerCredentialsOptions o;
//   //   o.pem_key_cert_pairs.push_back({c.server.key_pem, c.server.cert_pem});
//   // Trust only the test CA on the client:
//   //   grpc::SslCredentialsOptions co; co.pem_root_certs = c.ca.cert_pem;
//
// Every KeyPair has PEM text and the path of the same PEM on disk (for
// `sotto-server --tls-cert PATH --tls-key PATH` or `sotto --ca-cert PATH`).
// The key pairs, all EC P-256:
//   ca          a self-signed CA, valid 2 days; signs everything below except
//               other_ca_server
//   server      leaf for 127.0.0.1 / ::1 / localhost (subjectAltName)
//   expired     leaf for the same names whose notAfter is already past
//   wrong_host  leaf for wrong-host.example only (right CA, wrong name)
//   other_ca    a second, unrelated self-signed CA
//   other_ca_server  leaf for 127.0.0.1 / localhost issued by other_ca
// The destructor deletes the directory. Not thread-safe; Make() is slow-ish
// (a few openssl runs, ~100 ms), so make one set per test suite if you can.

#include <stdlib.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sotto::testing {

class TestCerts {
 public:
  struct KeyPair {
    std::string cert_pem;
    std::string key_pem;
    std::string cert_path;
    std::string key_path;
  };

  KeyPair ca;
  KeyPair server;
  KeyPair expired;
  KeyPair wrong_host;
  KeyPair other_ca;
  KeyPair other_ca_server;

  // Generates every key pair above. Errors: INTERNAL naming the openssl
  // command that failed (its stderr is in DIR/openssl.log).
  static absl::StatusOr<std::unique_ptr<TestCerts>> Make() {
    const char* tmp = getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/sotto-certs-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError("mkdtemp failed: " + std::string(strerror(errno)));
    }
    std::unique_ptr<TestCerts> certs(new TestCerts(pattern));
    absl::Status s = certs->Generate();
    if (!s.ok()) return s;
    return certs;
  }

  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;
  ~TestCerts() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The temporary directory holding the PEM files.
  const std::string& dir() const { return dir_; }

 private:
  explicit TestCerts(std::string dir) : dir_(std::move(dir)) {}

  static constexpr char kLocalNames[] = "DNS:localhost,IP:127.0.0.1,IP:::1";

  absl::Status Run(const std::string& args) {
    std::string cmd = "cd '" + dir_ + "' && openssl " + args + " >>openssl.log 2>&1";
    int rc = system(cmd.c_str());
    if (rc != 0) {
      return absl::InternalError("test certificates: `openssl " + args + "` failed (status " +
                                 std::to_string(rc) + "); see " + dir_ + "/openssl.log");
    }
    return absl::OkStatus();
  }

  absl::Status Load(const std::string& name, KeyPair& out) {
    out.cert_path = dir_ + "/" + name + ".pem";
    out.key_path = dir_ + "/" + name + ".key";
    for (auto [path, text] : {std::pair{&out.cert_path, &out.cert_pem},
                              std::pair{&out.key_path, &out.key_pem}}) {
      std::ifstream in(*path);
      std::stringstream ss;
      ss << in.rdbuf();
      *text = ss.str();
      if (text->empty()) return absl::InternalError("test certificates: empty " + *path);
    }
    return absl::OkStatus();
  }

  absl::Status MakeCa(const std::string& name) {
    absl::Status s = Run("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                         name + ".key -out " + name + ".pem -days 2 -subj /CN=" + name +
                         " -addext basicConstraints=critical,CA:TRUE"
                         " -addext keyUsage=critical,keyCertSign,cRLSign");
    return s;
  }

  // A leaf for `names` (a subjectAltName list) signed by `ca`, valid `days`
  // (-1: already expired).
  absl::Status MakeLeaf(const std::string& name, const std::string& ca, const std::string& cn,
                        const std::string& names, int days) {
    {
      std::ofstream ext(dir_ + "/" + name + ".ext");
      ext << "subjectAltName=" << names << "\n"
          << "basicConstraints=CA:FALSE\n"
          << "extendedKeyUsage=serverAuth\n";
    }
    absl::Status s = Run("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                         name + ".key -out " + name + ".csr -subj /CN=" + cn);
    if (!s.ok()) return s;
    return Run("x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca +
               ".key -CAcreateserial -out " + name + ".pem -days " + std::to_string(days) +
               " -extfile " + name + ".ext");
  }

  absl::Status Generate() {
    absl::Status s;
    if (!(s = MakeCa("ca")).ok()) return s;
    if (!(s = MakeCa("other_ca")).ok()) return s;
    if (!(s = MakeLeaf("server", "ca", "localhost", kLocalNames, 2)).ok()) return s;
    if (!(s = MakeLeaf("expired", "ca", "localhost", kLocalNames, -1)).ok()) return s;
    if (!(s = MakeLeaf("wrong_host", "ca", "wrong-host.example", "DNS:wrong-host.example", 2))
             .ok()) {
      return s;
    }
    if (!(s = MakeLeaf("other_ca_server", "other_ca", "localhost", kLocalNames, 2)).ok()) {
      return s;
    }
    for (auto [name, pair] : {std::pair{"ca", &ca}, std::pair{"server", &server},
                              std::pair{"expired", &expired}, std::pair{"wrong_host", &wrong_host},
                              std::pair{"other_ca", &other_ca},
                              std::pair{"other_ca_server", &other_ca_server}}) {
      if (!(s = Load(name, *pair)).ok()) return s;
    }
    return absl::OkStatus();
  }

  std::string dir_;
};

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_TEST_CERTS_H_
