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
//   revoked     leaf for the same names, right CA, for a CRL to list
//   other_ca    a second, unrelated self-signed CA
//   other_ca_server  leaf for 127.0.0.1 / localhost issued by other_ca
// Certificate revocation lists are made with OpenSSL's X509_CRL API
// (MakeCrl): signed by a CA's key, listing any of the leaves, current or
// already out of date. Link OpenSSL::Crypto (sotto::testing does).
// The destructor deletes the directory. Not thread-safe; Make() is slow-ish
// (a few openssl runs, ~100 ms), so make one set per test process with
// Shared() (ctest runs each test in its own process):
//
//   void SetUp() override { ASSERT_OK_AND_ASSIGN(certs_, TestCerts::Shared()); }
//   const TestCerts* certs_ = nullptr;

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

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
  KeyPair revoked;
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

  // One set for the whole test process, made on first use and deleted at
  // exit. Make's error (the same each time) if it could not be made.
  static absl::StatusOr<const TestCerts*> Shared() {
    static const absl::StatusOr<std::unique_ptr<TestCerts>> made = Make();
    if (!made.ok()) return made.status();
    return made->get();
  }

  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;
  ~TestCerts() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The temporary directory holding the PEM files.
  const std::string& dir() const { return dir_; }

  // A CRL (PEM) issued by `issuer` (ca or other_ca: its name, signed with its
  // key) that lists the certificates in `revoked` by serial number. It was
  // issued an hour ago; its nextUpdate is `next_update_seconds` from now
  // (negative: already out of date). `issued_seconds_ago` moves lastUpdate
  // (a later list for MergeCrls). INTERNAL if OpenSSL fails.
  absl::StatusOr<std::string> MakeCrl(const KeyPair& issuer,
                                      const std::vector<const KeyPair*>& revoked,
                                      long next_update_seconds = 24 * 3600,
                                      long issued_seconds_ago = 3600) const {
    auto fail = [](const char* what) {
      return absl::InternalError(std::string("test CRL: ") + what + " failed");
    };
    using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free_all)>;
    using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
    BioPtr key_bio(BIO_new_mem_buf(issuer.key_pem.data(), static_cast<int>(issuer.key_pem.size())),
                   &BIO_free_all);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
    X509Ptr ca = ParseCert(issuer.cert_pem);
    if (!key || !ca) return fail("reading the issuer");
    std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(X509_CRL_new(), &X509_CRL_free);
    const time_t now = time(nullptr);
    std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> last(
        ASN1_TIME_adj(nullptr, now, 0, -issued_seconds_ago), &ASN1_TIME_free);
    std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> next(
        ASN1_TIME_adj(nullptr, now, 0, next_update_seconds), &ASN1_TIME_free);
    if (!crl || !last || !next || X509_CRL_set_version(crl.get(), 1) != 1 ||
        X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get())) != 1 ||
        X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
        X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
      return fail("building the CRL");
    }
    for (const KeyPair* pair : revoked) {
      X509Ptr cert = ParseCert(pair->cert_pem);
      X509_REVOKED* entry = X509_REVOKED_new();
      if (!cert || entry == nullptr ||
          X509_REVOKED_set_serialNumber(entry, X509_get_serialNumber(cert.get())) != 1 ||
          X509_REVOKED_set_revocationDate(entry, last.get()) != 1 ||
          X509_CRL_add0_revoked(crl.get(), entry) != 1) {
        X509_REVOKED_free(entry);
        return fail("listing a revoked certificate");
      }
    }
    if (X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), key.get(), EVP_sha256()) <= 0) {
      return fail("signing the CRL");
    }
    BioPtr out(BIO_new(BIO_s_mem()), &BIO_free_all);
    if (!out || PEM_write_bio_X509_CRL(out.get(), crl.get()) != 1) return fail("writing PEM");
    char* data = nullptr;
    const long n = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<size_t>(n));
  }

  // Writes `text` to DIR/name and returns the path (for `sotto --crl FILE`).
  std::string WriteFile(const std::string& name, const std::string& text) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

 private:
  explicit TestCerts(std::string dir) : dir_(std::move(dir)) {}

  static std::unique_ptr<X509, decltype(&X509_free)> ParseCert(const std::string& pem) {
    std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free_all);
    return {bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, &X509_free};
  }

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
    for (auto [path, text] :
         {std::pair{&out.cert_path, &out.cert_pem}, std::pair{&out.key_path, &out.key_pem}}) {
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
    if (!(s = MakeLeaf("revoked", "ca", "localhost", kLocalNames, 2)).ok()) return s;
    if (!(s = MakeLeaf("other_ca_server", "other_ca", "localhost", kLocalNames, 2)).ok()) {
      return s;
    }
    for (auto [name, pair] :
         {std::pair{"ca", &ca}, std::pair{"server", &server}, std::pair{"expired", &expired},
          std::pair{"wrong_host", &wrong_host}, std::pair{"revoked", &revoked},
          std::pair{"other_ca", &other_ca}, std::pair{"other_ca_server", &other_ca_server}}) {
      if (!(s = Load(name, *pair)).ok()) return s;
    }
    return absl::OkStatus();
  }

  std::string dir_;
};

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_TEST_CERTS_H_
