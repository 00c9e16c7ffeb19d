// Certificate revocation lists as the client keeps them: parsed from PEM,
// the newest per issuer kept, laid out under OpenSSL's hashed names for gRPC.
// CRLs are made at run time with OpenSSL (tests/testing/test_certs.h).

#include "client-lib/transport/crl.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/test_certs.h"

namespace sotto::client::transport {
namespace {

using ::sotto::testing::IsOk;
using ::sotto::testing::StatusIs;
using ::sotto::testing::TestCerts;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class CrlTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(certs_, TestCerts::Shared()); }

  // A CRL of `issuer` revoking `revoked`, issued `ago` seconds ago.
  std::string Crl(const TestCerts::KeyPair& issuer, std::vector<const TestCerts::KeyPair*> revoked,
                  long ago = 3600, long next = 24 * 3600) const {
    auto crl = certs_->MakeCrl(issuer, revoked, next, ago);
    EXPECT_TRUE(crl.ok()) << crl.status();
    return crl.ok() ? *crl : "";
  }

  // How many certificates the (single) CRL in `pem` lists.
  static int RevokedCount(const std::string& pem) {
    std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free_all);
    std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(
        PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr), &X509_CRL_free);
    if (!crl) return -1;
    // An empty list has no revoked-certificates field at all (NULL).
    STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
    return revoked == nullptr ? 0 : sk_X509_REVOKED_num(revoked);
  }

  const TestCerts* certs_ = nullptr;
};

TEST_F(CrlTest, ParsesEveryCrlInThePemWithIssuerAndDates) {
  const std::string both = absl::StrCat("a comment line\n", Crl(certs_->ca, {&certs_->revoked}),
                                        "\n", Crl(certs_->other_ca, {}, 60, 3600));
  ASSERT_OK_AND_ASSIGN(std::vector<CrlInfo> crls, ParseCrls(both));
  ASSERT_THAT(crls, SizeIs(2));
  EXPECT_EQ(crls[0].issuer, "CN=ca");
  EXPECT_EQ(crls[1].issuer, "CN=other_ca");
  EXPECT_LT(crls[0].last_update, absl::Now());
  EXPECT_GT(crls[0].next_update, absl::Now() + absl::Hours(23));
  EXPECT_LT(crls[1].next_update, absl::Now() + absl::Hours(2));
  EXPECT_THAT(crls[0].pem, HasSubstr("-----BEGIN X509 CRL-----"));
}

TEST_F(CrlTest, AnythingButACrlIsInvalidArgument) {
  EXPECT_THAT(ParseCrls(""), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("no certificate revocation list")));
  EXPECT_THAT(ParseCrls(certs_->ca.cert_pem),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no certificate revocation")));
  EXPECT_THAT(ParseCrls("-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not parse")));
  std::string cut = Crl(certs_->ca, {});
  cut.resize(cut.size() / 2);
  EXPECT_THAT(ParseCrls(cut), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(CrlTest, MergeKeepsTheNewestListPerIssuerSoAnOlderOneCannotUnrevoke) {
  const std::string old_empty = Crl(certs_->ca, {}, /*ago=*/7200);
  const std::string newer_revoking = Crl(certs_->ca, {&certs_->revoked}, /*ago=*/60);
  const std::string other = Crl(certs_->other_ca, {});

  ASSERT_OK_AND_ASSIGN(std::string merged, MergeCrls(old_empty, newer_revoking));
  EXPECT_EQ(RevokedCount(merged), 1);
  ASSERT_OK_AND_ASSIGN(merged, MergeCrls(merged, old_empty));
  EXPECT_EQ(RevokedCount(merged), 1) << "an older list must not replace a newer one";
  ASSERT_OK_AND_ASSIGN(merged, MergeCrls(merged, other));
  ASSERT_OK_AND_ASSIGN(std::vector<CrlInfo> crls, ParseCrls(merged));
  std::vector<std::string> issuers;
  for (const CrlInfo& c : crls) issuers.push_back(c.issuer);
  EXPECT_THAT(issuers, ElementsAre("CN=ca", "CN=other_ca"));
  ASSERT_OK_AND_ASSIGN(merged, MergeCrls("", old_empty));
  EXPECT_EQ(RevokedCount(merged), 0);
  EXPECT_THAT(MergeCrls(old_empty, "garbage"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MergeCrls("garbage", old_empty), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(CrlTest, AnOutOfDateCrlIsFailedPreconditionNamingItsIssuer) {
  const std::string current = Crl(certs_->ca, {});
  const std::string stale = Crl(certs_->other_ca, {}, /*ago=*/7200, /*next=*/-3600);
  EXPECT_THAT(CheckCrlsCurrent(current, absl::Now()), IsOk());
  EXPECT_THAT(CheckCrlsCurrent("", absl::Now()), IsOk());
  EXPECT_THAT(CheckCrlsCurrent(current + stale, absl::Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("revocation list of CN=other_ca is out of date")));
  EXPECT_THAT(CheckCrlsCurrent(current, absl::Now() + absl::Hours(48)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("CN=ca")));
}

TEST_F(CrlTest, DirectoryHoldsEachCrlUnderItsIssuersHashAndGoesAway) {
  const std::string pem = Crl(certs_->ca, {&certs_->revoked}) + Crl(certs_->other_ca, {});
  std::string path;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<CrlDirectory> dir, CrlDirectory::Create(pem));
    path = dir->path();
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all);
    for (const TestCerts::KeyPair* issuer : {&certs_->ca, &certs_->other_ca}) {
      std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(
          BIO_new_mem_buf(issuer->cert_pem.data(), static_cast<int>(issuer->cert_pem.size())),
          &BIO_free_all);
      std::unique_ptr<X509, decltype(&X509_free)> cert(
          PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
      ASSERT_TRUE(cert);
      // The name `openssl rehash` gives it, which OpenSSL's directory lookup
      // (and so gRPC) looks for.
      const std::string name = absl::StrFormat(
          "%08lx.r0",
          X509_NAME_hash_ex(X509_get_subject_name(cert.get()), nullptr, nullptr, nullptr));
      EXPECT_TRUE(std::filesystem::exists(path + "/" + name)) << name;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_THAT(CrlDirectory::Create("nothing"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sotto::client::transport
