// sotto.v1.Devices, the history-transfer calls, over a real server with
// real RocksDB: an archive goes up in chunks, is fetched whole by the new
// device of the same account and is gone from the server once fetched;
// another account can neither read nor touch it; malformed, oversized,
// unauthenticated and out-of-order requests are refused; archives expire.
// Archives are rows of the server's store (history_transfers.h): the test
// looks at them through the store the server uses.

#include <filesystem>
#include <fstream>
#include <memory>

#include "server/domain/history_transfers.h"
#include "server/domain/limits.h"
#include "server/rpc/server.h"
#include "sotto/v1/devices.grpc.pb.h"
#include "tests/server/rpc_fixture.h"

namespace sotto::server::rpc {
namespace {

// Hands the server's store on unchanged and keeps it alive.
class OwningStore final : public ForwardingStore {
 public:
  explicit OwningStore(std::unique_ptr<Store> inner)
      : ForwardingStore(inner.get()), owned_(std::move(inner)) {}

 private:
  std::unique_ptr<Store> owned_;
};

class RpcHistoryTransferTest : public RpcFakeClockTest {
 protected:
  void SetUp() override {
    configure_server_ = [this](ServerOptions& options) {
      options.wrap_store = [this](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
        store_ = inner.get();
        return std::make_unique<OwningStore>(std::move(inner));
      };
    };
    RpcFakeClockTest::SetUp();
    devices_ = v1::Devices::NewStub(channel_);
  }

  // Links a second device to `owner` through the real relay; returns its
  // authorization header.
  std::string LinkSecondDevice(const User& owner) { return LinkDeviceThrough(*devices_, owner); }

  grpc::Status Create(const std::string& header, v1::CreateHistoryTransferResponse* out) {
    return devices_->CreateHistoryTransfer(Ctx(header).get(), v1::CreateHistoryTransferRequest(),
                                           out);
  }
  std::string CreateOk(const std::string& header) {
    v1::CreateHistoryTransferResponse created;
    grpc::Status s = Create(header, &created);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return created.transfer_id();
  }
  grpc::Status Put(const std::string& header, const std::string& id, uint64_t offset,
                   const std::string& data, uint64_t* received = nullptr) {
    v1::PutHistoryChunkRequest req;
    req.set_transfer_id(id);
    req.set_offset(offset);
    req.set_data(data);
    v1::PutHistoryChunkResponse resp;
    grpc::Status s = devices_->PutHistoryChunk(Ctx(header).get(), req, &resp);
    if (received != nullptr) *received = resp.received_bytes();
    return s;
  }
  grpc::Status Seal(const std::string& header, const std::string& id, uint64_t total) {
    v1::SealHistoryTransferRequest req;
    req.set_transfer_id(id);
    req.set_total_bytes(total);
    v1::SealHistoryTransferResponse resp;
    return devices_->SealHistoryTransfer(Ctx(header).get(), req, &resp);
  }
  grpc::Status Fetch(const std::string& header, const std::string& id, uint64_t offset,
                     v1::FetchHistoryChunkResponse* resp) {
    v1::FetchHistoryChunkRequest req;
    req.set_transfer_id(id);
    req.set_offset(offset);
    return devices_->FetchHistoryChunk(Ctx(header).get(), req, resp);
  }
  grpc::Status Delete(const std::string& header, const std::string& id) {
    v1::DeleteHistoryTransferRequest req;
    req.set_transfer_id(id);
    v1::DeleteHistoryTransferResponse resp;
    return devices_->DeleteHistoryTransfer(Ctx(header).get(), req, &resp);
  }
  // Uploads `archive` in chunks of kMaxHistoryChunkBytes and seals it.
  void Upload(const std::string& header, const std::string& id, const std::string& archive) {
    for (size_t at = 0; at < archive.size(); at += kMaxHistoryChunkBytes) {
      grpc::Status s = Put(header, id, at, archive.substr(at, kMaxHistoryChunkBytes));
      ASSERT_TRUE(s.ok()) << Describe(s);
    }
    grpc::Status s = Seal(header, id, archive.size());
    ASSERT_TRUE(s.ok()) << Describe(s);
  }
  // Fetches the whole archive as a new device does.
  std::string FetchAll(const std::string& header, const std::string& id) {
    std::string out;
    for (;;) {
      v1::FetchHistoryChunkResponse chunk;
      grpc::Status s = Fetch(header, id, out.size(), &chunk);
      EXPECT_TRUE(s.ok()) << Describe(s);
      if (!s.ok()) return out;
      out += chunk.data();
      EXPECT_EQ(chunk.total_bytes() >= out.size(), true);
      if (chunk.last()) return out;
    }
  }
  // Rows the server's store holds for archives: one per archive and one
  // per chunk uploaded.
  size_t ArchiveRows() {
    size_t n = 0;
    for (Table t : {Table::kHistoryTransfers, Table::kHistoryChunks}) {
      auto rows = store_->Scan(t, "", "", 10000);
      EXPECT_TRUE(rows.ok()) << rows.status();
      if (rows.ok()) n += rows->size();
    }
    return n;
  }
  static std::string Archive(size_t n) {
    std::string out(n, '\0');
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 131 + i / 977) & 0xff);
    return out;
  }

