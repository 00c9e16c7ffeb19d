// The test vectors of docs/protocol-vectors.txt, which docs/PROTOCOL.md quotes:
// a fixed key set gives a known safety number (displayable and scannable), a
// fixed Content gives known encoded and padded bytes. Each value is checked
// three ways — against the file, against the client library (libsignal via
// the Engine; the content codec), and against an implementation written here
// from PROTOCOL.md's words alone — so the document, the vectors and the code
// cannot drift apart without this test failing.

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client-lib/content/codec.h"
#include "client-lib/content/padding.h"
#include "client-lib/signal/engine.h"
#include "client-lib/signal/store_bridge.h"
#include "client-lib/storage/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sotto/local_store.h"
#include "sotto/v1/content.pb.h"
#include "testing/status_matchers.h"

namespace sotto::client {
namespace {

using ::sotto::testing::StatusIs;
using ::sotto::v1::content::Content;
using ::sotto::v1::content::Receipt;

constexpr char kVectorsPath[] = SOTTO_SOURCE_DIR "/docs/protocol-vectors.txt";
constexpr char kProtocolPath[] = SOTTO_SOURCE_DIR "/docs/PROTOCOL.md";
// PROTOCOL.md quotes the vectors file between these two lines, inside a
// ``` fence.
constexpr char kBeginMarker[] = "<!-- BEGIN docs/protocol-vectors.txt -->";
constexpr char kEndMarker[] = "<!-- END docs/protocol-vectors.txt -->";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// name -> value of every `name = value` line; comments and blank lines skipped.
std::map<std::string, std::string> ParseVectors(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits(" = ", 1));
    out[kv.first] = kv.second;
  }
  return out;
}

class ProtocolVectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = ReadFile(kVectorsPath);
    ASSERT_FALSE(file_.empty()) << "cannot read " << kVectorsPath;
    v_ = ParseVectors(file_);
  }

  // The vector `name`; fails the test if the file lacks it.
  std::string V(const std::string& name) {
    auto it = v_.find(name);
    EXPECT_NE(it, v_.end()) << name << " is missing from " << kVectorsPath;
    return it == v_.end() ? std::string() : it->second;
  }
  std::string Bytes(const std::string& name) { return absl::HexStringToBytes(V(name)); }

  std::string file_;
  std::map<std::string, std::string> v_;
};

// ---- safety numbers, from PROTOCOL.md's description ----

std::string Sha512(const std::string& data) {
  unsigned char out[SHA512_DIGEST_LENGTH];
  SHA512(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

// One side's 64-byte fingerprint hash: SHA-512 iterated 5200 times over
// (previous hash || identity key), starting from 0x00 0x00 || key || handle.
std::string SideHash(const std::string& identity_key, const std::string& handle) {
  std::string h = std::string("\x00\x00", 2) + identity_key + handle;
  for (int i = 0; i < 5200; ++i) h = Sha512(h + identity_key);
  return h;
}

// The first 30 bytes of a side's hash as six 5-byte big-endian numbers, each
// mod 100000 written as 5 digits.
std::string SideDigits(const std::string& hash) {
  std::string out;
  for (int i = 0; i < 30; i += 5) {
    uint64_t chunk = 0;
    for (int k = 0; k < 5; ++k) chunk = (chunk << 8) | static_cast<uint8_t>(hash[i + k]);
    char buf[6];
    std::snprintf(buf, sizeof(buf), "%05u", static_cast<unsigned>(chunk % 100000));
    out += buf;
  }
  return out;
}

// CombinedFingerprints { version: 1, localFingerprint { content: local[0..32) },
// remoteFingerprint { content: remote[0..32) } }, protobuf-encoded by hand.
std::string Scannable(const std::string& local_hash, const std::string& remote_hash) {
  std::string out("\x08\x01", 2);
  for (const auto& [tag, hash] : {std::pair<char, const std::string*>{'\x12', &local_hash},
                                  std::pair<char, const std::string*>{'\x1a', &remote_hash}}) {
    out += tag;
    out += '\x22';  // LogicalFingerprint: 34 bytes follow
    out += "\x0a\x20";
    out += hash->substr(0, 32);
  }
  return out;
}

// X25519 public key of a 32-byte private key, in Signal's 33-byte form.
std::string SignalPublicKey(const std::string& priv) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_X25519, nullptr, reinterpret_cast<const unsigned char*>(priv.data()), priv.size());
  if (key == nullptr) return "";
  unsigned char pub[32];
  size_t len = sizeof(pub);
  const bool ok = EVP_PKEY_get_raw_public_key(key, pub, &len) == 1 && len == 32;
  EVP_PKEY_free(key);
  return ok ? std::string("\x05", 1) + std::string(reinterpret_cast<char*>(pub), 32) : "";
}

