#ifndef SOTTO_TESTS_TESTING_FILES_H_
#define SOTTO_TESTS_TESTING_FILES_H_

// Reading what a process left on disk, for the plaintext scans: whole files
// read in one call each (not byte by byte through istreambuf_iterator, which
// under the sanitizers took ~8 s per scan of a server's data directory with
// its preallocated RocksDB log).

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace sotto::testing {

// The bytes of the file at `path` (empty if it cannot be read).
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  std::string bytes(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

// Every regular file under `dir`, each with its path.
inline std::vector<std::pair<std::string, std::string>> ReadFilesUnder(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.emplace_back(e.path().string(), ReadFile(e.path()));
  }
  return files;
}

// Every file under `dir`, concatenated, each followed by a separator so
// that no match spans two files.
inline std::string ReadEverything(const std::string& dir) {
  std::string all;
  for (const auto& [path, bytes] : ReadFilesUnder(dir)) {
    all.append(bytes);
    all.append("\n--file--\n");
  }
  return all;
}

// True if any file under `dir` contains `needle`.
inline bool AnyFileContains(const std::string& dir, const std::string& needle) {
  for (const auto& [path, bytes] : ReadFilesUnder(dir)) {
    if (bytes.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace sotto::testing

#endif  // SOTTO_TESTS_TESTING_FILES_H_