  std::unique_ptr<v1::Devices::Stub> devices_;
  Store* store_ = nullptr;  // the server's (RocksDB), while it runs
};

TEST_F(RpcHistoryTransferTest, TheNewDeviceFetchesTheWholeArchiveWhichIsThenGone) {
  User ana = Register("ana");
  const std::string second = LinkSecondDevice(ana);
  v1::CreateHistoryTransferResponse created;
  ASSERT_TRUE(Create(ana.Header(), &created).ok());
  EXPECT_EQ(created.transfer_id().size(), kHistoryTransferIdBytes);
  EXPECT_EQ(created.expires_at_ms(), clock_.NowMillis() + 24LL * 3600 * 1000);
  EXPECT_EQ(created.max_chunk_bytes(), kMaxHistoryChunkBytes);
  const std::string archive = Archive(2 * kMaxHistoryChunkBytes + 12345);
  Upload(ana.Header(), created.transfer_id(), archive);
  EXPECT_EQ(ArchiveRows(), 1u + 3u);  // the archive and its three chunks

  EXPECT_EQ(FetchAll(second, created.transfer_id()), archive);
  // Deleted as its last byte went out: nothing of it stays on the server.
  v1::FetchHistoryChunkResponse again;
  EXPECT_THAT(Fetch(second, created.transfer_id(), 0, &again),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such history transfer"));
  EXPECT_EQ(ArchiveRows(), 0u);
}

TEST_F(RpcHistoryTransferTest, AChunkSentAgainAfterALostAnswerIsAcceptedOnce) {
  User ana = Register("ana");
  const std::string id = CreateOk(ana.Header());
  uint64_t received = 0;
  ASSERT_TRUE(Put(ana.Header(), id, 0, "abc", &received).ok());
  ASSERT_TRUE(Put(ana.Header(), id, 0, "abc", &received).ok());
  EXPECT_EQ(received, 3u);
  ASSERT_TRUE(Put(ana.Header(), id, 3, "def", &received).ok());
  EXPECT_EQ(received, 6u);
  EXPECT_THAT(Put(ana.Header(), id, 2, "xyz"),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "ends at 6"));
  EXPECT_THAT(Put(ana.Header(), id, 9, "xyz"),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "ends at 6"));
  ASSERT_TRUE(Seal(ana.Header(), id, 6).ok());
  EXPECT_EQ(FetchAll(ana.Header(), id), "abcdef");
}

TEST_F(RpcHistoryTransferTest, AnotherAccountCanNeitherFetchNorTouchTheArchive) {
  User ana = Register("ana");
  User bob = Register("bob");
  const std::string id = CreateOk(ana.Header());
  ASSERT_TRUE(Put(ana.Header(), id, 0, "ciphertext").ok());
  // For bob the archive does not exist, in the words used for an unknown id.
  EXPECT_THAT(Put(bob.Header(), id, 10, "more"),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such history transfer"));
  EXPECT_THAT(Seal(bob.Header(), id, 10),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such history transfer"));
  ASSERT_TRUE(Seal(ana.Header(), id, 10).ok());
  v1::FetchHistoryChunkResponse chunk;
  EXPECT_THAT(Fetch(bob.Header(), id, 0, &chunk),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such history transfer"));
  EXPECT_TRUE(chunk.data().empty());
  // Bob's Delete answers OK (as for any gone archive) and deletes nothing.
  ASSERT_TRUE(Delete(bob.Header(), id).ok());
  EXPECT_EQ(FetchAll(ana.Header(), id), "ciphertext");
}

TEST_F(RpcHistoryTransferTest, UnauthenticatedCallsAreRefused) {
  User ana = Register("ana");
  const std::string id = CreateOk(ana.Header());
  const std::string wrong = absl::StrCat("Sotto ana.1:", std::string(64, '0'));
  for (const std::string& header : {std::string(""), wrong}) {
    v1::CreateHistoryTransferResponse created;
    EXPECT_EQ(Create(header, &created).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(Put(header, id, 0, "x").error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(Seal(header, id, 1).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    v1::FetchHistoryChunkResponse chunk;
    EXPECT_EQ(Fetch(header, id, 0, &chunk).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(Delete(header, id).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
}

TEST_F(RpcHistoryTransferTest, MalformedAndOversizedRequestsNameWhatIsWrong) {
  User ana = Register("ana");
  const std::string h = ana.Header();
  const std::string id = CreateOk(h);
  v1::FetchHistoryChunkResponse chunk;
  for (const std::string& bad : {std::string(), std::string(15, 'i'), std::string(17, 'i')}) {
    EXPECT_THAT(Put(h, bad, 0, "x"), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "transfer_id"));
    EXPECT_THAT(Seal(h, bad, 1), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "transfer_id"));
    EXPECT_THAT(Fetch(h, bad, 0, &chunk),
                GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "transfer_id"));
    EXPECT_THAT(Delete(h, bad), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "transfer_id"));
  }
  EXPECT_THAT(Put(h, std::string(16, 'u'), 0, "x"),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such history transfer"));
  EXPECT_THAT(Put(h, id, 0, ""), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "1..1048576 bytes"));
  EXPECT_THAT(Put(h, id, 0, std::string(kMaxHistoryChunkBytes + 1, 'x')),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "got 1048577"));
  // Past the server's message limit, gRPC itself refuses before any handler.
  EXPECT_EQ(Put(h, id, 0, std::string(3 << 20, 'x')).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(Seal(h, id, 0), GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "nothing"));
  ASSERT_TRUE(Put(h, id, 0, "0123456789").ok());
  // Not sealed: not fetchable yet.
  EXPECT_THAT(Fetch(h, id, 0, &chunk),
              GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "still being uploaded"));
  EXPECT_THAT(Seal(h, id, 11), GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "10 bytes"));
  ASSERT_TRUE(Seal(h, id, 10).ok());
  EXPECT_THAT(Put(h, id, 10, "more"), GrpcIs(grpc::StatusCode::FAILED_PRECONDITION, "sealed"));
  EXPECT_THAT(Fetch(h, id, 10, &chunk),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT, "past the archive's end"));
  // The refused calls cost nothing stored.
  EXPECT_EQ(FetchAll(h, id), "0123456789");
}

TEST_F(RpcHistoryTransferTest, AnAccountMayKeepOnlyTwoArchivesAtOnce) {
  User ana = Register("ana");
  const std::string first = CreateOk(ana.Header());
  CreateOk(ana.Header());
  v1::CreateHistoryTransferResponse third;
  EXPECT_THAT(Create(ana.Header(), &third),
              GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "already has 2 history transfers"));
  ASSERT_TRUE(Delete(ana.Header(), first).ok());
  ASSERT_TRUE(Create(ana.Header(), &third).ok());
}