// An Engine whose identity is the given key pair (as CreateIdentity would
// have stored it), on a fresh memory store.
struct FixedIdentity {
  std::unique_ptr<storage::LocalStore> store;
  std::unique_ptr<signal::Engine> engine;
};
FixedIdentity EngineWithIdentity(const std::string& pub, const std::string& priv) {
  FixedIdentity out;
  out.store = storage::NewMemoryStore();
  using signal::StoreBridge;
  EXPECT_OK(out.store->Apply({
      {storage::Space::kIdentity, std::string(StoreBridge::kPublicKey), pub},
      {storage::Space::kIdentity, std::string(StoreBridge::kPrivateKey), priv},
      {storage::Space::kMeta, std::string(StoreBridge::kRegistrationId), StoreBridge::U32Key(1)},
  }));
  out.engine = signal::Engine::Open(out.store.get()).value();
  return out;
}

TEST_F(ProtocolVectorsTest, ProtocolMdQuotesTheVectorsFileVerbatim) {
  const std::string doc = ReadFile(kProtocolPath);
  const size_t begin = doc.find(kBeginMarker);
  const size_t end = doc.find(kEndMarker);
  ASSERT_NE(begin, std::string::npos) << kBeginMarker << " is missing from PROTOCOL.md";
  ASSERT_NE(end, std::string::npos) << kEndMarker << " is missing from PROTOCOL.md";
  absl::string_view quoted = absl::string_view(doc).substr(
      begin + sizeof(kBeginMarker) - 1, end - begin - (sizeof(kBeginMarker) - 1));
  // Between the markers: "\n```\n" + the file + "```\n".
  ASSERT_TRUE(absl::ConsumePrefix(&quoted, "\n```\n")) << "no ``` fence after " << kBeginMarker;
  ASSERT_TRUE(absl::ConsumeSuffix(&quoted, "```\n")) << "no ``` fence before " << kEndMarker;
  EXPECT_EQ(quoted, file_) << "PROTOCOL.md and docs/protocol-vectors.txt differ";
}

TEST_F(ProtocolVectorsTest, IdentityPublicKeysAreTheX25519KeysOfThePrivateKeys) {
  for (const std::string side : {"sam", "dr-lee"}) {
    EXPECT_EQ(absl::BytesToHexString(SignalPublicKey(Bytes(side + ".identity_private"))),
              V(side + ".identity_public"))
        << side;
  }
}

TEST_F(ProtocolVectorsTest, SafetyNumberAsDocumentedGivesTheVectors) {
  const std::string sam = SideHash(Bytes("sam.identity_public"), V("sam.handle"));
  const std::string lee = SideHash(Bytes("dr-lee.identity_public"), V("dr-lee.handle"));
  const std::string sam_digits = SideDigits(sam), lee_digits = SideDigits(lee);
  EXPECT_EQ(sam_digits, V("sam.fingerprint_digits"));
  EXPECT_EQ(lee_digits, V("dr-lee.fingerprint_digits"));
  EXPECT_EQ(std::min(sam_digits, lee_digits) + std::max(sam_digits, lee_digits),
            V("safety_number"));
  EXPECT_EQ(absl::BytesToHexString(Scannable(sam, lee)), V("safety_number.scannable_by_sam"));
  EXPECT_EQ(absl::BytesToHexString(Scannable(lee, sam)), V("safety_number.scannable_by_dr-lee"));
}

TEST_F(ProtocolVectorsTest, ClientLibrarySafetyNumberIsTheVectorOnBothSides) {
  FixedIdentity sam =
      EngineWithIdentity(Bytes("sam.identity_public"), Bytes("sam.identity_private"));
  FixedIdentity lee =
      EngineWithIdentity(Bytes("dr-lee.identity_public"), Bytes("dr-lee.identity_private"));
  ASSERT_OK_AND_ASSIGN(signal::SafetyNumberData by_sam,
                       sam.engine->SafetyNumber(V("sam.handle"), V("dr-lee.handle"),
                                                Bytes("dr-lee.identity_public")));
  ASSERT_OK_AND_ASSIGN(
      signal::SafetyNumberData by_lee,
      lee.engine->SafetyNumber(V("dr-lee.handle"), V("sam.handle"), Bytes("sam.identity_public")));
  EXPECT_EQ(by_sam.displayable, V("safety_number"));
  EXPECT_EQ(by_lee.displayable, V("safety_number"));
  EXPECT_EQ(absl::BytesToHexString(by_sam.scannable), V("safety_number.scannable_by_sam"));
  EXPECT_EQ(absl::BytesToHexString(by_lee.scannable), V("safety_number.scannable_by_dr-lee"));
}

