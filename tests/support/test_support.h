// Helpers shared by the tests: temporary folders, golden fixture copies, raw safetensors
// images that tests edit byte by byte, and a check that a call fails with one clear
// whale::Error.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "util/error.h"

namespace whale::test {

namespace fs = std::filesystem;

inline std::string golden_folder(const std::string& name) {
  return std::string(WHALE_TEST_DATA) + "/golden/" + name;
}

// A fresh directory under the system temp folder, deleted with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "whale-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_bytes(path));
}

inline void write_json(const std::string& path, const nlohmann::json& j) {
  write_bytes(path, j.dump(2));
}

// Copies a golden checkpoint (config, index and weights; not the reference outputs) into `dir`.
inline void copy_golden(const std::string& name, const TempDir& dir) {
  for (const auto& entry : fs::directory_iterator(golden_folder(name))) {
    const std::string file = entry.path().filename().string();
    if (file == "config.json" || file.ends_with(".safetensors") ||
        file == "model.safetensors.index.json")
      fs::copy_file(entry.path(), dir.path() / file);
  }
}

// The model files of a tests/data/golden-dense folder (config, weights, tokenizer) into `dir`.
inline void copy_golden_dense(const std::string& name, const TempDir& dir) {
  const fs::path from = fs::path(WHALE_TEST_DATA) / "golden-dense" / name;
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json",
                           "tokenizer_config.json", "generation_config.json"})
    fs::copy_file(from / file, dir.path() / file);
}

// A safetensors file as its JSON header and its data area, for editing.
struct SafetensorsImage {
  nlohmann::json header;
  std::string data;

  static SafetensorsImage read(const std::string& path) {
    const std::string bytes = read_bytes(path);
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);  // little-endian host
    return {nlohmann::json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
  }

  // The file bytes: 8-byte length, header padded with spaces to a multiple of 8, data.
  std::string bytes() const {
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    const std::uint64_t n = text.size();
    std::string out(8, '\0');
    std::memcpy(out.data(), &n, 8);
    return out + text + data;
  }

  void write(const std::string& path) const { write_bytes(path, bytes()); }

  // Appends a tensor's bytes to the data area and records it in the header.
  void add(const std::string& name, const std::string& dtype,
           const std::vector<std::int64_t>& shape, const std::string& raw) {
    nlohmann::json entry = nlohmann::json::object();
    entry["dtype"] = dtype;
    entry["shape"] = shape;
    entry["data_offsets"] = nlohmann::json::array({data.size(), data.size() + raw.size()});
    header[name] = entry;
    data += raw;
  }
};

// Runs `fn` and checks that it throws a whale::Error whose message holds every one of `parts`.
// Returns the message.
inline std::string expect_whale_error(const std::function<void()>& fn,
                                      std::initializer_list<std::string> parts) {
  try {
    fn();
  } catch (const whale::Error& e) {
    const std::string message = e.what();
    for (const auto& part : parts)
      EXPECT_NE(message.find(part), std::string::npos)
          << "the error message lacks '" << part << "': " << message;
    return message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-whale exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "no whale::Error was thrown";
  return {};
}

#define EXPECT_WHALE_ERROR(statement, ...)                                \
  do {                                                                    \
    SCOPED_TRACE(#statement);                                             \
    ::whale::test::expect_whale_error([&] { statement; }, {__VA_ARGS__}); \
  } while (0)

}  // namespace whale::test