TEST_F(RpcHistoryTransferTest, AnUnfetchedArchiveIsDeletedAfterADay) {
  User ana = Register("ana");
  const std::string id = CreateOk(ana.Header());
  ASSERT_TRUE(Put(ana.Header(), id, 0, "ciphertext").ok());
  ASSERT_TRUE(Seal(ana.Header(), id, 10).ok());
  clock_.Advance(24LL * 3600 * 1000 - 1);
  v1::FetchHistoryChunkResponse chunk;
  // The sweep (the server's sweeper runs this) keeps it until it expires.
  HistoryTransfers sweeper(store_, &clock_);
  ASSERT_TRUE(sweeper.SweepExpired().ok());
  EXPECT_EQ(ArchiveRows(), 2u);
  clock_.Advance(1);
  EXPECT_THAT(Fetch(ana.Header(), id, 0, &chunk),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such history transfer"));
  absl::StatusOr<size_t> swept = sweeper.SweepExpired();
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(*swept, 1u);
  EXPECT_EQ(ArchiveRows(), 0u);
}

TEST_F(RpcHistoryTransferTest, ASealedArchiveSurvivesARestartOfTheServer) {
  User ana = Register("ana");
  const std::string id = CreateOk(ana.Header());
  ASSERT_TRUE(Put(ana.Header(), id, 0, "ciphertext").ok());
  ASSERT_TRUE(Seal(ana.Header(), id, 10).ok());
  RestartWith(rate_limits_);
  devices_ = v1::Devices::NewStub(channel_);
  EXPECT_EQ(FetchAll(ana.Header(), id), "ciphertext");
}

TEST_F(RpcHistoryTransferTest, RemovingTheUploadingDeviceDeletesItsArchive) {
  User ana = Register("ana");
  const std::string second = LinkSecondDevice(ana);
  const std::string id = CreateOk(second);
  ASSERT_TRUE(Put(second, id, 0, "ciphertext").ok());
  ASSERT_TRUE(Seal(second, id, 10).ok());
  v1::RemoveDeviceRequest remove;
  remove.set_device_id(2);
  v1::RemoveDeviceResponse removed;
  ASSERT_TRUE(devices_->Remove(Ctx(ana.Header()).get(), remove, &removed).ok());
  v1::FetchHistoryChunkResponse chunk;
  EXPECT_THAT(Fetch(ana.Header(), id, 0, &chunk),
              GrpcIs(grpc::StatusCode::NOT_FOUND, "no such history transfer"));
  EXPECT_EQ(ArchiveRows(), 0u);
}

TEST_F(RpcHistoryTransferTest, TheOlderServersArchiveDirectoryIsRemovedAtStart) {
  // Archives used to be files under DATA_DIR/history-transfers; nothing reads
  // them since they are store rows, and they expire within 24 h.
  const std::filesystem::path old_dir = std::filesystem::path(dir_.path()) / "db" /
                                        "history-transfers";
  std::filesystem::create_directories(old_dir / "0123abcd");
  std::ofstream(old_dir / "0123abcd" / "chunk-0") << "sealed archive bytes";
  RestartWith(rate_limits_);
  EXPECT_FALSE(std::filesystem::exists(old_dir));
}

}  // namespace
}  // namespace sotto::server::rpc