// ---- content and padding ----

Content TextVector() {
  Content c;
  c.set_sent_at_ms(1767225600000);
  c.mutable_text()->set_body("Hello");
  return c;
}

Content ReceiptVector() {
  Content c;
  c.set_sent_at_ms(1767225660000);
  Receipt* r = c.mutable_receipt();
  r->set_type(Receipt::READ);
  r->add_message_ids(absl::HexStringToBytes("000102030405060708090a0b0c0d0e0f"));
  r->add_message_ids(absl::HexStringToBytes("101112131415161718191a1b1c1d1e1f"));
  return c;
}

// PROTOCOL.md's padding: the bytes, 0x80, then zeros up to P(len + 1).
std::string PadAsDocumented(const std::string& encoded) {
  const size_t n = encoded.size() + 1;
  size_t padded = 160;
  if (n > 160) {
    int e = 0;
    while ((n >> (e + 1)) != 0) ++e;
    int s = 0;
    while ((e >> s) != 0) ++s;
    const size_t mask = (size_t{1} << (e - s)) - 1;
    padded = (n + mask) & ~mask;
  }
  std::string out = encoded + '\x80';
  out.resize(padded, '\0');
  return out;
}

TEST_F(ProtocolVectorsTest, ContentEncodesAndPadsToTheVectors) {
  for (const auto& [name, content] :
       {std::pair<std::string, Content>{"text", TextVector()}, {"receipt", ReceiptVector()}}) {
    ASSERT_OK(content::ValidateContent(content)) << name;
    EXPECT_EQ(absl::BytesToHexString(content.SerializeAsString()), V(name + ".encoded")) << name;
    EXPECT_EQ(absl::BytesToHexString(content::EncodeContent(content)), V(name + ".padded")) << name;
    EXPECT_EQ(absl::BytesToHexString(PadAsDocumented(Bytes(name + ".encoded"))),
              V(name + ".padded"))
        << name;
    ASSERT_OK_AND_ASSIGN(Content decoded, content::DecodeContent(Bytes(name + ".padded")));
    EXPECT_EQ(decoded.SerializeAsString(), content.SerializeAsString()) << name;
  }
}

TEST_F(ProtocolVectorsTest, PaddedSizesAreTheVectors) {
  for (absl::string_view pair : absl::StrSplit(V("padded_size"), ' ')) {
    std::pair<std::string, std::string> np = absl::StrSplit(pair, ':');
    size_t n = 0, want = 0;
    ASSERT_TRUE(absl::SimpleAtoi(np.first, &n) && absl::SimpleAtoi(np.second, &want)) << pair;
    EXPECT_EQ(content::PaddedSize(n - 1), want) << "n = " << n;
    EXPECT_EQ(PadAsDocumented(std::string(n - 1, 'x')).size(), want) << "n = " << n;
  }
}

// `text` without comment markers, backticks and line breaks, so a sentence
// reads the same in a .proto comment and in Markdown.
std::string Prose(const std::string& text) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumePrefix(&line, "//");
    absl::StrAppend(&out, " ", line);
  }
  out.erase(std::remove(out.begin(), out.end(), '`'), out.end());
  std::string collapsed;
  for (char c : out) {
    if (c == ' ' && !collapsed.empty() && collapsed.back() == ' ') continue;
    collapsed += c;
  }
  return collapsed;
}

TEST_F(ProtocolVectorsTest, ContentProtoAndProtocolMdDefineStrippingInTheSameWords) {
  constexpr char kStripping[] =
      "Remove every trailing 0x00 byte; the byte now last must be 0x80: remove it too, and what "
      "is left is the serialized Content. If no byte is left, or the last one is not 0x80, the "
      "padding is malformed.";
  EXPECT_THAT(Prose(ReadFile(kProtocolPath)), ::testing::HasSubstr(kStripping));
  EXPECT_THAT(Prose(ReadFile(SOTTO_SOURCE_DIR "/proto/sotto/v1/content.proto")),
              ::testing::HasSubstr(kStripping));
}

TEST_F(ProtocolVectorsTest, MalformedPaddingIsRefused) {
  for (absl::string_view hex : absl::StrSplit(V("malformed_padding"), ' ')) {
    const std::string bytes = hex == "-" ? "" : absl::HexStringToBytes(hex);
    EXPECT_THAT(content::DecodeContent(bytes),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("padding")))
        << hex;
  }
}

}  // namespace
}  // namespace sotto::client
